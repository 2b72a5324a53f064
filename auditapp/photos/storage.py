"""Photo files on disk, named by the SHA-256 of their content: <dir>/<sha[:2]>/<sha>.jpg and .thumb.jpg.

Names are always derived from the hash, never from user input, and writes are atomic so a
crash never leaves a half-written photo under a valid name.
"""

import hashlib
import os
import re
import tempfile
from collections.abc import Collection, Iterator
from pathlib import Path

from .pipeline import ProcessedPhoto

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# What store_photo writes: <sha>.jpg, <sha>.thumb.jpg, and .<name>.<random>.tmp while writing.
_STORED_NAME = re.compile(r"(?P<sha>[0-9a-f]{64})(\.thumb)?\.jpg|\.(?P<temp>[0-9a-f]{64})(\.thumb)?\.jpg\..+\.tmp")


def photo_file(photo_dir: Path, sha256: str, thumbnail: bool = False) -> Path:
    """Where the photo (or its thumbnail) with this content hash lives."""
    if not isinstance(sha256, str) or not _SHA256_HEX.fullmatch(sha256):
        raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
    suffix = ".thumb.jpg" if thumbnail else ".jpg"
    return Path(photo_dir) / sha256[:2] / f"{sha256}{suffix}"


def store_photo(photo_dir: Path, photo: ProcessedPhoto) -> bool:
    """Write the photo and thumbnail once; True if the photo was new, False if already stored."""
    if hashlib.sha256(photo.data).hexdigest() != photo.sha256:
        # The name promises the content; identical names must mean identical bytes.
        raise ValueError("photo.sha256 does not match photo.data")
    image_path = photo_file(photo_dir, photo.sha256)
    image_path.parent.mkdir(parents=True, exist_ok=True)
    # Thumbnail first, so an existing full image always has its thumbnail next to it.
    _write_once(photo_file(photo_dir, photo.sha256, thumbnail=True), photo.thumbnail)
    return _write_once(image_path, photo.data)


def delete_photo_files(photo_dir: Path, sha256: str) -> None:
    """Remove the photo and its thumbnail, if present (once no record refers to the hash)."""
    # Reverse of store_photo's order, keeping "full image present => thumbnail present".
    photo_file(photo_dir, sha256).unlink(missing_ok=True)
    photo_file(photo_dir, sha256, thumbnail=True).unlink(missing_ok=True)
    # The shard folder stays: removing it could race with a concurrent store_photo.


def unreferenced_files(photo_dir: Path, referenced: Collection[str]) -> Iterator[Path]:
    """Files store_photo wrote (or began) whose hash is not in `referenced`; anything else is left alone."""
    for path in sorted(Path(photo_dir).glob("??/*")):
        match = _STORED_NAME.fullmatch(path.name)
        if match and path.is_file() and path.parent.name == (match["sha"] or match["temp"])[:2]:
            if match["temp"] or match["sha"] not in referenced:
                yield path


def _write_once(path: Path, data: bytes) -> bool:
    """Atomically create `path` with `data` unless it exists; True if written."""
    if path.exists():
        # Used again: a fresh mtime keeps `flask photos sweep` off it until the new row is committed.
        os.utime(path)
        return False
    # Same folder, so os.replace is a rename on one file system: readers see all or nothing.
    # Two concurrent writers of one hash both succeed harmlessly: the bytes are identical.
    # mkstemp makes the file owner-only (0600): photos are served through the app, not directly.
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return True


def _fsync_dir(folder: Path) -> None:
    """Persist the rename itself (POSIX); a no-op where folders cannot be opened (Windows)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
