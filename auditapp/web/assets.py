"""Static files under versioned URLs: cached for a year by browsers and proxies, yet never stale.

Every `url_for('static', ...)` gets `?v=` and the first 8 hex digits of the file's SHA-256, so a
changed file has a new URL. Only a request naming the current version is answered as immutable;
one without it (offline.html, PDF templates, old pages after a release) must revalidate.

A bundle (`add_bundle`) is several static scripts served as one file at `/assets/<name>.js?v=…`, in
order, under the same caching rule: a phone on one bar of signal pays one request for the page's
scripts, not one per file (each round trip costs it 150 ms or more). Its files go in minified (rjsmin:
comments and blanks out, the code as written): the sources explain themselves at length, and the
94-item audit's phone paid 10 KB of brotli for the page bundle's comments (issue 13).
"""

import hashlib
import os
from functools import lru_cache
from typing import Any

import rjsmin
from flask import Flask, Response, abort, current_app, request, url_for
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def init_app(app: Flask) -> None:
    app.url_defaults(add_version)
    app.after_request(cache_static)
    app.add_url_rule("/assets/<name>.js", "bundle", serve_bundle)


def add_bundle(app: Flask, name: str, filenames: list[str]) -> None:
    """Serve these static scripts, in this order, as one file (bundle_url(name))."""
    app.extensions.setdefault("asset_bundles", {})[name] = tuple(filenames)


def bundle_files(name: str) -> tuple[str, ...]:
    return current_app.extensions.get("asset_bundles", {}).get(name, ())


def bundle_url(name: str) -> str:
    """The bundle's address, with its content version."""
    return url_for("bundle", name=name, v=_bundle(name)[0])


def serve_bundle(name: str) -> Response:
    """The bundle; a year of caching for the current version, revalidation for any other request."""
    if not bundle_files(name):
        abort(404)
    version, body = _bundle(name)
    response = Response(body, mimetype="text/javascript")
    response.set_etag(version)
    response.headers["Cache-Control"] = IMMUTABLE if request.args.get("v") == version else REVALIDATE
    response.make_conditional(request)
    return response


def _bundle(name: str) -> tuple[str, bytes]:
    folder = current_app.static_folder or ""
    parts = []
    for filename in bundle_files(name):
        path = safe_join(folder, filename)
        if path is None:
            raise ValueError(f"bundle {name}: {filename} is outside the static folder")
        stat = os.stat(path)
        parts.append((filename, path, stat.st_mtime_ns, stat.st_size))
    return _joined(tuple(parts))


@lru_cache(maxsize=16)
def _joined(parts: tuple[tuple[str, str, int, int], ...]) -> tuple[str, bytes]:
    """The files minified, one after the other, each named in a comment and ended by a semicolon, so one
    file's last expression never runs into the next file's first (keyed by mtime and size, like files)."""
    chunks = []
    for filename, path, _mtime_ns, _size in parts:
        with open(path, "rb") as fh:
            chunks.append(b"/* " + filename.encode() + b" */\n" + minified(fh.read()) + b"\n;\n")
    body = b"".join(chunks)
    return hashlib.sha256(body).hexdigest()[:8], body


def minified(script: bytes) -> bytes:
    """A script without its comments and needless blanks (what the bundle serves of each file)."""
    return rjsmin.jsmin(script).rstrip()


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
