"""A real gunicorn serving the app with deploy/gunicorn.conf.py, on a free port, stopped by the test."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from .ports import free_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "gunicorn.conf.py"


def gunicorn_binary() -> str:
    """The venv's gunicorn; skipped when missing, except in CI, where it must be there."""
    found = Path(sys.executable).with_name("gunicorn")
    if found.exists():
        return str(found)
    on_path = shutil.which("gunicorn")
    if on_path:
        return on_path
    if os.environ.get("CI") == "true":
        pytest.fail("gunicorn is missing; it is a dependency of auditapp (pip install -e .)")
    pytest.skip("gunicorn is not installed in this environment")


def stop_process(process: subprocess.Popen) -> None:
    """SIGTERM (as systemd stops a unit), then SIGKILL if it has not gone in 15 s."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class Gunicorn:
    """`gunicorn -c deploy/gunicorn.conf.py` with the given AUDITAPP_* settings; stdout (the access log)
    and stderr go to files under `folder`."""

    def __init__(self, folder: Path, settings: dict[str, str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_log = folder / "access.log"
        self.error_log = folder / "error.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITAPP_")}
        env.update(settings, PORT=str(self.port), HOST="127.0.0.1", AUDITAPP_WORKERS="1")
        with open(self.access_log, "wb") as out, open(self.error_log, "wb") as err:
            self.process = subprocess.Popen(
                [gunicorn_binary(), "-c", str(CONFIG)], cwd=ROOT, env=env, stdout=out, stderr=err
            )
        self._wait()

    def _wait(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while True:
            assert self.process.poll() is None, (
                f"gunicorn exited {self.process.returncode}:\n{self.error_log.read_text()}"
            )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                assert time.monotonic() < deadline, f"gunicorn did not listen within {seconds} s"
                time.sleep(0.1)

    def stop(self) -> None:
        stop_process(self.process)

    def access_lines(self) -> list[str]:
        return self.access_log.read_text().splitlines()

    def __enter__(self) -> "Gunicorn":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Browserless:
    """A cookie-keeping HTTP client, as a browser without JavaScript: answers as (status, headers, body)."""

    def __init__(self, base: str, *handlers: urllib.request.BaseHandler):
        self.base = base
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), *handlers)

    def open(self, path: str, data: dict | bytes | None = None, headers: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
        # As a browser does; over HTTPS Flask-WTF refuses a form posted without a same-origin Referer.
        headers = {"Referer": self.base + path, **(headers or {})}
        request = urllib.request.Request(self.base + path, data=body, headers=headers)
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.headers, exc.read()
