"""Change requests applied exactly once.

Every state change from the audit screen carries a client-made change id (the X-Change-Id
header that app.js adds, or a `change_id` form field). The view runs its service calls without
committing; `applies_change` then stores the change id with the response it produced and commits
both together. A replay of the same id, even one racing the original, gets the stored response and
changes nothing.

The stored response bodies are only needed while a phone may still resend the change; after the
retention (`flask changes prune`, default 30 days) the body is dropped but the id is kept, so a
very late replay is still recognised and applied never again.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, cast

from flask import Response, current_app, make_response, request
from flask_login import current_user
from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model, db
from .observed import OBSERVED_HEADER, observing, parse_device_time
from .timeutil import utcnow

CHANGE_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
REPLAYED_HEADERS = ("HX-Trigger", "Location", "Content-Type")
# Stored instead of a body for a change rendered after its commit: a replay renders the record again.
RENDERED_LATER = "X-Change-Rendered-Later"
# The endpoint recorded for changes a quality lead applied from an exported outbox file.
IMPORTED = "outbox.import"


class AppliedChange(Model):
    """A change request applied once, by its client-made id; a replay gets the stored answer."""

    __tablename__ = "applied_changes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    endpoint: Mapped[str] = mapped_column(String(80))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    # The response headers a replay must repeat (HX-Trigger, Location).
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    applied_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


def change_id_of_request() -> str:
    """The request's change id; a server-made one for clients that send none (plain forms)."""
    given = request.headers.get("X-Change-Id") or request.form.get("change_id") or ""
    return given if CHANGE_ID.match(given) else str(uuid.uuid4())


def already_applied(change_id: str) -> bool:
    return db.session.get(AppliedChange, change_id) is not None


def remember(
    change_id: str, user_id: int, endpoint: str, response: Response | None = None, rendered_later: bool = False
) -> None:
    """Record a change id as applied, with the answer a replay must get (or, rendered_later, a mark that a
    replay renders the record again). Does not commit."""
    db.session.add(
        AppliedChange(
            id=change_id,
            user_id=user_id,
            endpoint=endpoint,
            status_code=response.status_code if response is not None else 200,
            body=response.get_data(as_text=True) if response is not None else "",
            headers={RENDERED_LATER: "true"}
            if rendered_later
            else {k: response.headers[k] for k in REPLAYED_HEADERS if k in response.headers}
            if response is not None
            else {},
        )
    )


@dataclass
class RenderAfterCommit:
    """What a change view returns to be rendered once its change is committed, with its locks let go.

    The change id is stored without a body; a replay renders the record as it is then (`rerender`)."""

    render: Callable[[], Any]


def applies_change(
    view: Callable[..., Any] | None = None, *, rerender: Callable[..., Any] | None = None
) -> Callable[..., Any]:
    """Make a view idempotent by change id and commit its work with the id, atomically.

    With `rerender` (a view of the same arguments that renders the record as it stands), the view is one
    whose write is a compare-and-set (an answer's revision): it is not looked up first, since a replay fails
    that compare, or the id's own insert, and is then answered from the store; and it may return
    RenderAfterCommit, so nothing is rendered while its rows are locked."""
    if view is None:
        return lambda v: applies_change(v, rerender=rerender)

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Response:
        # A change replayed from a phone's outbox says when the auditor made it (core/observed.py).
        with observing(parse_device_time(request.headers.get(OBSERVED_HEADER))):
            change_id = change_id_of_request()
            if rerender is None:
                stored = db.session.get(AppliedChange, change_id)
                if stored is not None:
                    return _replay(stored, rerender, args, kwargs)
            result = view(*args, **kwargs)
            later = result if isinstance(result, RenderAfterCommit) else None
            response = make_response(result) if later is None else None
            if response is not None and response.status_code >= 400:
                db.session.rollback()  # a refused change leaves nothing behind
                # A resend that waited on the change lock while its original ran sees the original's work
                # as someone else's ("changed meanwhile"): once the original is committed, answer as it did.
                stored = db.session.get(AppliedChange, change_id)
                return _replay(stored, rerender, args, kwargs) if stored is not None else response
            remember(change_id, current_user.id, request.endpoint or "", response, rendered_later=later is not None)
            session = db.session()
            session.expire_on_commit = later is None  # what was read stays loaded for the render after it
            try:
                session.commit()
            except IntegrityError:
                # The same change id was committed by a concurrent request first: answer as a replay.
                db.session.rollback()
                stored = db.session.get(AppliedChange, change_id)
                if stored is None:
                    raise
                current_app.logger.info("change %s applied by a concurrent request; replayed", change_id)
                return _replay(stored, rerender, args, kwargs)
            finally:
                session.expire_on_commit = True
            return make_response(later.render()) if later is not None else cast(Response, response)

    return wrapped


def _replay(stored: AppliedChange, rerender: Callable[..., Any] | None, args: Any, kwargs: Any) -> Response:
    # A change a quality lead imported from this phone's exported outbox: the phone may drop it.
    if stored.endpoint == IMPORTED:
        return _already_applied("Already applied from an imported outbox.")
    if stored.user_id != current_user.id:
        # Change ids are random; a clash across users is an attack or a bug, never a replay.
        return make_response(("This change id belongs to another user.", 409))
    if not stored.body and stored.status_code == 200 and not stored.headers:
        return _already_applied("Already applied; this change was saved long ago.")
    if RENDERED_LATER in (stored.headers or {}) and rerender is not None:
        response = make_response(rerender(*args, **kwargs))
        response.headers["X-Change-Replayed"] = "true"
        response.vary.add("HX-Request")
        return response
    response = make_response(stored.body, stored.status_code)
    response.headers.update(stored.headers or {})
    response.headers["X-Change-Replayed"] = "true"
    response.vary.add("HX-Request")
    return response


def _already_applied(message: str) -> Response:
    response = make_response((message, 200))
    response.headers["X-Change-Replayed"] = "true"
    return response


def prune_bodies(older_than: timedelta, dry_run: bool = False) -> int:
    """Drop the stored answers of changes applied before the retention; keep their ids. Does not commit."""
    cutoff = utcnow() - older_than
    kept = (AppliedChange.body != "") | (sql_cast(AppliedChange.headers, Text) != "{}")  # a body, or a mark to render
    stale = (AppliedChange.applied_at < cutoff) & kept
    if dry_run:
        return db.session.scalar(db.select(db.func.count()).select_from(AppliedChange).where(stale)) or 0
    result = db.session.execute(
        update(AppliedChange)
        .where(stale)
        .values(body="", headers={}, status_code=200)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
