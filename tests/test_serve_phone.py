"""`scripts/run --phone` (scripts/serve_phone.py): the app over HTTPS from Caddy's local CA, a plain-HTTP
set-up page that offers that CA, and the deploy/caddy files, all with the real gunicorn and Caddy."""

import hashlib
import http.client
import io
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import segno

from auditapp.pwa.setup import fingerprint

from .support.phone import ROOT, PhoneServer, alive, descendants, needs, settings_of

TEST_CA = Path(__file__).parent / "resources" / "test-ca.crt"
CADDY_FILES = sorted((ROOT / "deploy" / "caddy").glob("*Caddyfile"))
# A value for every {$PLACEHOLDER} the deploy/caddy files read.
CADDY_ENV = {
    "AUDITAPP_DOMAIN": "audits.example.com",
    "AUDITAPP_ACME_EMAIL": "it@example.com",
    "AUDITAPP_UPSTREAM": "127.0.0.1:5000 127.0.0.1:5001",
    "AUDITAPP_HOST": "192.168.1.20",
    "AUDITAPP_HTTPS_PORT": "8443",
    "AUDITAPP_SETUP_PORT": "8080",
}


def _sha256_colons(pem: bytes) -> str:
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem.decode())).digest()
    return ":".join(f"{b:02X}" for b in digest)


def _get(url: str, context: ssl.SSLContext | None = None, **headers: str):
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        return response.status, response.headers, response.read()


def _status_and_location(port: int, path: str) -> tuple[int, str | None]:
    """A plain-HTTP GET that does not follow redirects."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Location")
    finally:
        connection.close()


def test_the_setup_page_is_off_without_a_ca_certificate(client):
    assert client.get("/setup").status_code == 404
    assert client.get("/setup/ca.crt").status_code == 404


def test_the_setup_page_is_off_while_the_ca_certificate_is_missing(app, client, tmp_path):
    app.config["CA_CERT"] = str(tmp_path / "not-made-yet.crt")
    assert client.get("/setup").status_code == 404


def test_the_setup_page_offers_the_ca_and_its_fingerprint_without_login(app, client):
    app.config.update(CA_CERT=str(TEST_CA), BASE_URL="https://192.168.1.20:8443")
    page = client.get("/setup")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert _sha256_colons(TEST_CA.read_bytes()) in text
    assert 'href="https://192.168.1.20:8443/"' in text
    assert "Certificate Trust Settings" in text and "CA certificate" in text
    certificate = client.get("/setup/ca.crt")
    assert certificate.status_code == 200 and certificate.mimetype == "application/x-x509-ca-cert"
    assert certificate.data == TEST_CA.read_bytes()


def test_the_fingerprint_is_the_sha256_of_the_der_certificate_in_pairs():
    assert fingerprint(TEST_CA.read_bytes()) == _sha256_colons(TEST_CA.read_bytes())
    assert len(fingerprint(TEST_CA.read_bytes())) == 32 * 3 - 1


@pytest.mark.parametrize("path", CADDY_FILES, ids=lambda p: p.name)
def test_deploy_caddyfiles_are_valid(path, tmp_path):
    caddy = needs("caddy", "caddy")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "AUDITAPP_CADDY_DIR": str(tmp_path / "caddy"),
        **CADDY_ENV,
    }
    result = subprocess.run(
        [caddy, "validate", "--adapter", "caddyfile", "--config", str(path)], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


def test_both_deploy_caddyfiles_are_checked():
    assert {p.name for p in CADDY_FILES} == {"Caddyfile", "site-local.Caddyfile"}


def test_serve_phone_serves_https_from_a_lasting_local_ca_and_a_setup_page(app, tmp_path):
    server = PhoneServer(tmp_path / "phone", settings_of(app)).start()
    try:
        root = server.ca.read_bytes()
        assert server.fingerprint == _sha256_colons(root)
        assert server.https_url == f"https://127.0.0.1:{server.https_port}"
        assert server.setup_url == f"http://127.0.0.1:{server.setup_port}/setup"
        qr = io.StringIO()
        segno.make(server.setup_url, error="m").terminal(out=qr, compact=True)
        assert qr.getvalue() in server.banner  # the code a phone scans holds the set-up address
        # The local CA as the only trust anchor, verification on.
        only_our_ca = ssl.create_default_context(cafile=str(server.ca))
        status, headers, body = _get(f"{server.https_url}/login", only_our_ca, **{"Accept-Encoding": "gzip"})
        assert status == 200 and headers["Content-Encoding"] == "gzip"
        assert "Server" not in headers  # neither Caddy's nor gunicorn's name, let alone a version
        assert "; Secure" in headers["Set-Cookie"]
        with pytest.raises(urllib.error.URLError):
            _get(f"{server.https_url}/login", ssl.create_default_context())  # the system's CAs do not know it

        status, headers, body = _get(server.setup_url)
        assert status == 200 and "Server" not in headers
        assert server.fingerprint in body.decode()
        assert f'href="{server.https_url}/"' in body.decode()
        status, headers, certificate = _get(f"{server.setup_url}/ca.crt")
        assert certificate == root and headers["Content-Type"] == "application/x-x509-ca-cert"
        for path in ("/login", "/audits/", "/"):
            assert _status_and_location(server.setup_port, path) == (302, f"{server.https_url}{path}")
        children = descendants(server.process.pid)
        assert len(children) >= 3  # gunicorn, its worker, Caddy
    finally:
        returncode = server.stop()
    assert returncode == 0
    assert not [pid for pid in children if alive(pid)]

    again = PhoneServer(tmp_path / "phone", settings_of(app)).start()  # a restart: the phone's trust still holds
    again.stop()
    assert again.fingerprint == server.fingerprint and again.ca.read_bytes() == root


def test_serve_phone_stops_everything_and_says_why_when_a_port_is_taken(app, tmp_path):
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        server = PhoneServer(tmp_path / "phone", settings_of(app), https_port=taken.getsockname()[1])
        children: set[int] = set()
        deadline = time.monotonic() + 60
        while server.process.poll() is None and time.monotonic() < deadline:
            children |= descendants(server.process.pid)
            time.sleep(0.05)
        assert server.stop() == 1
    output = server.output.read_text()
    assert "Could not serve" in output or "A server stopped" in output
    assert "address already in use" in output  # Caddy's own reason, shown in the terminal
    assert children and not [pid for pid in children if alive(pid)]
