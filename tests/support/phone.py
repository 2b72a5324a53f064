"""scripts/serve_phone.py for real (gunicorn behind Caddy with its local CA) on free ports, stopped by the
test, and a headless Chromium that trusts that CA through an NSS database, as a phone would after set-up."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .browser import CHROMIUM, CHROMIUM_ARGS
from .ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "serve_phone.py"


def needs(binary: str, package: str) -> str:
    """The binary's path; skipped when missing, except in CI, where scripts/test installs it."""
    found = shutil.which(binary)
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail(f"{binary} is missing; CI must install Debian's {package} package (scripts/test)")
    pytest.skip(f"{binary} is not installed (Debian: apt-get install {package})")


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (gunicorn, its workers, Caddy), read from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class PhoneServer:
    """scripts/serve_phone.py with the given AUDITAPP_* settings; its output goes to `folder`/serve_phone.out."""

    def __init__(self, folder: Path, settings: dict[str, str], host: str = "127.0.0.1", https_port: int = 0):
        needs("caddy", "caddy")
        folder.mkdir(parents=True, exist_ok=True)
        self.instance = folder / "instance"
        self.ca = self.instance / "caddy" / "pki" / "authorities" / "local" / "root.crt"
        self.https_port, self.setup_port = https_port or free_port(), free_port()
        self.output = folder / "serve_phone.out"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITAPP_")}
        env.update(
            settings,
            AUDITAPP_INSTANCE_PATH=str(self.instance),
            AUDITAPP_PHONE_HOST=host,
            AUDITAPP_HTTPS_PORT=str(self.https_port),
            AUDITAPP_SETUP_PORT=str(self.setup_port),
            PORT=str(free_port()),
            PYTHONPATH=str(ROOT),  # this checkout's auditapp, whatever the venv has installed
        )
        with open(self.output, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(SCRIPT)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def start(self) -> "PhoneServer":
        """Wait until it prints its banner, and read the addresses and the fingerprint from it."""
        try:
            self.banner = self._wait_for_banner()
        except AssertionError:
            self.stop()
            raise
        self.https_url = re.search(r"App \(HTTPS\):\s+(\S+)", self.banner)[1]
        self.setup_url = re.search(r"Phone set-up:\s+(\S+)", self.banner)[1]
        self.fingerprint = re.search(r"SHA-256 ([0-9A-F:]+)", self.banner)[1]
        return self

    def _wait_for_banner(self, seconds: float = 60) -> str:
        deadline = time.monotonic() + seconds
        while True:
            text = self.output.read_text(errors="replace")
            if "Ctrl-C stops." in text:
                return text
            assert self.process.poll() is None, f"serve_phone.py exited {self.process.returncode}:\n{text}"
            assert time.monotonic() < deadline, f"serve_phone.py not ready within {seconds} s:\n{text}"
            time.sleep(0.1)

    def stop(self) -> int:
        """SIGTERM, as systemd or a terminal's Ctrl-C would; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            for pid in descendants(self.process.pid):
                os.kill(pid, signal.SIGKILL)
            self.process.kill()
            raise

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def nss_home(folder: Path, ca: Path) -> Path:
    """A HOME whose .pki/nssdb trusts `ca` for websites: where Chromium on Linux reads user CAs."""
    certutil = needs("certutil", "libnss3-tools")
    nssdb = folder / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run([certutil, "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True)
    subprocess.run([certutil, "-A", "-d", f"sql:{nssdb}", "-n", "local-ca", "-t", "C,,", "-i", str(ca)], check=True)
    return folder


def trusting_phone(browser, home: Path, host: str):
    """A phone-shaped Chromium with its own profile, trusting the CA in `home`, resolving `host` to loopback.

    Launched through the session browser's Playwright (one Playwright per thread); no
    --ignore-certificate-errors: a certificate Chromium does not trust fails the test."""
    return browser.browser_type.launch_persistent_context(
        str(home / "profile"),
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {host} 127.0.0.1"],
        env={**os.environ, "HOME": str(home)},
        viewport={"width": 412, "height": 839},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )


def settings_of(app) -> dict[str, str]:
    """The test app's database, keys and folders, for a server process that shares its data."""
    return {
        "AUDITAPP_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "AUDITAPP_SECRET_KEY": app.config["SECRET_KEY"],
        "AUDITAPP_EVENT_KEY": app.config["EVENT_KEY"],
        "AUDITAPP_PHOTO_DIR": app.config["PHOTO_DIR"],
        "AUDITAPP_CHECKLIST_DIR": app.config["CHECKLIST_DIR"],
    }
