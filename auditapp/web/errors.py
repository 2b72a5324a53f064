"""Error pages that say what happened and what to do, as pages or as htmx fragments."""
from flask import Flask, render_template
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..core.errors import Refused
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


TITLES = {403: "Forbidden", 409: "Conflict", 422: "Not saved"}


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(Refused, handle_refused)


def handle_csrf(error: CSRFError) -> tuple[str, int]:
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


def handle_refused(error: Refused) -> tuple[str, int]:
    """A rule refused a change and no view showed it beside a form: its class says the status."""
    db.session.rollback()  # nothing of the refused change may be committed later in this request
    return _render(error.status, TITLES.get(error.status, "Not saved"), error.message)


def _custom(error: HTTPException) -> bool:
    """True when the view passed its own description to abort()."""
    return error.description != type(error).description


def _render(status: int, title: str, message: str | None) -> tuple[str, int]:
    template = "errors/_message.html" if wants_fragment() else "errors/page.html"
    response = render_template(template, status=status, title=title, message=message), status
    return response
