"""The README's first command on a fresh clone, for real: `scripts/run` sets up (virtualenv, install,
migrations, demo data) and serves with gunicorn; the demo auditor logs in. Then `scripts/run --phone`
serves the same instance over HTTPS with Caddy's local CA, as a phone would reach it. The time from the
clone to the phone-ready server is printed (pip's cache makes it what a second machine would see).

Marker slow_install: it installs the package into the clone's own virtualenv (needs the package index or
pip's cache), so it runs in the SQLite pass only."""

import json
import os
import re
import signal
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from .support.gunicorn import ROOT, Browserless
from .support.phone import needs
from .support.ports import free_port

pytestmark = pytest.mark.slow_install


class Run:
    """`scripts/run ARGS` in the clone, its output in a file, stopped with SIGTERM like Ctrl-C."""

    def __init__(self, clone: Path, args: list[str], env: dict[str, str]):
        self.output = clone / f"run{'-'.join(args)}.out"
        with open(self.output, "wb") as out:
            self.process = subprocess.Popen(
                ["bash", "scripts/run", *args],
                cwd=clone,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_for(self, pattern: str, seconds: float = 600) -> re.Match:
        deadline = time.monotonic() + seconds
        while True:
            text = self.output.read_text(errors="replace")
            if found := re.search(pattern, text):
                return found
            assert self.process.poll() is None, f"scripts/run exited {self.process.returncode}:\n{text[-4000:]}"
            assert time.monotonic() < deadline, f"no {pattern!r} within {seconds} s:\n{text[-4000:]}"
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def test_scripts_run_sets_up_and_serves_a_fresh_clone_then_serves_phones_over_https(tmp_path):
    needs("caddy", "caddy")
    started = time.monotonic()
    clone = tmp_path / "auditapp"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUDITAPP_", "PYTHON", "VIRTUAL_ENV"))}
    port = free_port()
    run = Run(clone, [], {**env, "PORT": str(port)})
    try:
        run.wait_for(rf"Log in at http://127\.0\.0\.1:{port}\b")
        browser = Browserless(f"http://127.0.0.1:{port}")
        status, headers, page = wait_until_ok(lambda: browser.open("/login"))
        assert status == 200 and headers["Server"] == "gunicorn"  # the production server, no version
        password = json.loads((clone / "instance" / "demo-credentials.json").read_text())["auditor@example.com"]
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
        status, _, home = browser.open(
            "/login", {"csrf_token": token, "email": "auditor@example.com", "password": password}
        )
        assert status == 200 and b'data-user="auditor@example.com"' in home
    finally:
        run.stop()

    https_port, setup_port = free_port(), free_port()
    phone_env = {
        **env,
        "PORT": str(free_port()),
        "AUDITAPP_PHONE_HOST": "127.0.0.1",
        "AUDITAPP_HTTPS_PORT": str(https_port),
        "AUDITAPP_SETUP_PORT": str(setup_port),
    }
    phone = Run(clone, ["--phone"], phone_env)
    try:
        fingerprint = phone.wait_for(r"SHA-256 ([0-9A-F:]+)")[1]
        phone.wait_for(r"Ctrl-C stops\.")
        ready = time.monotonic() - started
        ca = clone / "instance" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
        context = ssl.create_default_context(cafile=str(ca))
        with urllib.request.urlopen(f"https://127.0.0.1:{https_port}/login", context=context, timeout=30) as answer:
            assert answer.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{setup_port}/setup", timeout=30) as setup:
            assert fingerprint in setup.read().decode()
        print(f"\nfresh clone to a phone-ready HTTPS server: {ready:.0f} s (both set-ups, one demo run between)")
    finally:
        phone.stop()


def wait_until_ok(request, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while True:
        try:
            answer = request()
            if answer[0] == 200:
                return answer
        except OSError:
            pass
        assert time.monotonic() < deadline, "no 200 in time"
        time.sleep(0.2)
