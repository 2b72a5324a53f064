"""Two app hosts behind the production proxy, as issue 12's acceptance asks: two gunicorn servers with
their own instance folders, one database (PostgreSQL in the suite's PostgreSQL pass), one S3-compatible
server (SeaweedFS), one Redis for login throttles, and deploy/caddy/Caddyfile in front balancing over both.

A photo uploaded through one host is served by the other, a login throttle counts across both, and a
reminder run started on both hosts at once e-mails each reminder once. Which host answered is read from
the hosts' own JSON access logs, by the request id every response carries."""

import json
import re
import threading
import time
import uuid

import pytest

from auditapp.capa.models import ReminderSent
from auditapp.extensions import db
from auditapp.photos.models import Photo

from .support.accounts import PASSWORD
from .support.audits import items_of
from .support.caddy import ProductionProxy
from .support.capa import plan_due_actions
from .support.gunicorn import Gunicorn
from .support.hosts import finish, host_env, start_flask, wait_for_one_to_exit
from .support.mail import smtp_server
from .support.photos import jpeg
from .support.redis import redis_server

LOGIN_LIMIT = 6  # failed logins per client address and hour, across every host


@pytest.fixture
def site(app, tmp_path, seaweedfs, s3_settings):
    """(proxy, hosts, env of each host): the whole site, stopped after the test."""
    with redis_server() as redis_url:
        shared = {
            **{f"AUDITAPP_{k}": v for k, v in s3_settings.items()},
            "AUDITAPP_CHECKLIST_DIR": app.config["CHECKLIST_DIR"],
            "AUDITAPP_RATELIMIT_STORAGE_URI": redis_url,
            "AUDITAPP_LOGIN_RATE_LIMIT": f"{LOGIN_LIMIT} per hour",
            "AUDITAPP_TRUSTED_PROXIES": "1",
            "AUDITAPP_SECURE_COOKIES": "1",
            "AUDITAPP_BASE_URL": "https://audit.test",
        }
        envs = []
        for n in (1, 2):
            (tmp_path / f"host{n}").mkdir()
            settings = {k[len("AUDITAPP_") :]: v for k, v in shared.items()}
            envs.append(host_env(tmp_path / f"host{n}", app.config["SQLALCHEMY_DATABASE_URI"], **settings))
        hosts = [Gunicorn(tmp_path / f"host{n}", _app_settings(env)) for n, env in zip((1, 2), envs, strict=True)]
        try:
            with ProductionProxy(tmp_path, "audit.test", [h.url.removeprefix("http://") for h in hosts]) as proxy:
                yield proxy, hosts, envs
        finally:
            for host in hosts:
                host.stop()


def _app_settings(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith("AUDITAPP_") or k == "PYTHONPATH"}


def served_by(hosts, response_headers) -> int:
    """Which host (0 or 1) answered, from the request id in its access log."""
    request_id = response_headers["X-Request-ID"]
    deadline = time.monotonic() + 10
    while True:  # gunicorn writes the line just after the response has gone out
        found = [n for n, host in enumerate(hosts) if any(request_id in line for line in host.access_lines())]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(found) == 1, (request_id, found)
    return found[0]


def log_in(browser, email, password=PASSWORD):
    _, _, page = browser.open("/login")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
    status, headers, _ = browser.open("/login", {"csrf_token": token, "email": email, "password": password})
    return status, headers


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    ]
    for name, (filename, content) in files.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        parts.append(head.encode() + b"Content-Type: image/jpeg\r\n\r\n" + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_a_photo_uploaded_through_one_host_is_served_by_the_other(site, plan, make_user):
    proxy, hosts, _ = site
    lead = make_user("auditor")
    audit = plan(lead=lead)
    item = items_of(audit)["7.1.5-gauges"]
    browser = proxy.client()
    assert log_in(browser, lead.email)[0] == 200
    _, _, page = browser.open(f"/audits/{audit.id}")
    token = re.search(rb'"X-CSRFToken": "([^"]+)"', page).group(1).decode()
    body, content_type = multipart({"item_id": str(item.id)}, {"photo": ("gauge.jpg", jpeg())})
    headers = {"Content-Type": content_type, "X-CSRFToken": token, "HX-Request": "true"}
    status, answer, _ = browser.open(f"/audits/{audit.id}/photos", body, headers)
    assert status == 200
    uploaded_on = served_by(hosts, answer)
    photo = db.session.scalar(db.select(Photo).where(Photo.audit_id == audit.id))
    assert photo is not None
    # Round robin: of two requests in a row, one goes to the other host.
    seen = {}
    for _ in range(2):
        status, headers, data = browser.open(f"/photos/{photo.id}")
        assert status == 200 and data[:2] == b"\xff\xd8"
        seen[served_by(hosts, headers)] = data
    assert set(seen) == {0, 1} and 1 - uploaded_on in seen
    assert seen[0] == seen[1]


def test_a_login_throttle_counts_across_both_hosts(site):
    proxy, hosts, _ = site
    browser = proxy.client()
    answered_by = []
    for n in range(LOGIN_LIMIT):
        if n % 2:  # each login is two requests (form, post): one more shifts the post to the other host
            browser.open("/health")
        status, headers = log_in(browser, f"guess{n}@example.com", "not-the-password-1")
        assert status == 401
        answered_by.append(served_by(hosts, headers))
    assert set(answered_by) == {0, 1}  # the failures were spread over both hosts
    refused_by = set()
    for n in range(2):
        if n % 2:
            browser.open("/health")
        status, headers = log_in(browser, f"more{n}@example.com", "not-the-password-1")
        assert status == 429
        refused_by.add(served_by(hosts, headers))
    assert refused_by == {0, 1}


def test_a_reminder_run_on_both_hosts_at_once_sends_each_email_once(site, make_user):
    _, _, envs = site
    owed = plan_due_actions(make_user)
    gate = threading.Event()  # holds each delivery until one run has finished: the two runs overlap
    with smtp_server(gate) as (inbox, port):
        runs = [
            start_flask(
                ["actions", "remind"], {**env, "AUDITAPP_SMTP_HOST": "127.0.0.1", "AUDITAPP_SMTP_PORT": str(port)}
            )
            for env in envs
        ]
        wait_for_one_to_exit(runs, timeout=60)
        gate.set()
        outputs = [finish(run) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert sorted(out.strip().splitlines()[-1] for out in outputs) == sorted(
        [f"{owed} reminders sent (smtp)", "another host is running reminders; skipped"]
    ), outputs
    deliveries = inbox.deliveries()
    assert len(deliveries) == owed == len(set(deliveries))
    assert db.session.scalar(db.select(db.func.count(ReminderSent.id))) == owed
    assert json.dumps(outputs).count("Traceback") == 0
