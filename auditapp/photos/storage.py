"""Photo files, named by the SHA-256 of their content: in a folder, <dir>/<sha[:2]>/<sha>.jpg and .thumb.jpg.

Names are always derived from the hash, never from user input, and writes are atomic so a
crash never leaves a half-written photo under a valid name.
"""

import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from flask import current_app

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


# --- where photos live: one store per app, chosen by AUDITAPP_PHOTO_STORAGE -----------------------


@dataclass(frozen=True)
class StoredFile:
    """One file a store holds: what `flask photos sweep` and backups walk through."""

    name: str  # the store's own name for it, e.g. "ab/<sha>.jpg"
    sha256: str
    thumbnail: bool
    temporary: bool  # a write that never finished (a crash between the temporary file and the rename)
    modified: float  # seconds since the epoch; a photo used again counts as new
    size: int


class PhotoStore(Protocol):
    """Content-addressed photo files; names always derive from the SHA-256, never from user input."""

    def save(self, photo: ProcessedPhoto) -> bool:
        """Store the photo and its thumbnail once (True if new); a repeat marks the files as fresh."""
        ...

    def read(self, sha256: str, thumbnail: bool = False) -> bytes | None:
        """The stored bytes, or None when the file is missing."""
        ...

    def write(self, sha256: str, data: bytes, thumbnail: bool = False) -> None:
        """Put back bytes exactly as a backup holds them (a restore)."""
        ...

    def delete(self, sha256: str) -> None:
        """Remove the photo and its thumbnail, if present."""
        ...

    def files(self) -> Iterator[StoredFile]:
        """Every file this store wrote or began; anything else in the same place is left alone."""
        ...

    def remove(self, name: str) -> None:
        """Remove one file listed by `files` (missing already: no error)."""
        ...

    def modified(self, name: str) -> float | None:
        """When a file listed by `files` was last written or used, read now (None: it is gone)."""
        ...

    def check(self) -> None:
        """Raise OSError when the store cannot be read and written (for /ready)."""
        ...


class FolderStore:
    """Photos in a folder on this host (the default): <dir>/<sha[:2]>/<sha>.jpg and .thumb.jpg."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def save(self, photo: ProcessedPhoto) -> bool:
        return store_photo(self.folder, photo)

    def read(self, sha256: str, thumbnail: bool = False) -> bytes | None:
        try:
            return photo_file(self.folder, sha256, thumbnail).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, sha256: str, data: bytes, thumbnail: bool = False) -> None:
        path = photo_file(self.folder, sha256, thumbnail)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_once(path, data)

    def delete(self, sha256: str) -> None:
        delete_photo_files(self.folder, sha256)

    def files(self) -> Iterator[StoredFile]:
        for path in sorted(self.folder.glob("??/*")):
            match = _STORED_NAME.fullmatch(path.name)
            if not (match and path.parent.name == (match["sha"] or match["temp"])[:2]):
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            yield StoredFile(
                name=f"{path.parent.name}/{path.name}",
                sha256=match["sha"] or match["temp"],
                thumbnail=".thumb." in path.name,
                temporary=bool(match["temp"]),
                modified=stat.st_mtime,
                size=stat.st_size,
            )

    def remove(self, name: str) -> None:
        (self._named(name)).unlink(missing_ok=True)

    def modified(self, name: str) -> float | None:
        try:
            return self._named(name).stat().st_mtime
        except FileNotFoundError:
            return None

    def _named(self, name: str) -> Path:
        if not _FOLDER_NAME.fullmatch(name):
            raise ValueError(f"not a name this store wrote: {name!r}")
        return self.folder / name

    def check(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # A file of its own per call: two /ready checks at once never trip over each other.
        with tempfile.NamedTemporaryFile(dir=self.folder, prefix=".ready.") as probe:
            probe.write(b"ok")
            probe.flush()


_FOLDER_NAME = re.compile(rf"[0-9a-f]{{2}}/(?:{_STORED_NAME.pattern})")

#: Store kinds by the name AUDITAPP_PHOTO_STORAGE gives; each builds its store from the app's config.
_KINDS: dict[str, Callable[[Mapping[str, Any]], PhotoStore]] = {
    "folder": lambda config: FolderStore(config["PHOTO_DIR"]),
}


def register_store_kind(name: str, build: Callable[[Mapping[str, Any]], PhotoStore]) -> None:
    _KINDS[name] = build


def photo_store() -> PhotoStore:
    """The current app's photo store, built once from its config."""
    app = current_app
    store = app.extensions.get("auditapp.photo_store")
    if store is None:
        kind = app.config.get("PHOTO_STORAGE", "folder")
        if kind not in _KINDS:
            raise RuntimeError(f"AUDITAPP_PHOTO_STORAGE={kind!r}: use one of {', '.join(sorted(_KINDS))}")
        store = app.extensions["auditapp.photo_store"] = _KINDS[kind](app.config)
    return store
