"""Many queued changes in one request: how the phone's outbox sends what waited.

On a phone link every request costs a round trip (about 185 ms measured), so an outbox that sent one
request per change took ~37 s for a 200-change morning. The outbox now sends its changes in batches.

Nothing here applies a change. Each entry is routed through the app's URL map, as the importer
does; only the replayable endpoints (outbox/replay.py, the one declaration of them) are accepted;
then the endpoint's own view answers it, in a request of its own made from the batch request: the
same session, login and CSRF check, the same visibility checks, and `applies_change`, so each change
id is applied once and committed alone (a refusal never undoes the others), and a replayed id gets
the answer it got the first time. Each change is answered with the status and body the single
request would have got, so the outbox shows a conflict or a refusal exactly as before.

The entries are applied in order. One the server cannot take now (401, 5xx: busy, or down) stops the
batch there: the rest is answered "not tried" and waits on the phone, in order, as it did before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import Response, current_app, request
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.test import EnvironBuilder

from ..core.changes import CHANGE_ID
from ..extensions import db
from .replay import REPLAYABLE

NOT_QUEUEABLE = "This is not a change that can be sent from the outbox."
# The sub-request's body is made here; the batch request's own body headers must not leak into it,
# and its answer is kept (and replayed) as the single request's would be: never compressed.
_DROPPED = (
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
    "HTTP_ACCEPT_ENCODING",
    "HTTP_X_CHANGE_ID",
    "HTTP_X_OBSERVED_AT",
    "QUERY_STRING",
)


class BatchRefused(Exception):
    """The batch as a whole is refused (too large, or not a batch); nothing of it was applied."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Entry:
    change_id: str
    path: str
    form: MultiDict[str, str] = field(default_factory=MultiDict)
    files: list[tuple[str, FileStorage]] = field(default_factory=list)
    observed_at: str = ""  # when the device made it (ISO 8601), judged by core/observed.py


@dataclass
class Answer:
    """What became of one change: its status and body are the single request's."""

    change_id: str
    kind: str | None
    status: int  # 0: not tried (an earlier change could not be taken now); it waits on the phone
    outcome: str  # applied | already applied | refused | try again | not tried
    body: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "changeId": self.change_id,
            "kind": self.kind,
            "status": self.status,
            "outcome": self.outcome,
            "body": self.body,
        }


def read_batch(form: MultiDict[str, str], files: MultiDict[str, FileStorage]) -> list[Entry]:
    """The batch's entries from its `changes` manifest and file parts, or BatchRefused (413, 422).

    The manifest is a JSON list of {changeId, path, fields: [[name, value]], observedAt?}; a photo's value
    is {"file": "<name of the file part>"}; observedAt is when the device made the change. The whole
    batch holds at most OUTBOX_BATCH_MAX_CHANGES changes and PHOTO_MAX_PER_REQUEST photos, the limits
    one request has anywhere."""
    config = current_app.config
    try:
        manifest = json.loads(form.get("changes") or "")
    except json.JSONDecodeError:
        raise BatchRefused("This is not an outbox batch: its list of changes is missing or not JSON.", 422) from None
    if not isinstance(manifest, list) or not manifest:
        raise BatchRefused("This is not an outbox batch: it holds no list of changes.", 422)
    if len(manifest) > config["OUTBOX_BATCH_MAX_CHANGES"]:
        raise BatchRefused(
            f"{len(manifest)} changes were sent at once; at most {config['OUTBOX_BATCH_MAX_CHANGES']} "
            "can be sent in one batch. Nothing was saved; send them in smaller batches.",
            413,
        )
    entries, photos = [], 0
    for n, raw in enumerate(manifest, start=1):
        entry = _entry(n, raw, files)
        photos += len(entry.files)
        entries.append(entry)
    if photos > config["PHOTO_MAX_PER_REQUEST"]:
        raise BatchRefused(
            f"{photos} photos were sent at once; at most {config['PHOTO_MAX_PER_REQUEST']} can be sent in one "
            "batch. Nothing was saved; send them in smaller batches.",
            413,
        )
    return entries


def _entry(n: int, raw: Any, files: MultiDict[str, FileStorage]) -> Entry:
    damaged = BatchRefused(f"Change {n} of the batch is damaged (changeId, path and fields are needed).", 422)
    if not isinstance(raw, dict) or not isinstance(raw.get("path"), str) or not isinstance(raw.get("fields"), list):
        raise damaged
    change_id = raw.get("changeId")
    if not isinstance(change_id, str) or not CHANGE_ID.match(change_id):
        raise damaged
    observed_at = raw.get("observedAt")  # a time that is not a string is no time: the received one stands
    observed_at = observed_at if isinstance(observed_at, str) else ""
    entry = Entry(change_id, urlsplit(raw["path"]).path, observed_at=observed_at[:40])
    for pair in raw["fields"]:
        if not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[0], str):
            raise damaged
        name, value = pair
        if isinstance(value, str):
            entry.form.add(name, value)
        elif isinstance(value, dict) and isinstance(value.get("file"), str) and value["file"] in files:
            entry.files.append((name, files[value["file"]]))
        else:
            raise damaged
    return entry


def apply_batch(entries: list[Entry]) -> list[Answer]:
    """Each entry through its own endpoint's view, in order; stop at the first one to try again later."""
    answers: list[Answer] = []
    for entry in entries:
        if answers and answers[-1].outcome in ("try again", "not tried"):
            answers.append(Answer(entry.change_id, _kind(entry.path), 0, "not tried"))
            continue
        answers.append(_apply(entry))
    return answers


def _endpoint(path: str) -> str | None:
    try:
        endpoint, _ = current_app.url_map.bind("replay.invalid").match(path, method="POST")
    except HTTPException:
        return None
    return endpoint if endpoint in REPLAYABLE else None


def _kind(path: str) -> str | None:
    endpoint = _endpoint(path)
    return REPLAYABLE[endpoint].kind if endpoint else None


def _apply(entry: Entry) -> Answer:
    endpoint = _endpoint(entry.path)
    if endpoint is None:
        return Answer(entry.change_id, None, 404, "refused", NOT_QUEUEABLE)
    kind = REPLAYABLE[endpoint].kind
    with current_app.request_context(_environ(entry)):
        try:
            response = current_app.full_dispatch_request()
        except Exception:  # the single request would have been a 500: nothing of it stays, it is sent again
            db.session.rollback()
            current_app.logger.exception("outbox batch: change %s failed", entry.change_id)
            return Answer(entry.change_id, kind, 500, "try again", "The server failed; the change will be sent again.")
    db.session.rollback()  # applies_change committed what it applied; nothing else may carry over
    return _answer(entry.change_id, kind, response)


def _answer(change_id: str, kind: str, response: Response) -> Answer:
    status = response.status_code
    if status == 401 or status >= 500:
        return Answer(change_id, kind, status, "try again", response.get_data(as_text=True))
    if status >= 400:
        return Answer(change_id, kind, status, "refused", response.get_data(as_text=True))
    # The applied change's answer is stored with its id (a replay gets it); the phone fetches the
    # items again after a sync, so the batch's answer does not carry it twice.
    replayed = response.headers.get("X-Change-Replayed") == "true"
    return Answer(change_id, kind, status, "already applied" if replayed else "applied")


def _environ(entry: Entry) -> dict[str, Any]:
    """The single request this entry would have been: the batch request's session, CSRF token and
    client, with the entry's path, form, photos and change id."""
    body = EnvironBuilder(
        path=entry.path,
        method="POST",
        data=MultiDict([*entry.form.items(multi=True), *entry.files]),
    ).get_environ()
    environ = {k: v for k, v in request.environ.items() if k not in _DROPPED}
    environ.update(
        {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": entry.path,
            "QUERY_STRING": "",
            "CONTENT_TYPE": body.get("CONTENT_TYPE", "application/x-www-form-urlencoded"),
            "CONTENT_LENGTH": body.get("CONTENT_LENGTH", "0"),
            "wsgi.input": body["wsgi.input"],
            "HTTP_X_CHANGE_ID": entry.change_id,
            "HTTP_HX_REQUEST": "true",
        }
    )
    if entry.observed_at:
        environ["HTTP_X_OBSERVED_AT"] = entry.observed_at
    return environ
