"""Change requests applied exactly once.

Every state change from the audit screen carries a client-made change id (the X-Change-Id
header that app.js adds, or a `change_id` form field). The view runs its service calls without
committing; this wrapper then stores the change id with the response it produced and commits both
together. A replay of the same id, even one racing the original, gets the stored response and
changes nothing.
"""
import re
import uuid
from functools import wraps

from flask import current_app, make_response, request
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from ..audits.models import AppliedChange
from ..extensions import db

CHANGE_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
REPLAYED_HEADERS = ("HX-Trigger", "Location", "Content-Type")


def change_id_of_request() -> str:
    """The request's change id; a server-made one for clients that send none (plain forms)."""
    given = request.headers.get("X-Change-Id") or request.form.get("change_id") or ""
    return given if CHANGE_ID.match(given) else str(uuid.uuid4())


def applies_change(view):
    """Make a view idempotent by change id and commit its work with the id, atomically."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        change_id = change_id_of_request()
        stored = db.session.get(AppliedChange, change_id)
        if stored is not None:
            return _replay(stored)
        response = make_response(view(*args, **kwargs))
        if response.status_code >= 400:
            db.session.rollback()  # a refused change leaves nothing behind
            return response
        db.session.add(AppliedChange(
            id=change_id, user_id=current_user.id, endpoint=request.endpoint or "",
            status_code=response.status_code, body=response.get_data(as_text=True),
            headers={k: response.headers[k] for k in REPLAYED_HEADERS if k in response.headers},
        ))
        try:
            db.session.commit()
        except IntegrityError:
            # The same change id was committed by a concurrent request first: answer as a replay.
            db.session.rollback()
            stored = db.session.get(AppliedChange, change_id)
            if stored is None:
                raise
            current_app.logger.info("change %s applied by a concurrent request; replayed", change_id)
            return _replay(stored)
        return response
    return wrapped


def _replay(stored: AppliedChange):
    # A change a quality lead imported from this phone's exported outbox: the phone may drop it.
    if stored.endpoint == "outbox.import":
        response = make_response(("Already applied from an imported outbox.", 200))
        response.headers["X-Change-Replayed"] = "true"
        return response
    if stored.user_id != current_user.id:
        # Change ids are random; a clash across users is an attack or a bug, never a replay.
        return make_response(("This change id belongs to another user.", 409))
    response = make_response(stored.body, stored.status_code)
    response.headers.update(stored.headers or {})
    response.headers["X-Change-Replayed"] = "true"
    response.vary.add("HX-Request")
    return response
