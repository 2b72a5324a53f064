"""Security by default: login everywhere, CSRF on every change, roles on the server, safe cookies."""

import hashlib
import re

import pytest
from werkzeug.routing import IntegerConverter

from auditapp.events.models import Event
from auditapp.extensions import db

from .support.accounts import PASSWORD, log_in


def _example_url(rule) -> str:
    """The rule's URL with 1 for numeric parts and "x" for the others."""

    def example(conv):
        if isinstance(conv, IntegerConverter):
            return 1
        if type(conv).__name__ == "AnyConverter":
            return sorted(conv.items)[0]
        return "x"

    values = {arg: example(conv) for arg, conv in rule._converters.items()}
    return rule.build(values, append_unknown=False)[1]


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_refuses_an_anonymous_user(app, client):
    checked = 0
    for rule, method in _routes(app):
        if rule.endpoint in (
            "auth.login",
            "bundle",
            "pwa.service_worker",
            "pwa.manifest",
            "ops.health",
            "ops.ready",
            "setup.page",
            "setup.certificate",
        ):
            continue
        response = client.open(_example_url(rule), method=method)
        if method == "GET":
            assert response.status_code == 302, rule
            assert response.location.startswith("/login"), rule
        else:
            assert response.status_code == 401, rule
        checked += 1
    assert checked >= 10  # the walk really saw the app's routes


def test_htmx_request_of_anonymous_user_is_sent_to_login(client):
    response = client.get("/checklists/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


def test_only_login_static_probes_and_phone_setup_are_public(app):
    from auditapp.web.security import PUBLIC_ENDPOINTS

    assert PUBLIC_ENDPOINTS == {
        "auth.login",
        "static",
        "bundle",  # static scripts joined in one file (web/assets.py): public like the files themselves
        "pwa.service_worker",
        "pwa.manifest",
        "ops.health",
        "ops.ready",
        "setup.page",  # 404 unless AUDITAPP_CA_CERT is set (a site-local install's phone set-up)
        "setup.certificate",
    }


def test_static_files_need_no_login(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    response.close()


def test_state_change_without_csrf_token_is_refused(app, client, login):
    login("quality_lead")
    response = client.post("/admin/areas", data={"name": "Press shop"}, csrf=False)
    assert response.status_code == 400
    assert b"Security check failed" in response.data
    response = client.post("/admin/areas", data={"name": "Press shop"}, headers={"HX-Request": "true"}, csrf=False)
    assert response.status_code == 400
    from auditapp.accounts.models import Area

    assert db.session.scalars(db.select(Area)).all() == []


def test_csrf_token_in_header_is_accepted_as_htmx_sends_it(client, login):
    login("quality_lead")
    response = client.post("/admin/areas", data={"name": "Press shop"}, headers={"HX-Request": "true"})
    assert response.status_code == 201


def test_logout_needs_csrf_so_another_site_cannot_log_you_out(client, login):
    login()
    assert client.post("/logout", csrf=False).status_code == 400
    assert client.get("/checklists/").status_code == 200


def test_page_carries_csrf_token_for_htmx_in_body_headers(client, login):
    login()
    html = client.get("/checklists/").get_data(as_text=True)
    assert re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"[^\"]+\"\}'[ >]", html)


ADMIN_ONLY = [
    ("GET", "/admin/users"),
    ("POST", "/admin/users"),
    ("GET", "/admin/users/1"),
    ("POST", "/admin/users/1"),
    ("GET", "/admin/areas"),
    ("POST", "/admin/areas"),
    ("GET", "/admin/areas/1"),
    ("POST", "/admin/areas/1"),
    ("POST", "/checklists/sync"),
]


@pytest.mark.parametrize("role", ["auditor", "supervisor"])
@pytest.mark.parametrize("method, url", ADMIN_ONLY)
def test_admin_pages_refuse_auditors_and_supervisors(client, make_user, role, method, url):
    make_user("admin")  # user 1 exists, so a 403 is not a 404 in disguise
    log_in(client, make_user(role))
    response = client.open(url, method=method, data={"name": "x"})
    assert response.status_code == 403


def test_session_cookie_flags(client, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http on 127.0.0.1 must keep working
    assert "Expires=" in cookie  # kept when the app is closed, so offline changes can sync later


def test_secure_cookie_flag_follows_configuration(database_url, tmp_path, monkeypatch):
    from auditapp import create_app

    from .support.app import base_config

    monkeypatch.setenv("AUDITAPP_SECURE_COOKIES", "1")
    app = create_app(base_config(tmp_path, database_url))
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["REMEMBER_COOKIE_SECURE"] is True


def test_security_headers_on_pages(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "no-cache" in response.headers["Cache-Control"]


def test_no_inline_script_or_style_in_pages(client, login):
    login("admin")
    for url in ["/login", "/checklists/", "/admin/users", "/admin/areas"]:
        html = client.get(url).get_data(as_text=True)
        assert "<script>" not in html and " style=" not in html and "<style" not in html, url


def test_pages_load_nothing_from_other_hosts(client, login):
    login("admin")
    for url in ["/checklists/", "/admin/users"]:
        html = client.get(url).get_data(as_text=True)
        assert not re.search(r"(src|href)=\"(https?:)?//", html), url


def test_upload_size_limit_refuses_large_bodies_with_413(app, client, login):
    login("quality_lead")
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/admin/areas", data={"name": "x" * 2048})
    assert response.status_code == 413


def test_default_upload_limit_is_25_mb(app):
    assert app.config["MAX_CONTENT_LENGTH"] == 25 * 1024 * 1024


def test_failed_logins_are_security_events_not_evidence(client, make_user):
    from auditapp.accounts.models import SecurityEvent

    user = make_user()
    before = db.session.scalar(db.select(db.func.count(Event.id)))
    for email in (user.email, "nobody@example.com"):
        assert client.post("/login", data={"email": email, "password": "wrong password"}).status_code == 401
    assert db.session.scalar(db.select(db.func.count(Event.id))) == before  # no row, no chain lock
    rows = db.session.scalars(db.select(SecurityEvent).order_by(SecurityEvent.id)).all()
    assert [(row.kind, row.address) for row in rows] == [("login_failed", "127.0.0.1")] * 2
    assert rows[0].account_key == hashlib.sha256(user.email.encode()).hexdigest()
    assert "wrong password" not in repr([vars(row) for row in rows])


def test_long_email_addresses_are_throttled_too(client):
    email = "a" * 70 + "@example.com"
    statuses = [
        client.post("/login", data={"email": email, "password": "guess number x"}).status_code for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]


@pytest.mark.parametrize(
    "url",
    ["/audits/99999999999999999999999", "/nc/99999999999999999999", "/audits/1/items/99999999999999999999/history"],
)
def test_huge_ids_are_not_found_not_server_errors(client, login, url):
    login("quality_lead")
    assert client.get(url).status_code == 404


def test_huge_ids_in_forms_and_filters_are_answered_calmly(client, login, walk):
    login("quality_lead")
    response = client.post(
        "/audits/new",
        data={
            "checklist_id": walk.id,
            "title": "x",
            "planned_date": "2026-12-01",
            "lead_auditor_id": "99999999999999999999999",
        },
    )
    assert response.status_code == 422 and b"Choose from the list." in response.data
    assert client.get("/nc/?area=99999999999999999999&owner=-5").status_code == 200
