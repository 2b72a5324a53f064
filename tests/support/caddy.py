"""deploy/caddy/Caddyfile (the production proxy) run for real on loopback, and an HTTPS client for it.

The production file asks an ACME authority for the public name's certificate, which a test cannot
reach; so the file is adapted to Caddy's JSON by Caddy itself and only the certificate issuer (Caddy's
internal CA instead of ACME), the ports and the storage folder are changed. Routes, compression, headers
and load balancing are the file's own."""

import functools
import http.client
import json
import socket
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

from .gunicorn import ROOT, Browserless, stop_process
from .phone import needs
from .ports import free_port

CADDYFILE = ROOT / "deploy" / "caddy" / "Caddyfile"


def on_loopback(config: dict, storage: Path, https_port: int) -> dict:
    """Caddy's JSON of the production file, changed to run on loopback: certificates from Caddy's internal
    CA (kept in `storage`) instead of ACME, the HTTPS site on 127.0.0.1:https_port, no admin endpoint."""
    config["admin"] = {"disabled": True}
    config["storage"] = {"module": "file_system", "root": str(storage)}
    http_app = config["apps"]["http"]
    http_app["http_port"], http_app["https_port"] = free_port(), https_port
    for server in http_app["servers"].values():
        server["listen"] = [f"127.0.0.1:{https_port}"]
    for policy in config["apps"]["tls"]["automation"]["policies"]:
        policy["issuers"] = [{"module": "internal"}]
    return config


class ProductionProxy:
    """Caddy with deploy/caddy/Caddyfile for `domain`, balancing over `upstreams` (host:port)."""

    def __init__(self, folder: Path, domain: str, upstreams: list[str]):
        caddy = needs("caddy", "caddy")
        self.domain, self.port = domain, free_port()
        self.ca = folder / "caddy" / "pki" / "authorities" / "local" / "root.crt"
        settings = {"AUDITAPP_DOMAIN": domain, "AUDITAPP_UPSTREAM": " ".join(upstreams)}
        adapted = subprocess.run(
            [caddy, "adapt", "--adapter", "caddyfile", "--config", str(CADDYFILE)],
            env={"PATH": "/usr/bin:/bin", **settings, "AUDITAPP_ACME_EMAIL": "ops@example.com"},
            capture_output=True,
            text=True,
            check=True,
        )
        config = on_loopback(json.loads(adapted.stdout), folder / "caddy", self.port)
        (folder / "caddy.json").write_text(json.dumps(config))
        self.log = folder / "caddy.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [caddy, "run", "--config", str(folder / "caddy.json")], stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self._wait()
        except BaseException:
            self.stop()  # never leave a running Caddy (or its Popen) behind a failed start
            raise

    def _wait(self, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while True:
            assert self.process.poll() is None, f"caddy exited:\n{self.log.read_text()[-3000:]}"
            if self.ca.exists():
                try:
                    status, _, _ = self.client().open("/health")
                    if status == 200:
                        return
                except OSError:
                    pass
            assert time.monotonic() < deadline, f"caddy did not serve within {seconds} s:\n{self.log.read_text()}"
            time.sleep(0.2)

    def client(self) -> Browserless:
        return https_client(self.domain, self.port, self.ca)

    def stop(self) -> None:
        stop_process(self.process)

    def __enter__(self) -> "ProductionProxy":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def https_client(domain: str, port: int, ca: Path) -> Browserless:
    """A cookie-keeping HTTPS client of https://domain:port on 127.0.0.1, trusting only the CA `ca`."""
    context = ssl.create_default_context(cafile=str(ca))
    return Browserless(f"https://{domain}:{port}", _LoopbackHTTPS(context))


class _Pinned(http.client.HTTPSConnection):
    """Dials 127.0.0.1 but speaks TLS for the host name (SNI and the certificate check), as DNS would."""

    def connect(self) -> None:
        raw = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


class _LoopbackHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, context: ssl.SSLContext):
        super().__init__(context=context)
        self.tls = context

    def https_open(self, req):
        return self.do_open(functools.partial(_Pinned, context=self.tls), req)
