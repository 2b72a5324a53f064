"""PDF from our own HTML, rendered on the server by WeasyPrint.

WeasyPrint fetches the stylesheet and images a page links to. Our fetcher serves only our static
files and photos straight from disk (after the caller checked who may see them), and refuses every
other URL: a PDF never makes a network request, so a crafted link cannot reach other hosts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app
from werkzeug.security import safe_join

BASE_URL = "https://auditapp.invalid/"
PdfFetch = Callable[[str], tuple[bytes, str] | None]


def render_pdf(html: str, extra: PdfFetch | None = None) -> bytes:
    """Render the HTML to PDF bytes; `extra` may resolve further paths (e.g. photos the user may see).

    `extra(path)` returns (bytes, mime type) or None."""
    URLFetcher: Any  # noqa: N806  (WeasyPrint has no types: its fetcher class is our base)
    HTML, URLFetcher, URLFetcherResponse = _weasyprint()  # noqa: N806  (WeasyPrint's class names)

    assert current_app.static_folder is not None  # create_app always sets one
    static = Path(current_app.static_folder)

    class OwnFilesOnly(URLFetcher):
        def fetch(self, url: str, headers: dict[str, str] | None = None) -> Any:
            parts = urlsplit(url)
            found = None
            if parts.scheme == "https" and parts.netloc == "auditapp.invalid":
                if parts.path.startswith("/static/"):
                    path = safe_join(str(static), parts.path.removeprefix("/static/"))
                    if path and Path(path).is_file():
                        found = Path(path).read_bytes(), _mime(path)
                elif extra is not None:
                    found = extra(parts.path + ("?" + parts.query if parts.query else ""))
            if found is None:
                raise ValueError(f"not fetched for a PDF: {url}")
            body, mime = found
            return URLFetcherResponse(url, body=body, headers={"Content-Type": mime})

    return HTML(string=html, base_url=BASE_URL, url_fetcher=OwnFilesOnly()).write_pdf()


def _weasyprint() -> tuple[Any, Any, Any]:
    """Import WeasyPrint on first use (it loads Pango, which only PDF requests need)...

    ...and undo its import-time `ImageFile.LOAD_TRUNCATED_IMAGES = True`: that switch is global to
    Pillow, and left on it would let the photo pipeline accept half-uploaded photos."""
    from PIL import ImageFile

    truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher, URLFetcherResponse
    except OSError as err:  # Pango is not installed on this server
        current_app.logger.error("PDF export unavailable: %s", err)
        abort(
            503,
            description="PDF export needs the Pango library on the server (Debian: apt-get install "
            "libpango-1.0-0 libpangoft2-1.0-0). The page itself prints well from the browser.",
        )
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
