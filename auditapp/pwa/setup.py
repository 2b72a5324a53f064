"""The phone set-up page of a site-local install: the local CA's certificate, its fingerprint and how to
trust it, served over plain HTTP before the phone can open the app over HTTPS (scripts/serve_phone.py).

Off unless AUDITAPP_CA_CERT names the CA certificate: with a public domain the certificate comes from an
ACME authority that phones already trust, and there is nothing to set up."""

import hashlib
import ssl
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template

bp = Blueprint("setup", __name__)


def fingerprint(pem: bytes) -> str:
    """The SHA-256 fingerprint of a PEM certificate, as phones and browsers show it: AA:BB:..."""
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem.decode("ascii"))).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _ca_certificate() -> bytes:
    """The configured CA certificate, or 404: no setting, or the CA has not been made yet."""
    path = current_app.config.get("CA_CERT")
    if not path or not Path(path).is_file():
        abort(404)
    return Path(path).read_bytes()


@bp.get("/setup")
def page():
    """How to trust this server's CA on Android and iOS, then on to the app."""
    pem = _ca_certificate()
    return render_template("pwa/setup.html", fingerprint=fingerprint(pem), app_url=current_app.config["BASE_URL"])


@bp.get("/setup/ca.crt")
def certificate():
    """The CA certificate (PEM, which Android's and iOS's installers both read)."""
    response = Response(_ca_certificate(), mimetype="application/x-x509-ca-cert")
    response.headers["Content-Disposition"] = "attachment; filename=auditapp-ca.crt"
    return response
