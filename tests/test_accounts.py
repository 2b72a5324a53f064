"""Logging in and out, roles' landing pages, and the admin pages for users and areas."""

from datetime import timedelta

import pytest

from auditapp import create_app
from auditapp.accounts import services
from auditapp.accounts.models import Area, LoginSession, User
from auditapp.core.timeutil import utcnow
from auditapp.events.models import Event
from auditapp.extensions import db

from .support.accounts import PASSWORD, log_in
from .support.app import CSRFClient, base_config

HOMES = {"auditor": "/audits/mine", "supervisor": "/nc/actions/mine", "quality_lead": "/audits/", "admin": "/audits/"}


def test_each_role_lands_on_its_home_screen(client, make_user):
    for role, home in HOMES.items():
        user = make_user(role)
        response = client.post("/login", data={"email": user.email.upper(), "password": PASSWORD})
        assert response.status_code == 302 and response.location == home, role
        page = client.get(home).get_data(as_text=True)
        assert user.name in page and user.role_enum.label in page
        client.post("/logout")


def test_login_returns_to_the_page_asked_for_but_never_to_another_site(client, make_user):
    user = make_user()
    response = client.post("/login?next=/admin/areas", data={"email": user.email, "password": PASSWORD})
    assert response.location == "/admin/areas"
    client.post("/logout")
    for evil in ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"]:
        response = client.post(f"/login?next={evil}", data={"email": user.email, "password": PASSWORD})
        assert response.location == "/audits/mine", evil
        client.post("/logout")


def test_wrong_password_keeps_the_email_and_says_so(client, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": "not it at all"})
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "E-mail or password is not right." in html and f'value="{user.email}"' in html
    assert "not it at all" not in html


def test_unknown_email_gets_the_same_answer(client):
    response = client.post("/login", data={"email": "nobody@example.com", "password": "whatever it is"})
    assert response.status_code == 401 and b"E-mail or password is not right." in response.data


def test_empty_login_form_is_answered_in_place(client):
    response = client.post("/login", data={"email": "", "password": ""})
    assert response.status_code == 422


def test_repeated_failures_lock_the_account_for_a_while(client, make_user):
    user = make_user()
    for _ in range(5):
        assert client.post("/login", data={"email": user.email, "password": "bad guess 123"}).status_code == 401
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429 and b"Too many failed attempts" in response.data


ATTACKER, VICTIM = {"REMOTE_ADDR": "203.0.113.66"}, {"REMOTE_ADDR": "198.51.100.7"}


def test_failures_from_an_attacker_never_lock_the_user_out_from_another_address(client, make_user):
    user = make_user()
    for _ in range(5):
        response = client.post("/login", data={"email": user.email, "password": "bad guess 123"}, environ_base=ATTACKER)
        assert response.status_code == 401
    response = client.post("/login", data={"email": user.email, "password": PASSWORD}, environ_base=ATTACKER)
    assert response.status_code == 429 and b"Too many failed attempts" in response.data
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    again = client.post("/login", data={"email": user.email, "password": "bad guess 456"}, environ_base=ATTACKER)
    assert again.status_code == 429  # refused again, but noted once a minute only
    response = client.post("/login", data={"email": user.email, "password": PASSWORD}, environ_base=VICTIM)
    assert response.status_code == 302 and response.location == "/audits/mine"
    throttled = services.security_events("login_throttled")
    assert [(e.account_key, e.address) for e in throttled] == [(services.account_key(user.email), "203.0.113.66")]


def test_a_spray_over_many_emails_from_one_address_is_throttled(client, make_user):
    users = [make_user() for _ in range(4)]
    emails = [u.email for u in users] + [f"guess{n}@example.com" for n in range(8)]
    statuses = [
        client.post("/login", data={"email": email, "password": "Summer2026!"}, environ_base=ATTACKER).status_code
        for email in emails
    ]
    assert statuses == [401] * 10 + [429] * 2
    # The limit is the attacker's address: others still log in, and may still mistype.
    assert (
        client.post("/login", data={"email": "typo@example.com", "password": "x" * 12}, environ_base=VICTIM).status_code
        == 401
    )
    log_in(client, users[0])


def test_x_forwarded_for_counts_only_behind_a_configured_proxy(app, client, tmp_path):
    def spray(some_client, count):
        return [
            some_client.post(
                "/login",
                data={"email": f"spray{n}@example.com", "password": "x" * 12},
                headers={"X-Forwarded-For": f"192.0.2.{n}"},
            ).status_code
            for n in range(count)
        ]

    assert spray(client, 11) == [401] * 10 + [429]  # a forged header buys nothing
    assert {e.address for e in services.security_events("login_failed")} == {"127.0.0.1"}

    proxied = create_app(
        {**base_config(tmp_path / "proxied", app.config["SQLALCHEMY_DATABASE_URI"]), "TRUSTED_PROXIES": 1}
    )
    proxied.test_client_class = CSRFClient
    with proxied.app_context():
        assert spray(proxied.test_client(), 12) == [401] * 12  # twelve clients behind the proxy, one try each
        addresses = {e.address for e in services.security_events("login_failed")}
        db.session.remove()
        db.engine.dispose()
    assert {f"192.0.2.{n}" for n in range(12)} <= addresses


def test_forwarded_headers_count_only_from_the_proxys_own_address(app, tmp_path):
    """A host on the network can be reached around its proxy: a forged X-Forwarded-For from any address
    but AUDITAPP_PROXY_ADDRESSES is ignored, so it cannot dodge the per-address throttle."""
    proxied = create_app(
        {
            **base_config(tmp_path / "proxied", app.config["SQLALCHEMY_DATABASE_URI"]),
            "TRUSTED_PROXIES": 1,
            "PROXY_ADDRESSES": ["10.0.0.2"],
        }
    )
    proxied.test_client_class = CSRFClient
    with proxied.app_context():
        client = proxied.test_client()
        for peer, forged in (("198.51.100.7", "192.0.2.1"), ("10.0.0.2", "192.0.2.2")):
            client.post(
                "/login",
                data={"email": "someone@example.com", "password": "x" * 12},
                headers={"X-Forwarded-For": forged},
                environ_base={"REMOTE_ADDR": peer},
            )
        addresses = {e.address for e in services.security_events("login_failed")}
        db.session.remove()
        db.engine.dispose()
    assert addresses == {"198.51.100.7", "192.0.2.2"}  # the stranger as itself; the proxy's client believed


def test_inactive_user_cannot_log_in(client, make_user):
    user = make_user()
    user.active = False
    db.session.commit()
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 401


def test_logout_ends_the_session(client, login):
    login()
    client.post("/logout")
    assert client.get("/checklists/").status_code == 302


def test_a_copy_of_the_cookie_opens_nothing_after_logout(app, client, login):
    login("quality_lead")
    copied = client.get_cookie("session").value
    client.post("/logout")
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/checklists/").status_code == 302
    assert thief.post("/admin/areas", data={"name": "Made with a logged-out cookie"}).status_code == 401
    assert db.session.scalar(db.select(Area).filter_by(name="Made with a logged-out cookie")) is None


def test_each_login_is_its_own_session_on_the_server(app, client, make_user):
    user = make_user()
    phone, laptop = app.test_client(), app.test_client()
    log_in(phone, user)
    laptop.post("/login", data={"email": user.email, "password": PASSWORD}, headers={"User-Agent": "Laptop browser"})
    logins = db.session.scalars(db.select(LoginSession).filter_by(user_id=user.id)).all()
    assert len(logins) == 2 and len({login.token_hash for login in logins}) == 2
    assert logins[1].user_agent == "Laptop browser"
    phone.post("/logout")  # ends the phone's login only
    assert phone.get("/checklists/").status_code == 302 and laptop.get("/checklists/").status_code == 200
    assert [login.ended_at is not None for login in logins] == [True, False]


def test_log_out_everywhere_ends_every_session_of_the_user_only(app, client, make_user):
    user, other = make_user(), make_user()
    phone, bystander = app.test_client(), app.test_client()
    log_in(client, user)
    log_in(phone, user)
    log_in(bystander, other)
    assert 'href="/account"' in client.get("/menu").get_data(as_text=True)
    page = client.get("/account").get_data(as_text=True)
    assert page.count('<li class="row">') == 2 and page.count("this device") == 1
    assert "data-outbox-guard" in page  # refused by the page script while offline changes wait
    response = client.post("/account/logout-everywhere")
    assert response.status_code == 302 and response.location == "/login"
    assert client.get("/checklists/").status_code == 302 and phone.get("/checklists/").status_code == 302
    assert bystander.get("/checklists/").status_code == 200
    assert [e.kind for e in services.security_events()] == ["logged_out_everywhere"]


def test_last_seen_moves_at_most_once_a_minute(app, client, make_user):
    user = log_in(client, make_user())
    login = db.session.scalar(db.select(LoginSession).filter_by(user_id=user.id))
    half_a_minute_ago, two_minutes_ago = utcnow() - timedelta(seconds=30), utcnow() - timedelta(minutes=2)
    login.last_seen_at = half_a_minute_ago
    db.session.commit()
    client.get("/checklists/")
    assert login.last_seen_at == half_a_minute_ago
    login.last_seen_at = two_minutes_ago
    db.session.commit()
    client.get("/checklists/")
    assert login.last_seen_at > utcnow() - timedelta(seconds=10)


def test_a_login_unseen_for_longer_than_the_cookie_lives_is_over(app, client, make_user):
    user = log_in(client, make_user())
    login = db.session.scalar(db.select(LoginSession).filter_by(user_id=user.id))
    login.last_seen_at = utcnow() - app.config["PERMANENT_SESSION_LIFETIME"] - timedelta(minutes=1)
    db.session.commit()
    assert client.get("/checklists/").status_code == 302


def test_new_password_or_deactivation_ends_existing_sessions(app, client, make_user):
    user = log_in(client, make_user())
    assert client.get("/checklists/").status_code == 200
    services.update_user(None, user, user.name, user.role, True, "a brand new password")
    db.session.commit()
    assert client.get("/checklists/").status_code == 302
    log_in(client, user, "a brand new password")
    services.update_user(None, user, user.name, user.role, False)
    db.session.commit()
    assert client.get("/checklists/").status_code == 302


def test_passwords_are_hashed(app, make_user):
    user = make_user()
    assert PASSWORD not in user.password_hash and user.password_hash.startswith("pbkdf2:sha256")


def test_production_hash_is_scrypt(database_url, tmp_path):
    from auditapp.config import settings_from_env

    assert settings_from_env(tmp_path)["PASSWORD_HASH_METHOD"] == "scrypt"


# --- users admin -------------------------------------------------------------------------------


def test_quality_lead_adds_a_user_with_htmx(client, login, htmx_headers):
    lead = login("quality_lead")
    response = client.post(
        "/admin/users",
        headers=htmx_headers,
        data={
            "email": " New.Auditor@Example.com ",
            "name": "Nia New",
            "role": "auditor",
            "password": "long enough password",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 201
    assert html.lstrip().startswith('<div id="user-admin"') and "<html" not in html
    assert "Nia New (new.auditor@example.com) can now log in as Internal auditor." in html
    user = db.session.scalar(db.select(User).filter_by(email="new.auditor@example.com"))
    assert user.role == "auditor" and user.check_password("long enough password")
    event = db.session.scalar(db.select(Event).filter_by(entity_type="user", entity_id=str(user.id), action="created"))
    assert event.actor_id == lead.id
    assert response.headers["Vary"].startswith("HX-Request") or "HX-Request" in response.headers["Vary"]


def test_add_user_page_without_javascript(client, login):
    login("quality_lead")
    response = client.post(
        "/admin/users",
        data={"email": "x@example.com", "name": "X", "role": "supervisor", "password": "long enough password"},
    )
    assert response.status_code == 302 and response.location == "/admin/users"
    assert "can now log in as Supervisor" in client.get("/admin/users").get_data(as_text=True)


def test_invalid_user_form_comes_back_in_place_with_what_was_typed(client, login, htmx_headers):
    login("quality_lead")
    response = client.post(
        "/admin/users",
        headers=htmx_headers,
        data={"email": "not-an-email", "name": "Typed Name", "role": "auditor", "password": "short"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter an e-mail address like name@example.com." in html
    assert "Use 12 to 128 characters" in html
    assert 'value="Typed Name"' in html and 'value="not-an-email"' in html
    assert "<html" not in html
    full = client.post(
        "/admin/users", data={"email": "not-an-email", "name": "Typed Name", "role": "auditor", "password": "short"}
    )
    assert full.status_code == 422 and "<html" in full.get_data(as_text=True)


def test_duplicate_email_is_refused(client, login, make_user):
    existing = make_user()
    login("quality_lead")
    response = client.post(
        "/admin/users",
        data={"email": existing.email, "name": "Again", "role": "auditor", "password": "long enough password"},
    )
    assert response.status_code == 422 and b"A user with this e-mail already exists." in response.data


def test_quality_lead_cannot_create_or_edit_administrators(client, login, make_user):
    admin = make_user("admin")
    login("quality_lead")
    response = client.post(
        "/admin/users",
        data={"email": "boss@example.com", "name": "Boss", "role": "admin", "password": "long enough password"},
    )
    assert response.status_code == 422 and b"Only an administrator" in response.data
    response = client.post(f"/admin/users/{admin.id}", data={"name": "Renamed", "role": "admin", "active": "on"})
    assert response.status_code == 422
    assert db.session.get(User, admin.id).name != "Renamed"


def test_admin_can_create_administrators(client, login):
    login("admin")
    response = client.post(
        "/admin/users",
        data={"email": "boss@example.com", "name": "Boss", "role": "admin", "password": "long enough password"},
    )
    assert response.status_code == 302


def test_edit_user_changes_role_and_logs_old_and_new(client, login, make_user):
    lead = login("quality_lead")
    user = make_user("auditor")
    response = client.post(f"/admin/users/{user.id}", data={"name": user.name, "role": "supervisor", "active": "on"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.role == "supervisor"
    event = db.session.scalar(db.select(Event).filter_by(entity_type="user", entity_id=str(user.id), action="updated"))
    assert event.changes == {"role": ["auditor", "supervisor"]} and event.actor_id == lead.id


def test_cannot_demote_or_deactivate_yourself(client, login):
    lead = login("quality_lead")
    response = client.post(f"/admin/users/{lead.id}", data={"name": lead.name, "role": "auditor", "active": "on"})
    assert response.status_code == 422 and b"cannot change your own role" in response.data


def test_edit_unknown_user_is_404(client, login):
    login("quality_lead")
    assert client.get("/admin/users/999").status_code == 404


# --- areas admin -------------------------------------------------------------------------------


def test_add_area_with_a_supervisor_owner(client, login, make_user, htmx_headers):
    login("quality_lead")
    sup = make_user("supervisor", name="Sam Super")
    response = client.post(
        "/admin/areas",
        headers=htmx_headers,
        data={"name": "Paint shop", "description": "Powder coating", "owner_id": str(sup.id)},
    )
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    assert "Paint shop" in html and "Sam Super" in html
    area = db.session.scalar(db.select(Area).filter_by(name="Paint shop"))
    assert area.owner_id == sup.id


def test_area_owner_must_be_a_supervisor_and_names_unique(client, login, make_user):
    login("quality_lead")
    auditor = make_user("auditor")
    response = client.post("/admin/areas", data={"name": "Paint shop", "owner_id": str(auditor.id)})
    assert response.status_code == 422 and b"The owner must be an active supervisor." in response.data
    assert client.post("/admin/areas", data={"name": "Paint shop"}).status_code == 302
    response = client.post("/admin/areas", data={"name": "paint SHOP"})
    assert response.status_code == 422 and b"already exists" in response.data


def test_edit_area_logs_the_change(client, login, make_user):
    login("quality_lead")
    client.post("/admin/areas", data={"name": "Paint shop"})
    area = db.session.scalar(db.select(Area))
    sup = make_user("supervisor")
    assert (
        client.post(f"/admin/areas/{area.id}", data={"name": "Paint line", "owner_id": str(sup.id)}).status_code == 302
    )
    event = db.session.scalar(db.select(Event).filter_by(entity_type="area", action="updated"))
    assert event.changes["name"] == ["Paint shop", "Paint line"] and event.changes["owner_id"] == [None, sup.id]


def test_areas_empty_state(client, login):
    login("quality_lead")
    assert b"No areas yet." in client.get("/admin/areas").data


@pytest.mark.parametrize("url", ["/admin/users", "/admin/areas"])
def test_admin_lists_serve_page_and_fragment(client, login, url, htmx_headers):
    login("quality_lead")
    page = client.get(url).get_data(as_text=True)
    fragment = client.get(url, headers=htmx_headers).get_data(as_text=True)
    assert "<html" in page and "<html" not in fragment
    assert fragment.lstrip().startswith("<div id=")
    boosted = client.get(url, headers={**htmx_headers, "HX-Boosted": "true"}).get_data(as_text=True)
    assert "<html" in boosted
