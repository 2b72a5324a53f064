"""The photos of one request, processed within the server's limits: how many per request, how many at once.

Decoding a photo is the most memory a request can cost (see bench/photo_memory.py), so each server
process decodes at most PHOTO_WORKERS photos at a time; a request that cannot get a turn within
PHOTO_WAIT_SECONDS is answered 503 with Retry-After, which the offline outbox treats as "send later".
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from flask import current_app
from werkzeug.datastructures import FileStorage

from ..core.errors import ServerBusy
from .pipeline import PhotoRejected, ProcessedPhoto, process_photo

BUSY = "The server is busy processing other photos; your photos were not saved. They will be sent again shortly."
RETRY_AFTER_SECONDS = 10
# glibc keeps freed image buffers in its heaps (one per thread) instead of giving them back to the system.
_LIBC = ctypes.CDLL(ctypes.util.find_library("c")) if ctypes.util.find_library("c") else None
_MALLOC_TRIM = getattr(_LIBC, "malloc_trim", None)


def process_uploads(files: Sequence[FileStorage]) -> list[ProcessedPhoto]:
    """Every uploaded file as a processed photo, or PhotoRejected (413 for too many) before anything is stored."""
    config = current_app.config
    limit = config["PHOTO_MAX_PER_REQUEST"]
    if len(files) > limit:
        raise PhotoRejected(
            f"{len(files)} photos were sent at once; at most {limit} can be added in one go. "
            "Please add them in smaller groups.",
            413,
        )
    processed = []
    for number, upload_file in enumerate(files, start=1):
        with processing_turn():
            try:
                processed.append(
                    process_photo(
                        upload_file.stream,
                        max_edge=config["PHOTO_MAX_EDGE"],
                        max_pixels=config["PHOTO_MAX_PIXELS"],
                        max_pixels_full_decode=config["PHOTO_MAX_PIXELS_FULL_DECODE"],
                    )
                )
            except PhotoRejected as err:
                if len(files) == 1:
                    raise
                raise PhotoRejected(f"Photo {number} of {len(files)}: {err.message}", err.status) from None
    return processed


def processing_slots() -> threading.BoundedSemaphore:
    """This process's turns at decoding photos, PHOTO_WORKERS of them (one set per app)."""
    return current_app.extensions.setdefault(
        "photo_slots", threading.BoundedSemaphore(current_app.config["PHOTO_WORKERS"])
    )


@contextmanager
def processing_turn() -> Iterator[None]:
    """Hold one turn while decoding a photo; ServerBusy (503) if none is free within PHOTO_WAIT_SECONDS."""
    slots = processing_slots()
    if not slots.acquire(timeout=current_app.config["PHOTO_WAIT_SECONDS"]):
        raise ServerBusy(BUSY, retry_after=RETRY_AFTER_SECONDS)
    try:
        yield
    finally:
        release_memory()
        slots.release()


def release_memory() -> None:
    """Give the freed buffers of a decoded photo back to the system (glibc; a no-op elsewhere)."""
    # Measured: a 24 MP WebP left +96 MB of RSS after processing, +4 MB after this (bench/photo_memory.py).
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
