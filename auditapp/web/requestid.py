"""A request id on every request and response (X-Request-ID), for the access log and for support.

A proxy or load balancer in front often sets one already: it is kept when it looks safe (short,
letters, digits and dashes), so one id follows the request through every log; anything else is
replaced, so a client cannot write arbitrary text into the logs.
"""

import re
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

HEADER = "X-Request-ID"
ENVIRON_KEY = "auditapp.request_id"
SAFE_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


def init_app(app: Flask) -> None:
    app.wsgi_app = RequestId(app.wsgi_app)  # type: ignore[method-assign]


def choose_id(incoming: str | None) -> str:
    """The incoming id if it is safe to log and echo back, else a new random one."""
    if incoming and SAFE_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestId:
    """WSGI middleware: it sees every response, error pages and 404s included, unlike after_request."""

    def __init__(self, wsgi_app: "WSGIApplication") -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        rid = choose_id(environ.get("HTTP_X_REQUEST_ID"))
        environ[ENVIRON_KEY] = rid

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
            kept = [(name, value) for name, value in headers if name.lower() != HEADER.lower()]
            return start_response(status, [*kept, (HEADER, rid)], exc_info)

        return self.wsgi_app(environ, start)
