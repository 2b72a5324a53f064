"""App hosts as separate processes: the `flask` command and gunicorn, each with its own instance folder and
environment, as two production hosts sharing one database would run them."""

import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def host_env(instance: Path, database_url: str, **settings: str) -> dict[str, str]:
    """The environment of one host: this process's, without its AUDITAPP_* settings, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITAPP_")}
    env.update(
        AUDITAPP_INSTANCE_PATH=str(instance),
        AUDITAPP_DATABASE_URL=database_url,
        AUDITAPP_SECRET_KEY="shared-test-secret-key",
        AUDITAPP_EVENT_KEY="shared-test-event-key",
        PYTHONPATH=str(ROOT),
    )
    env.update({f"AUDITAPP_{k}": v for k, v in settings.items()})
    return env


def start_flask(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """`flask --app auditapp ARGS` in a process of its own, output captured."""
    return subprocess.Popen(
        [str(VENV_BIN / "flask"), "--app", "auditapp", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_until_answering(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    """Poll url until it answers (any HTTP status); fail with the server's output if it dies or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}:\n{process.stdout.read()}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def stop(process: subprocess.Popen) -> str:
    """Terminate (SIGTERM, as systemd stops a unit) and return the output."""
    if process.poll() is None:
        process.terminate()
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output or ""


def start_gunicorn(port: int, env: dict[str, str]) -> subprocess.Popen:
    """The app under gunicorn (one worker) on 127.0.0.1:port, as one app host."""
    return subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "-b", f"127.0.0.1:{port}", "-w", "1", "auditapp:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


class Browser:
    """One client of several hosts behind one name (127.0.0.1, ports apart): one cookie jar for all."""

    def __init__(self):
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def get(self, url: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(url))

    def post(self, url: str, form: dict[str, str]) -> tuple[int, str]:
        return self._open(urllib.request.Request(url, data=urllib.parse.urlencode(form).encode()))

    def csrf_token(self, url: str) -> str:
        """The token of the form at url (the login page)."""
        status, page = self.get(url)
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert status == 200 and found, page[:500]
        return found.group(1)

    def _open(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()


def finish(process) -> str:
    try:
        return process.communicate(timeout=60)[0]
    finally:
        stop(process)  # only if it hung: a failing test leaves no process behind


def wait_for_one_to_exit(processes, timeout):
    """Until one has exited; past the timeout (both stuck delivering: no lock) the test goes on to fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and all(p.poll() is None for p in processes):
        time.sleep(0.1)
