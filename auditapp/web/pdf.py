"""PDF from our own HTML, rendered by WeasyPrint in a child process, a bounded number at a time.

WeasyPrint fetches the stylesheet and images a page links to. Our fetcher serves only our static
files and the images the caller handed over (photos it already checked the user may see), and
refuses every other URL: a PDF never makes a network request, so a crafted link cannot reach other hosts.

Why a child process: gunicorn runs each worker with a few threads (deploy/gunicorn.conf.py). A PDF
takes the CPU for up to a second or more of pure Python layout; rendered in a request thread it holds
that worker's GIL, so every tap the worker serves meanwhile waits (two PDFs under two workers made a
tap wait 4.8-5.7 s). In a pool of ONE niced child per worker process the layout runs outside the GIL
and at the lowest priority, while the request thread just waits for the result; taps keep their threads
and the CPU. The pool is the bound: at most one PDF per worker process renders at once, and at most
`PDF_WAITING` PDF requests per process wait for it, so PDFs can never take every thread of a worker;
one more is refused at once with 503 + Retry-After (`ServerBusy`) instead of queueing. A semaphore
alone (render in the thread, refuse when busy) would bound the count but not give the threads back
their GIL, so taps would still slow down behind the one PDF allowed.

Photos are embedded at print resolution (`PRINT_EDGE` px on the long edge, about 300 dpi at the 7 cm
the report prints them), a derived copy made in the child on the fly and kept there for the next PDFs:
the stored 2000 px files made a 10-photo report 8.8 MB.

A record that no longer changes (a completed audit's report) is rendered once: its last PDF is kept
in `kept_pdfs` under the hash of everything it is made from (the HTML, the print stylesheet, the photos),
so a download serves it while nothing shown has changed, and anything that changes the report (a
reopened audit, an NC closed since) makes a new one. Rendering takes 50 times as long as the HTML page,
and a completed report is downloaded again and again (the review pack, the auditee, the certification
body). Only the newest `KEPT_PDFS` are kept, so the table stays bounded (about 2 MB each).

Such a PDF is also made before anyone asks (`prepare_pdf`): when an audit is completed, once that is
committed, a background thread of the worker renders the report through the same niced child and keeps
it, so the first download is already a kept one. The request does not wait for it. A download that comes
while that render runs in the same process waits for it instead of rendering a second copy. Nothing
depends on it: if the render fails or the process stops, the download renders on demand as before.
At most `PREPARING` preparations per process run at once; more are left to their first download.
"""

from __future__ import annotations

import hashlib
import io
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, has_request_context, request
from PIL import Image, ImageFile
from sqlalchemy import DateTime, LargeBinary, String, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import safe_join

from ..core.errors import ServerBusy
from ..core.timeutil import utcnow
from ..extensions import Model, db

BASE_URL = "https://auditapp.invalid/"
PRINT_EDGE = 1200  # px, the long edge of a photo in a PDF (>= 300 dpi at the 7 cm the report prints it)
PRINT_QUALITY = 75  # JPEG quality of that copy: 10 grainy phone photos stay under 2 MB
PDF_WAITING = 2  # PDF requests per worker process that may wait for (or use) its renderer
CHILD_NICE = 19  # the renderer takes only the CPU that request workers leave
PREPARING = 2  # PDFs per worker process prepared in the background at once (they queue at the renderer)

PRINT_COPIES_KEPT = 100  # print copies the renderer keeps (~200 KB each)
KEPT_PDFS = 200  # finished PDFs kept in the database (up to ~2 MB each)

# Per process (a pool belongs to the process that made it; a forked worker makes its own).
_lock = threading.Lock()
_waiting = threading.BoundedSemaphore(PDF_WAITING)
_pool: ProcessPoolExecutor | None = None
_pool_pid = 0
_print_copies: dict[bytes, bytes] = {}  # in the renderer: photo hash -> print copy (derived, never changes)
_in_flight: dict[tuple[str, str], Future[bytes]] = {}  # (kept name, content key) -> its render, in this process
_preparing = threading.BoundedSemaphore(PREPARING)
_preparations: set[threading.Thread] = set()


class PdfUnavailable(Exception):
    """WeasyPrint cannot load here (Pango is missing)."""


class KeptPdf(Model):
    """The last PDF made of a record that no longer changes, and the hash of what it was made from."""

    __tablename__ = "kept_pdfs"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)  # e.g. "audit-report-12"
    content_key: Mapped[str] = mapped_column(String(64))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    made_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


@dataclass(frozen=True)
class Keep:
    """Keep the PDF under `name` (a record that no longer changes, e.g. "audit-report-12"). `photos` maps
    each image path the HTML links to the hash of its stored file, so a kept PDF is found without
    reading the photos."""

    name: str
    photos: Mapping[str, str]


Images = Mapping[str, bytes] | Callable[[], Mapping[str, bytes]]


def render_pdf(html: str, images: Images | None = None, keep: Keep | None = None) -> bytes:
    """Render the HTML to PDF bytes in the renderer process; raise ServerBusy when it has enough to do.

    `images` maps a path the HTML links to (e.g. "/photos/<id>") to the stored JPEG bytes of an image
    the user may see (or is a function that reads them, called only when the PDF is rendered); it is
    embedded at print resolution. With `keep`, the PDF is served from `kept_pdfs` while it was made from
    the same content, and kept when it is rendered."""
    if keep is None:
        return _rendered(html, images)
    key = content_key(html, keep.photos)
    kept = _kept(keep.name, key)
    if kept is not None:
        return kept
    return _rendered(html, images, (keep.name, key))


def _kept(name: str, key: str) -> bytes | None:
    return db.session.scalar(select(KeptPdf.pdf).where(KeptPdf.name == name, KeptPdf.content_key == key))


Prepared = tuple[str, Images, Keep]


def prepare_pdf(build: Callable[[], Prepared | None]) -> None:
    """Render and keep a PDF in a background thread of this process, e.g. right after a commit.

    `build` is called in that thread, in an app and request context of its own (so it reads committed
    rows through a session of its own), and returns what `render_pdf` takes, or None when there is
    nothing to prepare any more. Skipped when switched off (`PDF_PREPARE`) or when `PREPARING` are
    already under way; a failure is logged and left to the first download."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("PDF_PREPARE", True) or not _preparing.acquire(blocking=False):
        return
    base_url = request.url_root if has_request_context() else None  # the same links as the download's
    thread = threading.Thread(target=_prepare, args=(app, base_url, build), name="pdf-prepare", daemon=True)
    with _lock:
        _preparations.add(thread)
    try:
        thread.start()
    except RuntimeError:
        _prepared(thread)
        raise


def _prepare(app: Flask, base_url: str | None, build: Callable[[], Prepared | None]) -> None:
    try:
        with app.test_request_context(base_url=base_url):
            made = build()
            if made is None:
                return
            html, images, keep = made
            key = content_key(html, keep.photos)
            if _kept(keep.name, key) is not None:
                return
            loaded = _loaded(images)
            db.session.close()  # no connection (or snapshot) held while the render takes seconds
            future, mine = _render_future(html, loaded, (keep.name, key))
            try:
                pdf = future.result()
            except BrokenProcessPool:
                _drop_renderer()
                raise
            if mine:
                _keep(keep.name, key, pdf)
    except Exception:
        app.logger.exception("PDF not prepared in the background; its first download renders it")
    finally:
        _prepared(threading.current_thread())


def _prepared(thread: threading.Thread) -> None:
    with _lock:
        _preparations.discard(thread)
    _preparing.release()


def wait_for_preparations(timeout: float) -> bool:
    """Wait (at most `timeout` seconds) until this process prepares no PDF; True when none is left."""
    with _lock:
        running = list(_preparations)
    for thread in running:
        thread.join(timeout)
    with _lock:
        return not _preparations


def _loaded(images: Images | None) -> dict[str, bytes]:
    return dict(images() if callable(images) else images or {})


def content_key(html: str, photos: Mapping[str, str]) -> str:
    """The hash of everything a PDF is made from: the HTML, the print stylesheet, the embedded photos
    (by their stored files' hashes) and how they are printed. A new stylesheet or print size after an
    upgrade makes new PDFs."""
    assert current_app.static_folder is not None  # create_app always sets one
    digest = hashlib.sha256(f"{PRINT_EDGE}:{PRINT_QUALITY}\0".encode())
    digest.update(html.encode())
    digest.update(_print_stylesheet(current_app.static_folder))
    for path in sorted(photos):
        digest.update(f"\0{path}\0{photos[path]}".encode())
    return digest.hexdigest()


def _print_stylesheet(static_folder: str) -> bytes:
    path = Path(static_folder) / "css" / "pdf.css"
    return path.read_bytes() if path.is_file() else b""


def _keep(name: str, key: str, pdf: bytes) -> None:
    """Replace the kept PDF of `name` and drop the oldest beyond `KEPT_PDFS`, on a connection of its own:
    a GET has no write of its own to commit, and a cache must never commit (or roll back) the request's work."""
    try:
        with db.engine.begin() as conn:
            conn.execute(delete(KeptPdf).where(KeptPdf.name == name))
            conn.execute(insert(KeptPdf).values(name=name, content_key=key, pdf=pdf, made_at=utcnow()))
            newest = select(KeptPdf.name).order_by(KeptPdf.made_at.desc(), KeptPdf.name).limit(KEPT_PDFS)
            conn.execute(delete(KeptPdf).where(KeptPdf.name.not_in(newest.scalar_subquery())))
    except IntegrityError:
        pass  # another worker kept the same report at the same moment: its copy serves as well


def _rendered(html: str, images: Images | None, kept_as: tuple[str, str] | None = None) -> bytes:
    """For a request: render (or wait for the same PDF already rendering here), and keep it as `kept_as`."""
    if not _waiting.acquire(blocking=False):
        raise ServerBusy("The server is making other PDFs right now. Try again in a few seconds.", retry_after=5)
    try:
        future, mine = _render_future(html, images, kept_as)
        pdf = future.result()
    except PdfUnavailable as err:
        current_app.logger.error("PDF export unavailable: %s", err)
        abort(
            503,
            description="PDF export needs the Pango library on the server (Debian: apt-get install "
            "libpango-1.0-0 libpangoft2-1.0-0). The page itself prints well from the browser.",
        )
    except BrokenProcessPool:
        _drop_renderer()  # the child died (killed, out of memory): the next PDF gets a new one
        raise
    finally:
        _waiting.release()
    if kept_as is not None and mine:
        _keep(*kept_as, pdf)
    return pdf


def _render_future(html: str, images: Images | None, kept_as: tuple[str, str] | None) -> tuple[Future[bytes], bool]:
    """The renderer's future for this PDF, and whether this call started it (False: it was already rendering
    in this process, e.g. prepared on completion, and its starter keeps it)."""
    assert current_app.static_folder is not None  # create_app always sets one
    if kept_as is not None:
        with _lock:
            running = _in_flight.get(kept_as)
        if running is not None:
            return running, False
    future = _renderer().submit(render_here, html, current_app.static_folder, _loaded(images))
    if kept_as is not None:
        with _lock:
            _in_flight[kept_as] = future
        future.add_done_callback(lambda _: _forget(kept_as, future))
    return future, True


def _forget(kept_as: tuple[str, str], future: Future[bytes]) -> None:
    with _lock:
        if _in_flight.get(kept_as) is future:
            del _in_flight[kept_as]


def _renderer() -> ProcessPoolExecutor:
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid():
            # spawn, not fork: a gunicorn worker has threads, and a forked child could inherit a held lock.
            context = multiprocessing.get_context("spawn")
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_child_start)
            _pool_pid = os.getpid()
        return _pool


def _drop_renderer() -> None:
    """After a BrokenProcessPool: drop the broken renderer, but not a new one that a request or a
    preparation sharing it already made (both see the same break)."""
    global _pool
    with _lock:
        if _pool is not None and getattr(_pool, "_broken", True) is False:
            return
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def _child_start() -> None:
    """In the renderer process: a lower CPU priority than the request workers, WeasyPrint loaded once."""
    try:
        os.nice(CHILD_NICE)
    except OSError:  # pragma: no cover - not permitted here; render at normal priority
        pass
    try:
        _weasyprint()
    except PdfUnavailable:
        pass  # reported to the request by render_here


def render_here(html: str, static_folder: str, images: Mapping[str, bytes]) -> bytes:
    """Render in this process (the renderer child; also usable directly, e.g. by a benchmark)."""
    URLFetcher: Any  # noqa: N806  (WeasyPrint has no types: its fetcher class is our base)
    HTML, URLFetcher, URLFetcherResponse = _weasyprint()  # noqa: N806  (WeasyPrint's class names)
    static = Path(static_folder)

    class OwnFilesOnly(URLFetcher):
        def fetch(self, url: str, headers: dict[str, str] | None = None) -> Any:
            parts = urlsplit(url)
            found = None
            if parts.scheme == "https" and parts.netloc == "auditapp.invalid":
                if parts.path.startswith("/static/"):
                    path = safe_join(str(static), parts.path.removeprefix("/static/"))
                    if path and Path(path).is_file():
                        found = Path(path).read_bytes(), _mime(path)
                elif parts.path in images:
                    found = _printed(images[parts.path]), "image/jpeg"
            if found is None:
                raise ValueError(f"not fetched for a PDF: {url}")
            body, mime = found
            return URLFetcherResponse(url, body=body, headers={"Content-Type": mime})

    return HTML(string=html, base_url=BASE_URL, url_fetcher=OwnFilesOnly()).write_pdf()


def _printed(jpeg: bytes) -> bytes:
    """The print copy, kept by the renderer process for the next PDFs (the same report is often made
    again); keyed by the content's hash, so a copy can never stand for another photo."""
    key = hashlib.sha256(jpeg).digest()
    copy = _print_copies.pop(key, None)
    if copy is None:
        copy = print_copy(jpeg)
    _print_copies[key] = copy  # most recently used last
    while len(_print_copies) > PRINT_COPIES_KEPT:
        del _print_copies[next(iter(_print_copies))]
    return copy


def print_copy(jpeg: bytes, edge: int = PRINT_EDGE) -> bytes:
    """The photo at print resolution: at most `edge` px on the long side (a stored photo is upright)."""
    with Image.open(io.BytesIO(jpeg)) as im:
        if max(im.size) <= edge:
            return jpeg
        im.draft("RGB", (edge, edge))  # a cheaper decode where the JPEG allows it
        small = im.convert("RGB")
        # Bicubic (antialiased when shrinking) is 3/4 of Lanczos' time here, and a shade softer (smaller).
        small.thumbnail((edge, edge), Image.Resampling.BICUBIC)
        out = io.BytesIO()
        small.save(out, "JPEG", quality=PRINT_QUALITY)
        return out.getvalue()


def _weasyprint() -> tuple[Any, Any, Any]:
    """Import WeasyPrint on first use (it loads Pango, which only the renderer needs)...

    ...and undo its import-time `ImageFile.LOAD_TRUNCATED_IMAGES = True`: that switch is global to
    Pillow, and left on it would let the photo pipeline accept half-uploaded photos (should this ever
    run in a request worker)."""
    truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher, URLFetcherResponse
    except OSError as err:  # Pango is not installed on this server
        raise PdfUnavailable(str(err)) from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated
    # Our one stylesheet serves screens too: WeasyPrint would log a warning for every @media width
    # query and `position: sticky` it skips, on every PDF.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    return HTML, URLFetcher, URLFetcherResponse


def _mime(path: str) -> str:
    return {".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg"}.get(
        Path(path).suffix, "application/octet-stream"
    )
