"""Importing an exported outbox: the last resort when a phone cannot sync (broken, or its browser
storage about to be cleared). A quality lead applies the file's changes, in order, each once.

The changes are applied as the quality lead who imports them (that is who vouches for them), and
the event log records whose phone they came from and when they were queued.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from flask import current_app
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from ..accounts.models import User
from ..audits import services as audits
from ..audits.models import Audit
from ..core.changes import IMPORTED, already_applied, remember
from ..core.errors import Refused
from ..core.forms import form_id
from ..core.observed import observing, parse_device_time
from ..events import services as events
from ..extensions import db
from ..photos.pipeline import PhotoRejected
from .replay import REPLAYABLE, Upload, item_of


class ImportRefused(Exception):
    """The file is not an outbox export we can read; nothing was applied."""


@dataclass
class Outcome:
    change_id: str
    path: str
    status: str  # applied | already applied | refused
    detail: str = ""


def read_export(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportRefused(f"This is not an outbox export (not JSON: {exc}).") from exc
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise ImportRefused("This is not an outbox export: it has no list of entries.")
    for n, entry in enumerate(data["entries"], start=1):
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("path"), str)
            or not isinstance(entry.get("changeId"), str)
            or not isinstance(entry.get("fields"), list)
        ):
            raise ImportRefused(f"Entry {n} is damaged (path, changeId and fields are needed); nothing was applied.")
    return data


def import_outbox(actor: User, data: dict[str, Any], max_edge: int) -> list[Outcome]:
    """Apply each entry in order; each commits alone, so one refusal never undoes the others."""
    source = {"exported_by": str(data.get("user", ""))[:254], "exported_at": str(data.get("exported", ""))[:40]}
    outcomes = []
    for entry in data["entries"]:
        change_id = entry["changeId"][:64]
        if already_applied(change_id):
            outcomes.append(Outcome(change_id, entry["path"], "already applied"))
            continue
        try:
            # The change's own events keep when the auditor made it on the phone (core/observed.py).
            with observing(parse_device_time(str(entry.get("queuedAt") or ""))):
                detail = _apply(actor, entry, max_edge)
            events.record(
                actor,
                "outbox",
                change_id,
                "imported",
                {**source, "path": entry["path"], "queued_at": str(entry.get("queuedAt", ""))[:40]},
            )
            remember(change_id, actor.id, IMPORTED)
            db.session.commit()
            outcomes.append(Outcome(change_id, entry["path"], "applied", detail))
        except (ValidationError, Refused, PhotoRejected, LookupError, ValueError) as exc:
            db.session.rollback()
            outcomes.append(Outcome(change_id, entry["path"], "refused", _reason(exc)))
    return outcomes


def _apply(actor: User, entry: dict[str, Any], max_edge: int) -> str:
    """Route the entry's path through the app's URL map to its replayable change, and apply it."""
    try:
        endpoint, args = current_app.url_map.bind("replay.invalid").match(entry["path"], method="POST")
    except HTTPException as exc:
        raise LookupError("not a change auditapp knows") from exc
    change = REPLAYABLE.get(endpoint)
    if change is None:
        raise LookupError("not a change auditapp knows")
    audit = db.session.get(Audit, args["audit_id"])
    if audit is None:
        raise LookupError("the audit does not exist")
    form, files = _fields(entry["fields"])
    item = None
    if change.needs_item:
        item = item_of(audit, args.get("item_id") or form_id(form.get("item_id")) or 0)
    copy = args.get("copy") or form_id(form.get("copy")) or 1  # a repeating section's copy (issue 15)
    return change.apply(actor, audit, item, form, files, Upload(max_edge), copy)


def _fields(fields: list[Any]) -> tuple[MultiDict[str, str], list[tuple[str, bytes]]]:
    """The entry's form fields, and its photos (field name, bytes) decoded from the export's data URLs."""
    form: MultiDict[str, str] = MultiDict()
    files: list[tuple[str, bytes]] = []
    for pair in fields:
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError("a damaged field")
        name, value = pair
        if isinstance(value, dict) and isinstance(value.get("dataUrl"), str):
            try:
                files.append((str(name), base64.b64decode(value["dataUrl"].split(",", 1)[-1], validate=True)))
            except binascii.Error as exc:
                raise ValueError("a damaged photo") from exc
        elif isinstance(value, str):
            form.add(str(name), value)
    return form, files


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{k}: {' '.join(v) if isinstance(v, list) else v}" for k, v in exc.messages_dict.items())
    if isinstance(exc, audits.StaleAnswer):
        return "the item changed after the change was queued (a conflict): answer it again on the audit screen"
    return getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
