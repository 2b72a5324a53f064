"""Error pages that say what happened and what to do, as pages or as htmx fragments."""

from flask import Flask, render_template
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from ..core.errors import Refused, ServerBusy
from ..extensions import db
from .rendering import wants_fragment

ADVICE = {
    400: "The request could not be understood.",
    401: "Please log in to continue.",
    403: "Your role does not allow this. Ask a quality lead if you need access.",
    404: "There is nothing here. It may have been moved, or the address is mistyped.",
    405: "This page cannot be used that way.",
    409: "This record changed or is closed, so the change was not saved.",
    413: "The upload is larger than this server accepts.",
    429: "Too many attempts. Wait a few minutes and try again.",
    500: "Something went wrong on the server, and nothing was saved. Try again; if it keeps happening, "
    "tell your quality lead what you were doing.",
}
BUSY = "The server is busy saving other changes, so this one was not saved. It will be sent again shortly."
BUSY_RETRY_AFTER = 5


TITLES = {403: "Forbidden", 409: "Conflict", 422: "Not saved", 503: "Busy"}


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(Refused, handle_refused)
    app.register_error_handler(OperationalError, handle_database_busy)


def handle_csrf(error: CSRFError) -> ResponseReturnValue:
    message = "Your form expired or came from another site, so it was not saved. Reload the page and try again."
    return _render(400, "Security check failed", message)


def handle_http(error: HTTPException) -> ResponseReturnValue:
    if error.response is not None:  # an answer built for this refusal (the login form when throttled)
        return error.response
    status = error.code or 500  # Flask passes only exceptions with a code to this handler
    if status >= 500:
        # The failed transaction must not stay open: rendering the page may need the database.
        db.session.rollback()
    message = error.description if _custom(error) else ADVICE.get(status, error.description)
    return _render(status, error.name, message)


def handle_refused(error: Refused) -> ResponseReturnValue:
    """A rule refused a change and no view showed it beside a form: its class says the status."""
    db.session.rollback()  # nothing of the refused change may be committed later in this request
    status, title = error.status, TITLES.get(error.status, "Not saved")
    if isinstance(error, ServerBusy):
        return _render(status, title, error.message, {"Retry-After": str(error.retry_after)})
    return _render(status, title, error.message)


def handle_database_busy(error: OperationalError) -> ResponseReturnValue:
    """The database's write lock stayed taken past its busy timeout: 503 + Retry-After, the outbox sends later."""
    if not any(word in str(error.orig).lower() for word in ("locked", "busy", "lock timeout")):
        raise error  # any other database failure stays a 500
    db.session.rollback()
    return _render(503, TITLES[503], BUSY, {"Retry-After": str(BUSY_RETRY_AFTER)})


def _custom(error: HTTPException) -> bool:
    """True when the view passed its own description to abort()."""
    return error.description != type(error).description


def _render(status: int, title: str, message: str | None, headers: dict[str, str] | None = None) -> ResponseReturnValue:
    template = "errors/_message.html" if wants_fragment() else "errors/page.html"
    response = render_template(template, status=status, title=title, message=message), status, headers or {}
    return response
