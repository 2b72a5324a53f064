"""Security by default: login on every page, role checks, and response headers."""

from collections.abc import Callable, Collection
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from flask import Flask, Response, abort, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from ..core.forms import MAX_ID
from ..extensions import htmx, login_manager

# The only endpoints an anonymous visitor may reach. The service worker and the manifest hold no
# data, and browsers fetch them without a session (the manifest) or must update them after logout.
# Load balancers ask /health and /ready (auditapp/ops) without a session; they answer only "ok" or
# which check failed.
PUBLIC_ENDPOINTS = {"auth.login", "static", "bundle", "pwa.service_worker", "pwa.manifest", "ops.health", "ops.ready"}
# The phone set-up page (pwa/setup.py): a phone opens it before it trusts the CA, so before any login.
PUBLIC_ENDPOINTS |= {"setup.page", "setup.certificate"}

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ]
)

P = ParamSpec("P")
R = TypeVar("R")


class BoundedInt(IntegerConverter):
    """<int:...> that stops at the database's integer range: a huge id is a 404, not a 500."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    app.before_request(require_login)
    app.after_request(set_security_headers)
    trusted = app.config.get("TRUSTED_PROXIES", 0)
    if trusted:
        # Only then is the client address (login throttling, security events) read from X-Forwarded-For;
        # without a proxy anyone could write any address there.
        app.wsgi_app = FromProxiesOnly(  # type: ignore[method-assign]
            app.wsgi_app, ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted), app.config["PROXY_ADDRESSES"]
        )


class FromProxiesOnly:
    """Believe X-Forwarded-* only on connections from the proxies' own addresses.

    A host listening on the network (AUDITAPP_BIND=10.0.0.5:5000, the proxy on another machine) can be
    reached around the proxy by anyone its firewall lets in; their forwarded headers are ignored."""

    def __init__(self, direct: Any, via_proxy: Any, proxies: Collection[str]):
        self.direct, self.via_proxy, self.proxies = direct, via_proxy, frozenset(proxies)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        app = self.via_proxy if environ.get("REMOTE_ADDR") in self.proxies else self.direct
        return app(environ, start_response)


def require_login() -> ResponseReturnValue | None:
    """Refuse every request of an anonymous user, except the login page and static files."""
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    login_url = url_for("auth.login", next=_local_next())
    if htmx:
        # htmx follows HX-Redirect even on an error status, so the whole page goes to login.
        return "", 401, {"HX-Redirect": login_url}
    if request.method != "GET":
        abort(401)
    return redirect(login_url)


def _local_next() -> str | None:
    return request.full_path.rstrip("?") if request.method == "GET" else None


def roles_required(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """View decorator: 403 unless the current user has one of the roles (``accounts.models.Role``)."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            if not current_user.is_authenticated:
                abort(401)
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def set_security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "static" and "Cache-Control" not in response.headers:
        # Pages carry personal data and CSRF tokens: never store them in shared caches.
        response.headers["Cache-Control"] = "private, no-cache"
    return response
