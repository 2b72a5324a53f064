"""One archive (tar, gzip when the name ends in .gz or .tgz) holding a consistent snapshot of the database and
of every photo its rows refer to, with a manifest of SHA-256 hashes; checked and restored from the same file.

Consistency while the app serves: the database is snapshotted first (SQLite's online backup API; pg_dump on an
exported snapshot for PostgreSQL) and the photos copied afterwards are those the snapshot's rows name. Photo
files are written before their rows are committed, so every row in the snapshot already has its files. A photo
removed after the snapshot (its files go after the removal commits) makes the copy miss it: the snapshot is
then taken again. The checkpoint file is read before the snapshot, so none of its lines can point past the
snapshot's end of the event log.

The event key is in the archive only when asked for (--with-keys): whoever holds the archive and the key can
rewrite history undetected, so by default the key stays with its safe copy, and the manifest keeps only a
fingerprint to tell a restore whether the key it finds is the right one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from ..core.timeutil import utcnow
from ..events.checkpoints import checkpoint_file
from ..events.services import existing_event_key
from ..extensions import db
from ..photos.storage import PhotoStore, photo_store
from .databases import (
    DATABASE_MEMBER,
    BackupError,
    Snapshot,
    check_postgresql_dump,
    check_sqlite_file,
    database_kind,
    postgresql_snapshot,
    sqlite_snapshot,
)

FORMAT = 1
MANIFEST = "manifest.json"
CHECKPOINTS_MEMBER = "instance/checkpoints.jsonl"
EVENT_KEY_MEMBER = "keys/event_key"
PHOTO_PREFIX = "photos/"
SNAPSHOT_ATTEMPTS = 3
_CHUNK = 1024 * 1024


# --- the archive ----------------------------------------------------------------------------------------


def photo_member(sha256: str, thumbnail: bool) -> str:
    return f"{PHOTO_PREFIX}{sha256[:2]}/{sha256}{'.thumb' if thumbnail else ''}.jpg"


def parse_photo_member(name: str) -> tuple[str, bool] | None:
    """(sha256, thumbnail) of a photos/ member name, None for anything else."""
    if not name.startswith(PHOTO_PREFIX):
        return None
    base = name.rsplit("/", 1)[-1]
    thumbnail = base.endswith(".thumb.jpg")
    sha = base.removesuffix(".thumb.jpg" if thumbnail else ".jpg")
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha) or name != photo_member(sha, thumbnail):
        return None
    return sha, thumbnail


class ArchiveWriter:
    """Members added one by one, hashed on the way; the archive appears under its name only when complete."""

    def __init__(self, path: Path):
        self.path = path
        self.partial = path.with_name(f".{path.name}.partial")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the whole database
        self.file = os.fdopen(fd, "wb")
        if path.name.endswith((".gz", ".tgz")):
            self.tar = tarfile.open(fileobj=self.file, mode="w:gz", compresslevel=6)
        else:
            self.tar = tarfile.open(fileobj=self.file, mode="w")
        self.members: dict[str, dict[str, Any]] = {}

    def add_bytes(self, name: str, data: bytes) -> None:
        self._add(name, io.BytesIO(data), len(data), hashlib.sha256(data).hexdigest())

    def add_file(self, name: str, path: Path) -> None:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(chunk)
        with path.open("rb") as fh:
            self._add(name, fh, path.stat().st_size, digest.hexdigest())

    def _add(self, name: str, data: IO[bytes], size: int, sha256: str) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o600, int(utcnow().timestamp())
        self.tar.addfile(info, data)
        self.members[name] = {"sha256": sha256, "size": size}

    def finish(self, manifest: dict[str, Any]) -> None:
        self.add_bytes(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
        self.tar.close()
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.partial, self.path)

    def abandon(self) -> None:
        self.tar.close()
        self.file.close()
        self.partial.unlink(missing_ok=True)


# --- create ---------------------------------------------------------------------------------------------


@dataclass
class CreateReport:
    path: Path
    kind: str
    size: int
    photos: int
    photo_rows: int
    tables: dict[str, int]
    with_keys: bool
    snapshots: int


def create_backup(path: Path, with_keys: bool = False) -> CreateReport:
    """Write the archive: photos referenced by the snapshot, the snapshot, instance files, the manifest."""
    kind = database_kind(db.engine.url)
    checkpoints = _read_checkpoints()  # before the snapshot: no line may point past its end of the log
    writer = ArchiveWriter(path)
    try:
        with tempfile.TemporaryDirectory(prefix="auditapp-backup-") as work:
            snapshot, attempts = _snapshot_with_photos(kind, Path(work), writer, photo_store())
            writer.add_file(DATABASE_MEMBER[kind], snapshot.file)
            if checkpoints is not None:
                writer.add_bytes(CHECKPOINTS_MEMBER, checkpoints)
            key = existing_event_key()
            if with_keys and key is not None:
                writer.add_bytes(EVENT_KEY_MEMBER, key)
            writer.finish(_manifest(snapshot, writer.members, key))
    except BaseException:
        writer.abandon()
        raise
    photos = sum(1 for name in writer.members if parse_photo_member(name) and not name.endswith(".thumb.jpg"))
    return CreateReport(
        path, kind, path.stat().st_size, photos, snapshot.photo_rows, snapshot.tables, with_keys, attempts
    )


def _snapshot_with_photos(kind: str, work: Path, writer: ArchiveWriter, store: PhotoStore) -> tuple[Snapshot, int]:
    """Snapshot, then copy its photos; again (keeping what was copied) if one was removed in between."""
    take = sqlite_snapshot if kind == "sqlite" else postgresql_snapshot
    copied: set[str] = set()
    for attempt in range(1, SNAPSHOT_ATTEMPTS + 1):
        snapshot = take(work / f"snapshot-{attempt}")
        missing = _copy_photos(store, snapshot.photo_shas - copied, writer, copied)
        if not missing:
            return snapshot, attempt
    raise BackupError(
        f"photo files went missing during {SNAPSHOT_ATTEMPTS} snapshots (e.g. {sorted(missing)[0]}): "
        "photos are being removed, or the store lost files (`flask photos sweep` lists strays)"
    )


def _copy_photos(store: PhotoStore, shas: set[str], writer: ArchiveWriter, copied: set[str]) -> set[str]:
    """Add each photo and its thumbnail; return the hashes whose files are gone."""
    missing = set()
    for sha in sorted(shas):
        # Thumbnail first: the store writes it first and removes it last.
        thumbnail, image = store.read(sha, thumbnail=True), store.read(sha)
        if thumbnail is None or image is None:
            missing.add(sha)
            continue
        if hashlib.sha256(image).hexdigest() != sha:
            raise BackupError(f"the stored photo {sha} does not match its hash: restore it from an older backup")
        writer.add_bytes(photo_member(sha, True), thumbnail)
        writer.add_bytes(photo_member(sha, False), image)
        copied.add(sha)
    return missing


def _read_checkpoints() -> bytes | None:
    try:
        return checkpoint_file().read_bytes()
    except FileNotFoundError:
        return None


def key_fingerprint(key: bytes) -> str:
    """Tells keys apart without revealing them: a hash of the (random, 256-bit) key under a fixed label."""
    return hashlib.sha256(b"auditapp event key fingerprint\0" + key).hexdigest()[:16]


def app_version() -> str:
    try:
        return metadata.version("auditapp")
    except metadata.PackageNotFoundError:
        return "unknown"


def _manifest(snapshot: Snapshot, members: dict[str, dict[str, Any]], key: bytes | None) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "created_at": utcnow().isoformat(timespec="seconds"),
        "app_version": app_version(),
        "alembic_revision": snapshot.revision,
        "database": snapshot.kind,
        "photo_rows": snapshot.photo_rows,
        "tables": snapshot.tables,
        "event_key_fingerprint": key_fingerprint(key) if key is not None else None,
        "members": members,
    }


# --- verify ---------------------------------------------------------------------------------------------


@dataclass
class ArchiveCheck:
    """What reading an archive found; the database snapshot is left in `workdir` for a restore."""

    problems: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    database_file: Path | None = None
    photo_rows: int = 0
    photo_shas: set[str] = field(default_factory=set)


def check_archive(path: Path, workdir: Path) -> ArchiveCheck:
    """Read the whole archive: manifest, every member's hash and size, the snapshot, every photo row's file."""
    check = ArchiveCheck()
    try:
        found = _read_members(path, workdir)
    except BackupError as exc:
        check.problems.append(str(exc))
        return check
    check.manifest = _load_manifest(workdir, found, check.problems)
    if not check.manifest:
        return check
    check.problems += _compare_members(check.manifest.get("members", {}), found)
    kind = check.manifest.get("database")
    member = DATABASE_MEMBER.get(str(kind))
    if member is None or member not in found:
        check.problems.append(f"no database snapshot in the archive (database {kind!r})")
        return check
    check.database_file = workdir / member
    _check_snapshot(check, str(kind), found)
    return check


def _read_members(path: Path, workdir: Path) -> dict[str, tuple[str, int]]:
    """{name: (sha256, size)} of every file member; the manifest and the database snapshot are extracted."""
    found: dict[str, tuple[str, int]] = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for info in tar:
                if not info.isfile():
                    raise BackupError(f"unexpected member {info.name!r} (not a file)")
                if info.name in found:
                    raise BackupError(f"member {info.name!r} appears twice")
                keep = info.name == MANIFEST or info.name in DATABASE_MEMBER.values()
                found[info.name] = _hash_member(tar, info, workdir / info.name if keep else None)
    except FileNotFoundError:
        raise BackupError(f"{path}: no such file")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise BackupError(f"the archive is unreadable or cut short: {exc}")
    return found


def _hash_member(tar: tarfile.TarFile, info: tarfile.TarInfo, keep: Path | None) -> tuple[str, int]:
    source = tar.extractfile(info)
    assert source is not None  # a file member
    digest, size = hashlib.sha256(), 0
    out = None
    if keep is not None:
        keep.parent.mkdir(parents=True, exist_ok=True)
        out = keep.open("wb")
    try:
        for chunk in iter(lambda: source.read(_CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
            if out:
                out.write(chunk)
    finally:
        if out:
            out.close()
    if size != info.size:
        raise BackupError(f"member {info.name!r} is cut short")
    return digest.hexdigest(), size


def _load_manifest(workdir: Path, found: dict[str, tuple[str, int]], problems: list[str]) -> dict[str, Any]:
    if MANIFEST not in found:
        problems.append("no manifest.json in the archive: not an auditapp backup, or cut short")
        return {}
    try:
        manifest = json.loads((workdir / MANIFEST).read_text())
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("members"), dict):
        problems.append("manifest.json is not a manifest this version reads")
        return {}
    if manifest.get("format") != FORMAT:
        problems.append(f"manifest format {manifest.get('format')!r}: this version reads format {FORMAT}")
        return {}
    return manifest


def _compare_members(listed: dict[str, Any], found: dict[str, tuple[str, int]]) -> list[str]:
    problems = []
    for name, expected in sorted(listed.items()):
        if name not in found:
            problems.append(f"{name}: missing from the archive")
        elif found[name] != (expected.get("sha256"), expected.get("size")):
            problems.append(f"{name}: its content does not match the manifest (SHA-256 or size differs)")
    for name in sorted(set(found) - set(listed) - {MANIFEST}):
        problems.append(f"{name}: in the archive but not in the manifest")
    return problems


def _check_snapshot(check: ArchiveCheck, kind: str, found: dict[str, tuple[str, int]]) -> None:
    assert check.database_file is not None
    reader = check_sqlite_file if kind == "sqlite" else check_postgresql_dump
    problems, shas, photo_rows = reader(check.database_file)
    check.problems += problems
    if problems:
        return
    check.photo_rows, check.photo_shas = photo_rows, shas
    if photo_rows != check.manifest.get("photo_rows"):
        check.problems.append(
            f"the snapshot has {photo_rows} photo rows, the manifest says {check.manifest.get('photo_rows')}"
        )
    for sha in sorted(shas):
        check.problems += _photo_problems(sha, found)


def _photo_problems(sha: str, found: dict[str, tuple[str, int]]) -> list[str]:
    image, thumbnail = photo_member(sha, False), photo_member(sha, True)
    problems = []
    if image not in found:
        problems.append(f"photo {sha}: a photo row refers to it but its file is not in the archive")
    elif found[image][0] != sha:
        problems.append(f"photo {sha}: the file's content does not match its name (damaged)")
    if thumbnail not in found:
        problems.append(f"photo {sha}: its thumbnail is not in the archive")
    return problems


def iter_members(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, content) of every member but the database snapshot (read whole: photos and small files)."""
    with tarfile.open(path, "r:*") as tar:
        for info in tar:
            if info.name in DATABASE_MEMBER.values():
                continue
            source = tar.extractfile(info)
            if source is not None:
                yield info.name, source.read()
