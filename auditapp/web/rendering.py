"""One source for pages and fragments: htmx asks for the partial, everyone else gets the page."""

import uuid
from typing import Any

from flask import Flask, Response, make_response, render_template

from ..extensions import htmx


def wants_fragment() -> bool:
    """True for an htmx swap; a boosted link or a history restore needs the whole page."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(page_template: str, fragment_template: str, status: int = 200, **context: Any) -> Response:
    """Render the partial for htmx or the page that includes it, and say the answer varies."""
    template = fragment_template if wants_fragment() else page_template
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def init_app(app: Flask) -> None:
    @app.context_processor
    def fragment_flag() -> dict[str, bool]:
        # Partials show their own flash messages only when swapped in alone.
        return {"is_fragment": wants_fragment()}

    # Plain forms carry a change id, so a double submit (or a resend after a timeout) applies once.
    app.jinja_env.globals["new_change_id"] = lambda: str(uuid.uuid4())
