"""The README's production section, followed command by command on this machine (issue 12): a fresh
clone installed into its own virtualenv, the env file, the systemd units' own command lines, PostgreSQL,
Redis, the production Caddyfile in front, a job run and the first backup; then a quality lead logs in
through the proxy over HTTPS. tests/support/walkthrough.py says what stands in for root and systemd.

It installs the package from a clone (about a minute, needs the package index or pip's cache) and runs
in the suite's PostgreSQL pass: PostgreSQL is the production database."""

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from .support.caddy import https_client
from .support.gunicorn import ROOT
from .support.phone import needs
from .support.ports import free_port
from .support.redis import redis_server
from .support.walkthrough import moved, production_blocks, write_shims

POSTGRES_URL = os.environ.get("AUDITAPP_TEST_DATABASE_URL", "")
PASSWORD = "a long first password 1"

pytestmark = pytest.mark.skipif(
    not POSTGRES_URL.startswith("postgresql"), reason="production is PostgreSQL: runs in the PostgreSQL pass"
)


@pytest.fixture
def fresh_database():
    """An empty PostgreSQL database of its own on the test server, dropped after."""
    name = f"readme_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_the_production_section_works_as_written(tmp_path, fresh_database):
    needs("caddy", "caddy")
    root = tmp_path / "root"
    for path in ("etc/systemd/system", "run", "home"):
        (root / path).mkdir(parents=True)
    bind, https_port = free_port(), free_port()
    with redis_server() as redis_url:
        settings = {
            "AUDITAPP_DATABASE_URL": fresh_database,
            "PGSSLROOTCERT": None,  # the test server speaks no TLS
            "AUDITAPP_SECRET_KEY": "0" * 64,
            "AUDITAPP_EVENT_KEY": "1" * 64,
            "AUDITAPP_RATELIMIT_STORAGE_URI": redis_url,
            "AUDITAPP_BIND": f"127.0.0.1:{bind}",
            "AUDITAPP_BASE_URL": "https://audit.test",
            "AUDITAPP_SMTP_HOST": None,  # no mail server here: reminders are off (the job still runs)
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AUDITAPP_", "PYTHON"))}
        env.update(
            PATH=f"{write_shims(root / 'shim', sys.executable)}:{env['PATH']}",
            HOME=str(root / "home"),
            PYTHONPATH=str(ROOT),  # for the caddy stand-in only; the app runs from the clone's venv
            WALKTHROUGH_ROOT=str(root),
            WALKTHROUGH_HTTPS_PORT=str(https_port),
            WALKTHROUGH_SETTINGS=json.dumps({k: moved(v, root) if v else v for k, v in settings.items()}),
        )
        try:
            for number, block in enumerate(production_blocks(), 1):
                script = moved(block, root)
                script = script.replace("audits.example.com", "audit.test")
                script = script.replace("10.0.0.5:5000 10.0.0.6:5000", f"127.0.0.1:{bind}")
                done = subprocess.run(
                    ["bash", "-euo", "pipefail", "-c", script],
                    cwd=root,
                    env=env,
                    input=f"{PASSWORD}\n{PASSWORD}\n",
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                assert done.returncode == 0, (
                    f"README production block {number} failed:\n{script}\n{done.stdout}\n{done.stderr}"
                )
            check_the_site(root, https_port)
        finally:
            for pid_file in (root / "run").glob("*.pid"):
                stop(int(pid_file.read_text()))


def check_the_site(root: Path, https_port: int) -> None:
    """What the README promises once its commands have run."""
    enabled = sorted(path.name for path in (root / "run").glob("*.timer.enabled"))
    assert enabled == [f"auditapp-{job}.timer.enabled" for job in ("checkpoint", "cleanup", "reminders")]
    ca = root / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    browser = https_client("audit.test", https_port, ca)
    status, headers, body = wait_for(lambda: browser.open("/ready"))
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    assert "Server" not in headers and headers["Strict-Transport-Security"]
    _, _, page = browser.open("/login")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
    status, headers, page = browser.open(
        "/login", {"csrf_token": token, "email": "lead@example.com", "password": PASSWORD}
    )
    assert status == 200 and b'data-user="lead@example.com"' in page
    session = [cookie for cookie in browser.cookies if cookie.name == "session"]
    assert session and all(cookie.secure for cookie in session)  # cookies only over HTTPS (SECURE_COOKIES=1)
    backup = root / "var/lib/auditapp/backup-first.tar.gz"
    assert backup.exists() and backup.stat().st_mode & 0o077 == 0


def wait_for(request, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while True:
        try:
            answer = request()
            if answer[0] == 200 or time.monotonic() > deadline:
                return answer
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.3)


def stop(pid: int) -> None:
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.waitpid(pid, os.WNOHANG)
            os.kill(pid, 0)
        except (ChildProcessError, ProcessLookupError):
            return
        time.sleep(0.1)
