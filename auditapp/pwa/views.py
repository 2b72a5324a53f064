"""The installable app: web app manifest and service worker (served from the root scope), and what
base.html gives the offline outbox script."""

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, url_for

from ..web import assets
from . import routes

bp = Blueprint("pwa", __name__)

# The offline outbox's scripts, in the order the page runs them (each uses the ones before it).
OFFLINE_SCRIPTS = [
    "js/offline/logic.js",
    "js/offline/drafts.js",
    "js/offline/photos.js",
    "js/offline/store.js",
    "js/offline/page.js",
    "js/offline/sync.js",
    "js/offline/keep.js",
    "js/offline/start.js",
]
# Scripts a page fetches when first needed, not on load: marking up a photo (offline/photos.js loads it,
# from this shell when offline).
LAZY_SCRIPTS = ["js/markup.js"]
# What every logged-in page runs after htmx, in this order, sent as one file (web/assets.py, bundle "page"):
# the outbox, and the audit screen's long-checklist controls (audits/show.html; elsewhere it stops at once).
PAGE_SCRIPTS = [*OFFLINE_SCRIPTS, "js/checklist.js"]
PAGE_BUNDLE = "page"
# The app shell: what every screen needs, cached when the service worker installs (with the page bundle).
SHELL = [
    "css/app.css",
    "js/app.js",
    "vendor/htmx-2.0.11.min.js",
    *LAZY_SCRIPTS,
    "offline.html",
    "icons/icon-192.png",
    "icons/icon-512.png",
]


@bp.record_once
def _serve_page_scripts(state) -> None:
    assets.add_bundle(state.app, PAGE_BUNDLE, PAGE_SCRIPTS)


def offline_page():
    """What base.html gives the page script: its bundle, markup's address, the changes it may keep offline."""
    return {
        "page_script": lambda: assets.bundle_url(PAGE_BUNDLE),
        "outbox_routes": lambda: routes.queueable(current_app.url_map),
    }


@lru_cache(maxsize=8)
def shell_version(static_folder: str, release: str = "") -> str:
    """A hash of the shell files: a new release gets a new service worker and a fresh cache."""
    digest = hashlib.sha256(release.encode())
    for name in [*SHELL, *PAGE_SCRIPTS]:
        digest.update((Path(static_folder) / name).read_bytes())
    return digest.hexdigest()[:12]


@bp.get("/sw.js")
def service_worker():
    """The service worker. Public (it holds no data) so it can update after a logout too."""
    version = shell_version(current_app.static_folder, current_app.config.get("RELEASE", ""))
    body = render_template(
        "pwa/sw.js",
        version=version,
        shell=[*(url_for("static", filename=n) for n in SHELL), assets.bundle_url(PAGE_BUNDLE)],
        offline_url=url_for("static", filename="offline.html"),
        kept=routes.kept_offline(current_app.url_map),
    )
    response = Response(body, mimetype="text/javascript")
    # Browsers must always ask for a new worker; the root path lets it control the whole app.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest. Public: browsers fetch it without cookies."""
    data = {
        "name": "auditapp: internal audits",
        "short_name": "auditapp",
        "lang": "en",
        "start_url": url_for("audits.mine"),
        "scope": "/",
        "display": "standalone",
        "theme_color": "#1d4e89",
        "background_color": "#f4f6f8",
        "icons": [
            {"src": url_for("static", filename="icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": url_for("static", filename="icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": url_for("static", filename="icons/icon-maskable-192.png"),
                "sizes": "192x192",
                "type": "image/png",
                "purpose": "maskable",
            },
            {
                "src": url_for("static", filename="icons/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    return Response(
        json.dumps(data, indent=1), mimetype="application/manifest+json", headers={"Cache-Control": "no-cache"}
    )
