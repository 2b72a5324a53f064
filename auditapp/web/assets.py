"""Static files under versioned URLs: cached for a year by browsers and proxies, yet never stale.

Every `url_for('static', ...)` gets `?v=` and the first 8 hex digits of the file's SHA-256, so a
changed file has a new URL. Only a request naming the current version is answered as immutable;
one without it (offline.html, PDF templates, old pages after a release) must revalidate.
"""

import hashlib
import os
from functools import lru_cache
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def init_app(app: Flask) -> None:
    app.url_defaults(add_version)
    app.after_request(cache_static)


def add_version(endpoint: str, values: dict[str, Any]) -> None:
    """url_defaults: the static file's content version, as the `v` query argument."""
    if endpoint != "static" or "v" in values or "filename" not in values:
        return
    version = static_version(str(values["filename"]))
    if version:
        values["v"] = version


def static_version(filename: str) -> str | None:
    """The content version of a static file, or None when there is no such file."""
    folder = current_app.static_folder
    path = safe_join(folder, filename) if folder else None
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    # Keyed by modification time and size too, so an edited file (development) gets a new version.
    return _content_hash(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=1024)
def _content_hash(path: str, _mtime_ns: int, _size: int) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()[:8]


def cache_static(response: Response) -> Response:
    """after_request: a year for the current version of a static file, revalidation for anything else."""
    if request.endpoint != "static" or response.status_code not in (200, 304):
        return response
    version = request.args.get("v")
    filename = (request.view_args or {}).get("filename", "")
    current = version is not None and version == static_version(filename)
    response.headers["Cache-Control"] = IMMUTABLE if current else REVALIDATE
    return response
