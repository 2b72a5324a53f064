"""Serving for real: request ids, compression, versioned static files, and gunicorn with its JSON access log."""

import gzip
import json
import re
import shutil
import subprocess
import time

import brotli
import pytest
from flask import url_for

from auditapp.web.assets import IMMUTABLE, static_version

from .support.accounts import PASSWORD
from .support.audits import plan_iso_audit
from .support.gunicorn import ROOT, Browserless, Gunicorn

# Flask-WTF's signed CSRF token carries a timestamp: two renderings of one page differ only there.
SIGNED_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}")


def _without_tokens(html: bytes) -> bytes:
    return SIGNED_TOKEN.sub("TOKEN", html.decode()).encode()


def _versioned(filename):
    return f"/static/{filename}?v={static_version(filename)}"


# Request ids ---------------------------------------------------------------------------------------


def test_every_response_carries_a_request_id(client):
    first, second = client.get("/login"), client.get("/no-such-page")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["X-Request-ID"])
    assert re.fullmatch(r"[0-9a-f]{32}", second.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


def test_a_safe_incoming_request_id_is_kept(client):
    response = client.get("/login", headers={"X-Request-ID": "lb-7f3a-0042"})
    assert response.headers.getlist("X-Request-ID") == ["lb-7f3a-0042"]


@pytest.mark.parametrize("unsafe", ["a b", "x" * 65, "id\\n{json}", "<script>", "é", ""])
def test_an_unsafe_incoming_request_id_is_replaced(client, unsafe):
    response = client.get("/login", headers={"X-Request-ID": unsafe})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


# Compression -----------------------------------------------------------------------------------------


@pytest.fixture
def iso_audit_page(app, client, login, make_user, shipped_checklists):
    """The URL of the 94-item ISO 9001 audit, with `client` logged in as the quality lead."""
    lead = login("quality_lead")
    audit = plan_iso_audit(app, lead, make_user("auditor"))
    assert len(audit.checklist_version.items) == 94
    return f"/audits/{audit.id}"


def test_the_audit_page_is_sent_gzip_when_asked_and_plain_otherwise(client, iso_audit_page):
    plain = client.get(iso_audit_page, headers={"Accept-Encoding": "identity"})
    packed = client.get(iso_audit_page, headers={"Accept-Encoding": "gzip"})
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"] and "Accept-Encoding" in plain.headers["Vary"]
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data) / 5
    assert _without_tokens(gzip.decompress(packed.data)) == _without_tokens(plain.data)


def test_the_best_encoding_the_browser_offers_is_chosen(client, iso_audit_page):
    # Chromium over HTTPS offers all of these; brotli and zstd pack tighter than gzip.
    response = client.get(iso_audit_page, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert response.headers["Content-Encoding"] in ("zstd", "br")


def test_the_constant_part_of_the_csrf_token_is_worthless_without_its_changing_signature(app, client, login):
    """Why compressing pages that carry the CSRF token is safe against BREACH-style length probing: what
    repeats on every page (the session's raw token) is refused unless signed with the secret key, and the
    signature, the only part that makes it valid, changes every second, so it cannot be learnt that way."""
    login("auditor")
    first = client.csrf_token()
    time.sleep(1.1)
    second = client.csrf_token()
    payload, _, signature = first.partition(".")
    assert second.partition(".")[0] == payload and second != first
    forged = f"{payload}.{'A' * len(signature)}"
    assert client.post("/logout", headers={"X-CSRFToken": forged}).status_code == 400
    assert client.post("/logout", headers={"X-CSRFToken": second}).status_code in (200, 302)


def test_images_are_not_compressed(client):
    response = client.get(_versioned("icons/icon-512.png"), headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert "Content-Encoding" not in response.headers
    response.close()


def test_static_scripts_are_compressed_whole(app, client):
    response = client.get(_versioned("vendor/htmx-2.0.11.min.js"), headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.data) == (ROOT / "static" / "vendor" / "htmx-2.0.11.min.js").read_bytes()
    assert int(response.headers["Content-Length"]) == len(response.data)
    response.close()  # as every WSGI server does: the file is closed with the response


def test_a_current_static_file_is_sent_as_brotli_packed_once_at_best_quality(client):
    """Immutable files are packed tighter than pages (brotli 11, once per version): fewer bytes on a slow link."""
    source = (ROOT / "static" / "vendor" / "htmx-2.0.11.min.js").read_bytes()
    offered = {"Accept-Encoding": "gzip, deflate, br, zstd"}  # what Chromium offers
    first = client.get(_versioned("vendor/htmx-2.0.11.min.js"), headers=offered)
    again = client.get(_versioned("vendor/htmx-2.0.11.min.js"), headers=offered)
    assert first.status_code == again.status_code == 200
    assert first.headers["Content-Encoding"] == "br" and "Accept-Encoding" in first.headers["Vary"]
    assert first.headers["Cache-Control"] == IMMUTABLE
    assert brotli.decompress(first.data) == source and again.data == first.data
    assert int(first.headers["Content-Length"]) == len(first.data) == len(brotli.compress(source, quality=11))
    assert len(first.data) < len(brotli.compress(source, quality=4))  # Flask-Compress's own setting
    assert first.headers["ETag"].endswith(':br"')
    unchanged = client.get(
        _versioned("vendor/htmx-2.0.11.min.js"), headers={**offered, "If-None-Match": first.headers["ETag"]}
    )
    assert unchanged.status_code == 304 and not unchanged.data
    for response in (first, again, unchanged):
        response.close()


def test_a_static_file_not_at_its_current_version_is_packed_as_pages_are(client):
    response = client.get("/static/js/app.js?v=00000000", headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert response.headers["Cache-Control"] == "no-cache" and response.headers["Content-Encoding"] == "zstd"
    response.close()


def test_a_range_request_gets_its_slice_uncompressed(client):
    response = client.get(_versioned("js/app.js"), headers={"Accept-Encoding": "gzip", "Range": "bytes=0-99"})
    assert response.status_code == 206 and "Content-Encoding" not in response.headers
    assert response.data == (ROOT / "static" / "js" / "app.js").read_bytes()[:100]
    response.close()


def test_a_response_already_encoded_is_not_encoded_again(app, client, login):
    """Behind a proxy or a view that compresses, the body goes out as it is."""
    body = gzip.compress(b"<p>already packed</p>" * 200)
    app.add_url_rule(
        "/_packed", "packed", lambda: (body, 200, {"Content-Encoding": "gzip", "Content-Type": "text/html"})
    )
    login()
    response = client.get("/_packed", headers={"Accept-Encoding": "gzip, br, zstd"})
    assert response.headers["Content-Encoding"] == "gzip" and response.data == body


# Static files --------------------------------------------------------------------------------------------


def test_pages_name_static_files_with_their_content_version(app, client, login):
    login()
    page = client.get("/audits/mine").get_data(as_text=True)
    version = static_version("css/app.css")
    assert re.fullmatch(r"[0-9a-f]{8}", version)
    assert f'href="/static/css/app.css?v={version}"' in page
    for src in re.findall(r'<script src="([^"]+)"', page):
        assert re.search(r"\?v=[0-9a-f]{8}$", src), src


def test_the_current_version_of_a_static_file_is_cached_for_a_year(client):
    response = client.get(_versioned("js/app.js"))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    response.close()


@pytest.mark.parametrize("query", ["", "?v=00000000", "?v="])
def test_a_static_file_without_its_current_version_must_be_revalidated(client, query):
    response = client.get(f"/static/js/app.js{query}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    response.close()


def test_a_changed_static_file_gets_a_new_version(app, tmp_path):
    folder = tmp_path / "static"
    folder.mkdir()
    (folder / "a.css").write_text("p { color: red }")
    app.static_folder = str(folder)
    with app.test_request_context():
        before = url_for("static", filename="a.css")
        (folder / "a.css").write_text("p { color: blue; }")
        after = url_for("static", filename="a.css")
    assert before != after and "?v=" in before and "?v=" in after


def test_the_service_worker_is_never_cached_and_precaches_what_pages_name(app, client, login):
    login()
    worker = client.get("/sw.js")
    assert worker.headers["Cache-Control"] == "no-cache"
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", worker.get_data(as_text=True)).group(1))
    page = client.get("/audits/mine").get_data(as_text=True)
    named = re.findall(r'(?:src|href)="(/static/[^"?]+\.(?:js|css)(?:\?v=[0-9a-f]+)?)"', page)
    assert named and set(named) <= set(shell)
    assert all(re.search(r"\?v=[0-9a-f]{8}$", url) for url in shell)


# gunicorn ---------------------------------------------------------------------------------------------


def _settings(database_url, tmp_path):
    return {
        "AUDITAPP_DATABASE_URL": database_url,
        "AUDITAPP_INSTANCE_PATH": str(tmp_path / "served-instance"),
        "AUDITAPP_SECRET_KEY": "served-secret-key",
        "AUDITAPP_EVENT_KEY": "served-event-key",
        "AUDITAPP_PHOTO_DIR": str(tmp_path / "served-photos"),
        "AUDITAPP_CHECKLIST_DIR": str(tmp_path / "checklists"),
    }


@pytest.fixture
def served(app, database_url, tmp_path):
    """gunicorn on the test's database with deploy/gunicorn.conf.py, stopped after the test."""
    with Gunicorn(tmp_path, _settings(database_url, tmp_path)) as server:
        yield server


def test_gunicorn_names_itself_without_a_version(served):
    status, headers, _ = Browserless(served.url).open("/login")
    assert status == 200
    assert headers["Server"] == "gunicorn"
    everything = "\n".join(f"{name}: {value}" for name, value in headers.items())
    assert "Werkzeug" not in everything and "Python/" not in everything and "gunicorn/" not in everything


def test_gunicorn_serves_the_audit_page_compressed(app, served, make_user, shipped_checklists):
    lead = make_user("quality_lead")
    audit = plan_iso_audit(app, lead, make_user("auditor"))
    browser = Browserless(served.url)
    _log_in(browser, lead.email)
    _, plain_headers, plain = browser.open(f"/audits/{audit.id}")
    status, headers, packed = browser.open(f"/audits/{audit.id}", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain_headers
    assert _without_tokens(gzip.decompress(packed)) == _without_tokens(plain)


def _log_in(browser, email):
    """Log in through the form, as a browser does; returns the CSRF token the form carried."""
    _, _, page = browser.open("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.decode()).group(1)
    status, _, home = browser.open("/login", {"csrf_token": token, "email": email, "password": PASSWORD})
    assert status == 200 and b"Log out" in home, home
    return token


def test_the_access_log_is_json_with_the_request_id_and_no_secrets(served, make_user):
    user = make_user("quality_lead")
    browser = Browserless(served.url)
    token = _log_in(browser, user.email)
    status, headers, _ = browser.open("/audits/?q=secret-search-term", headers={"X-Request-ID": "trace-42"})
    assert status == 200 and headers["X-Request-ID"] == "trace-42"
    (session,) = [c.value for c in browser.cookies if c.name == "session"]
    served.stop()  # flushes the log

    records = [json.loads(line) for line in served.access_lines()]
    assert [(r["method"], r["path"], r["status"]) for r in records] == [
        ("GET", "/login", 200),
        ("POST", "/login", 302),
        ("GET", "/audits/", 200),
        ("GET", "/audits/", 200),
    ]
    last = records[-1]
    assert last["request_id"] == "trace-42" and last["client"] == "127.0.0.1" and last["bytes"] > 0
    assert last["duration_ms"] >= 0 and last["user_agent"].startswith("Python-urllib")
    assert all(re.fullmatch(r"[0-9a-f]{32}", r["request_id"]) for r in records[:-1])
    log = served.access_log.read_text()
    for secret in (PASSWORD, session, token, "secret-search-term", user.email):
        assert secret not in log


# scripts/run and the banner ----------------------------------------------------------------------------


def test_the_demo_banner_names_the_address_served(runner, app, shipped_checklists):
    result = runner.invoke(args=["demo", "--url", "http://127.0.0.1:5101"])
    assert result.exit_code == 0, result.output
    (banner,) = [line for line in result.output.splitlines() if "Log in at" in line]
    assert banner == "Demo data ready. Log in at http://127.0.0.1:5101 with:"


def test_run_refuses_an_unknown_flag_before_any_set_up(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "run", tmp_path / "scripts" / "run")
    wrong = subprocess.run(
        ["bash", "scripts/run", "--tablet"], cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert wrong.returncode == 2 and "usage: scripts/run [--phone]" in wrong.stderr
    assert not (tmp_path / ".venv").exists()


@pytest.mark.parametrize(("proxies", "client"), [("0", "127.0.0.1"), ("1", "203.0.113.9")])
def test_the_logged_client_is_the_one_the_app_trusts(app, database_url, tmp_path, proxies, client):
    """X-Forwarded-For is believed only behind AUDITAPP_TRUSTED_PROXIES, by the app; gunicorn adds no trust of its own."""
    settings = {**_settings(database_url, tmp_path), "AUDITAPP_TRUSTED_PROXIES": proxies}
    with Gunicorn(tmp_path, settings) as server:
        status, _, _ = Browserless(server.url).open("/health", headers={"X-Forwarded-For": "203.0.113.9"})
        assert status == 200
    (record,) = [json.loads(line) for line in server.access_lines()]
    assert record["client"] == client
