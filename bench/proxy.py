"""Answer-saves per second through the reverse proxy (Caddy, TLS) as a ratio to the WSGI server alone.

One run starts gunicorn (deploy/gunicorn.conf.py when present) on a temporary SQLite instance and
Caddy in front of it with its internal CA at https://audit.test (resolved to 127.0.0.1 by the client;
the CA is the only trust anchor, verification on), then sends the same answer-saves from keep-alive
clients straight to gunicorn and through Caddy, alternating twice so neither side gets the warmer
database. Nothing leaves 127.0.0.1.

    .venv/bin/python bench/proxy.py [--requests 600] [--clients 4]
"""

import argparse
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.answer import PYTHON, ROOT, SEED, Client, answer_saves, free_port, run

CADDYFILE = """{{
	admin off
	local_certs
	skip_install_trust
	storage file_system {storage}
	http_port {http_port}
	https_port {https_port}
}}
https://audit.test:{https_port} {{
	tls internal
	encode zstd gzip
	reverse_proxy 127.0.0.1:{app_port}
}}
"""


class TLSClient(Client):
    """The benchmark's keep-alive client, speaking HTTPS to audit.test through the proxy."""

    def __init__(self, port: int, ca: Path):
        super().__init__(port)
        context = ssl.create_default_context(cafile=str(ca))
        self.conn = _Pinned("audit.test", port, context=context, timeout=30)
        self.origin = f"https://audit.test:{port}"

    def request(self, method, path, body=None, headers=None):
        # As a browser does: over HTTPS, Flask-WTF checks that a form was posted from the same origin.
        return super().request(method, path, body, {**(headers or {}), "Referer": f"{self.origin}{path}"})


class _Pinned(http.client.HTTPSConnection):
    """Connects to 127.0.0.1 while speaking TLS (SNI, certificate check) for the host name."""

    def connect(self):
        self.sock = self._context.wrap_socket(
            socket.create_connection(("127.0.0.1", self.port), self.timeout), server_hostname=self.host
        )


def wait_for(check, what: str, seconds: float = 30) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not come up within {seconds:.0f} s")


def start_gunicorn(port: int, env: dict, app: str = "auditapp:create_app()", root: Path = ROOT) -> subprocess.Popen:
    """gunicorn serving the app of the checkout at `root` (gunicorn puts its working folder first on sys.path)."""
    gunicorn = Path(PYTHON).parent / "gunicorn"
    config = root / "deploy" / "gunicorn.conf.py"
    args = ["-c", str(config)] if config.exists() else ["--workers", "2", "--threads", "4"]
    env = {**env, "AUDITAPP_BIND": f"127.0.0.1:{port}", "AUDITAPP_TRUSTED_PROXIES": "1"}
    return subprocess.Popen(
        [str(gunicorn), *args, "--bind", f"127.0.0.1:{port}", app],
        env=env,
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_warm_gunicorn(env: dict) -> tuple[subprocess.Popen, int]:
    """start_gunicorn on a free port, once it answers and each worker has loaded the app (not in a run)."""
    port = free_port()
    server = start_gunicorn(port, env)
    try:
        wait_for(lambda: socket.create_connection(("127.0.0.1", port), 0.2).close() is None, "gunicorn")
        for _ in range(8):  # each worker process loads the app on its first requests
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login").read()
    except BaseException:
        server.terminate()
        raise
    return server, port


def start_caddy(tmp: Path, app_port: int) -> tuple[subprocess.Popen, int, Path]:
    https_port = free_port()
    caddyfile = tmp / "Caddyfile"
    caddyfile.write_text(
        CADDYFILE.format(storage=tmp / "caddy", http_port=free_port(), https_port=https_port, app_port=app_port)
    )
    caddy = shutil.which("caddy") or "/usr/bin/caddy"
    process = subprocess.Popen(
        [caddy, "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ca = tmp / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    wait_for(ca.exists, "Caddy's local CA")
    return process, https_port, ca


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        env = {**os.environ, "AUDITAPP_INSTANCE_PATH": str(tmp / "instance"), "AUDITAPP_SECRET_KEY": "bench"}
        env.pop("AUDITAPP_DATABASE_URL", None)
        seeded = subprocess.run([PYTHON, "-c", SEED], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
        data = json.loads(seeded.stdout.strip().splitlines()[-1])
        app_port = free_port()
        processes = [start_gunicorn(app_port, env)]
        try:
            wait_for(lambda: socket.create_connection(("127.0.0.1", app_port), 0.2).close() is None, "gunicorn")
            caddy, https_port, ca = start_caddy(tmp, app_port)
            processes.append(caddy)
            answer = answer_saves(data["audit"], data["items"], args.clients, {})
            direct = lambda: Client(app_port)  # noqa: E731
            proxied = lambda: TLSClient(https_port, ca)  # noqa: E731
            wait_for(lambda: proxied().request("GET", "/login")[0] == 200, "Caddy's HTTPS site")
            rates: dict[str, list[float]] = {"direct": [], "proxy": []}
            run(None, 100, args.clients, answer, connect=direct)  # warm-up, both paths
            run(None, 100, args.clients, answer, connect=proxied)
            for _ in range(2):
                rates["direct"].append(run(None, args.requests, args.clients, answer, connect=direct))
                rates["proxy"].append(run(None, args.requests, args.clients, answer, connect=proxied))
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)
    direct_rate, proxy_rate = max(rates["direct"]), max(rates["proxy"])
    print(
        f"auditapp answer-saves through the proxy: {args.requests} saves per run, {args.clients} keep-alive clients, "
        "gunicorn + Caddy (TLS, internal CA), SQLite WAL, loopback; best of 2 alternating runs"
    )
    print(f"{'path':<34}{'saves/s':>10}")
    print(f"{'gunicorn alone (HTTP)':<34}{direct_rate:>10.0f}")
    print(f"{'Caddy -> gunicorn (HTTPS)':<34}{proxy_rate:>10.0f}")
    print(f"ratio proxy/direct: {proxy_rate / direct_rate:.2f}")


if __name__ == "__main__":
    main()
