#!/usr/bin/env python3
"""Serve auditapp over HTTPS to phones on this network: gunicorn on loopback, Caddy in front with its own CA.

`scripts/run --phone` sets up the instance (virtualenv, install, migrations, demo data) and runs this.
Settings, from the environment:
  AUDITAPP_PHONE_HOST   the address phones use: an IP or a name of this machine (found by itself: the LAN address)
  AUDITAPP_HTTPS_PORT   the app over HTTPS (8443)
  AUDITAPP_SETUP_PORT   the plain-HTTP set-up page that offers the CA certificate (8080)
  PORT                  gunicorn's port on 127.0.0.1, behind Caddy (5000)
Caddy's CA and certificates are kept in <instance>/caddy/, so a phone trusts the CA once, whatever restarts.
Ctrl-C or SIGTERM stops both servers.
"""

import http.client
import io
import ipaddress
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import segno

from auditapp.config import instance_path
from auditapp.pwa.setup import fingerprint

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "caddy" / "site-local.Caddyfile"
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
READY_SECONDS = 60


class Stop(Exception):
    """Ctrl-C or SIGTERM: stop both servers."""


def lan_address() -> str:
    """The address phones on this network reach this machine at (AUDITAPP_PHONE_HOST overrides it)."""
    override = os.environ.get("AUDITAPP_PHONE_HOST", "").strip()
    if override:
        return override
    # Connecting a UDP socket sends nothing; it only asks the kernel which local address routes there.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            address = probe.getsockname()[0]
        except OSError:
            address = ""
    if address and not address.startswith("127."):
        return address
    found = subprocess.run(["hostname", "-I"], capture_output=True, text=True, check=False).stdout.split()
    ipv4 = [a for a in found if "." in a and not a.startswith("127.")]
    if ipv4:
        return ipv4[0]
    print("No network address found: serving on 127.0.0.1 (this machine only).", file=sys.stderr)
    return "127.0.0.1"


def port_setting(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


class Site(NamedTuple):
    host: str  # as written in URLs: an IPv6 address in brackets
    https_port: int
    setup_port: int
    app_port: int

    @property
    def https_url(self) -> str:
        return f"https://{self.host}:{self.https_port}"

    @property
    def setup_url(self) -> str:
        return f"http://{self.host}:{self.setup_port}/setup"


def site_from_env() -> Site:
    return Site(
        url_host(lan_address()),
        port_setting("AUDITAPP_HTTPS_PORT", 8443),
        port_setting("AUDITAPP_SETUP_PORT", 8080),
        port_setting("PORT", 5000),
    )


def ensure_caddy() -> str:
    """The caddy binary; as root on Debian it is installed first, as scripts/run installs Pango."""
    found = shutil.which("caddy")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("Installing Debian's caddy package...", file=sys.stderr)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        # Debian's package also enables its own caddy.service (port 80, /etc/caddy/Caddyfile); this script
        # runs a separate Caddy with its own configuration and storage.
        updated = subprocess.run(["apt-get", "update", "-qq"], env=env).returncode == 0
        if updated:
            subprocess.run(["apt-get", "install", "-y", "-qq", "caddy"], env=env, stdout=subprocess.DEVNULL)
        found = shutil.which("caddy")
    if not found:
        sys.exit(
            "scripts/serve_phone.py needs Caddy for HTTPS: install it with `apt-get install caddy`"
            " (Debian, Ubuntu; as root), then run this again."
        )
    return found


def write_caddyfile(folder: Path, values: dict[str, str]) -> Path:
    """The site-local Caddyfile with this machine's values filled in, kept beside the CA it uses."""
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace("{$" + name + "}", value)
    path = folder / "Caddyfile"
    path.write_text(text)
    return path


def start_caddy(caddy: str, caddyfile: Path, folder: Path) -> subprocess.Popen:
    # Caddy saves its last config under XDG_CONFIG_HOME: kept in the instance too, not in the user's home.
    env = {**os.environ, "XDG_CONFIG_HOME": str(folder / "config"), "XDG_DATA_HOME": str(folder / "data")}
    with (folder / "caddy.log").open("ab") as log:  # Caddy keeps its own copy of the file descriptor
        return subprocess.Popen(
            [caddy, "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,  # Ctrl-C reaches this script only, which stops the servers in order
        )


def start_gunicorn(app_port: int, https_url: str, ca: Path) -> subprocess.Popen:
    bind = f"127.0.0.1:{app_port}"
    env = {
        **os.environ,
        "AUDITAPP_BIND": bind,
        "AUDITAPP_SECURE_COOKIES": "1",
        "AUDITAPP_TRUSTED_PROXIES": "1",  # Caddy, on this machine
        "AUDITAPP_BASE_URL": https_url,
        "AUDITAPP_CA_CERT": str(ca),
        # One process: login throttles are counted in its memory (AUDITAPP_RATELIMIT_STORAGE_URI=memory://).
        "AUDITAPP_WORKERS": os.environ.get("AUDITAPP_WORKERS") or "1",
    }
    if GUNICORN_CONF.exists():
        command = ["-c", str(GUNICORN_CONF)]
    else:
        command = ["--bind", bind, "--threads", "4", "--no-control-socket", "auditapp:create_app()"]
    return subprocess.Popen([sys.executable, "-m", "gunicorn", *command], env=env, cwd=ROOT, start_new_session=True)


def probe_address(host: str) -> str:
    """Where this script reaches its own servers: the host itself, or loopback for a name that does not resolve."""
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    try:
        return socket.gethostbyname(host)
    except OSError:
        return "127.0.0.1"


class PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to `host` (certificate checked for that name) at a given address."""

    def __init__(self, address: str, host: str, port: int, context: ssl.SSLContext):
        super().__init__(host, port, timeout=5, context=context)
        self.address = address

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]


def answers(connection: http.client.HTTPConnection, path: str, headers: dict[str, str] | None = None) -> bool:
    try:
        connection.request("GET", path, headers=headers or {})
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def wait_until_ready(children: list[subprocess.Popen], site: Site, ca: Path) -> None:
    """Wait for the CA, then for the app through Caddy over verified HTTPS and over the set-up site."""
    host = site.host.strip("[]")
    address = probe_address(host)
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            raise RuntimeError("a server stopped while starting")
        if ca.exists():
            context = ssl.create_default_context(cafile=str(ca))
            https = PinnedHTTPS(address, host, site.https_port, context)
            setup = http.client.HTTPConnection(address, site.setup_port, timeout=5)
            if answers(https, "/login") and answers(setup, "/setup", {"Host": f"{site.host}:{site.setup_port}"}):
                return
        time.sleep(0.2)
    raise RuntimeError(f"not ready after {READY_SECONDS} s")


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def banner(https_url: str, setup_url: str, ca: Path) -> str:
    qr = io.StringIO()
    segno.make(setup_url, error="m").terminal(out=qr, compact=True)
    return "\n".join(
        [
            "",
            "auditapp is served to phones on this network.",
            f"  App (HTTPS):      {https_url}",
            f"  Phone set-up:     {setup_url}   (scan the code below)",
            f"  CA fingerprint:   SHA-256 {fingerprint(ca.read_bytes())}",
            "",
            qr.getvalue(),
            "First time on a phone: open the set-up page, install the certificate after checking that the",
            "fingerprint on the page is the one above, then continue to the app. Ctrl-C stops.",
            "",
        ]
    )


def last_lines(path: Path, count: int = 5) -> list[str]:
    return path.read_text(errors="replace").splitlines()[-count:] if path.exists() else []


def _raise_stop(signum: int, frame: object) -> None:
    raise Stop


def stop(children: list[subprocess.Popen]) -> None:
    """SIGTERM to each server (gunicorn lets running requests finish), SIGKILL to any still up after 30 s."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + 30
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def serve(caddy: str, site: Site, folder: Path) -> int:
    """Start both servers, print the banner once they answer, and run until one stops or we are told to."""
    ca = folder / "pki" / "authorities" / "local" / "root.crt"
    caddyfile = write_caddyfile(
        folder,
        {
            "AUDITAPP_HOST": site.host,
            "AUDITAPP_HTTPS_PORT": str(site.https_port),
            "AUDITAPP_SETUP_PORT": str(site.setup_port),
            "AUDITAPP_UPSTREAM": f"127.0.0.1:{site.app_port}",
            "AUDITAPP_CADDY_DIR": str(folder),
        },
    )
    children: list[subprocess.Popen] = []
    try:
        children.append(start_gunicorn(site.app_port, site.https_url, ca))
        children.append(start_caddy(caddy, caddyfile, folder))
        wait_until_ready(children, site, ca)
        print(banner(site.https_url, site.setup_url, ca), flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print(f"A server stopped. Caddy's last words ({folder / 'caddy.log'}):", file=sys.stderr)
    except Stop:
        return 0
    except RuntimeError as error:
        print(f"Could not serve: {error}. Caddy's last words ({folder / 'caddy.log'}):", file=sys.stderr)
    finally:
        # Told twice (a second Ctrl-C), we still stop both servers rather than leave one behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop(children)
    print(*last_lines(folder / "caddy.log"), sep="\n", file=sys.stderr)
    return 1


def main() -> int:
    caddy = ensure_caddy()
    folder = instance_path() / "caddy"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # it will hold the CA's private key
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    return serve(caddy, site_from_env(), folder)


if __name__ == "__main__":
    sys.exit(main())
