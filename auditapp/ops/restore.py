"""Putting a backup archive back into an instance: checked first, into an empty instance unless forced.

SQLite: the snapshot is copied over the configured file with the backup API (so even a file some process
still has open ends up whole). PostgreSQL: pg_restore in one transaction. Photos go back through the photo
store, thumbnail before image as the store writes them. The instance's checkpoint file and (when the archive
holds it) the event key are put back; a file already there that differs is kept beside it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import text

from ..events.checkpoints import checkpoint_file
from ..events.services import existing_event_key
from ..extensions import db
from ..photos.storage import photo_store
from .backup import (
    CHECKPOINTS_MEMBER,
    EVENT_KEY_MEMBER,
    ArchiveCheck,
    check_archive,
    iter_members,
    key_fingerprint,
    parse_photo_member,
)
from .databases import (
    BackupError,
    database_kind,
    describe,
    live_tables,
    postgresql_restore,
    postgresql_wipe,
    sqlite_restore,
)


@dataclass
class RestoreReport:
    kind: str
    revision: str | None
    tables: dict[str, int]
    photo_rows: int
    photos: int
    checkpoints: bool
    key: str  # what became of the event key, in words
    problems: list[str] = field(default_factory=list)


def instance_contents() -> list[str]:
    """What the configured instance already holds; an empty list when it is empty enough to restore into."""
    held = []
    with db.engine.connect() as conn:
        tables = live_tables(conn)
        others = [t for t in tables if t != "alembic_version"]
        if others:
            held.append(f"{len(others)} tables in the database")
        elif "alembic_version" in tables and conn.scalar(text("SELECT count(*) FROM alembic_version")):
            held.append("a migrated database (alembic_version has a revision)")
    if any(not f.temporary for f in photo_store().files()):  # the first one is enough: a store may be large
        held.append("photos in the photo store")
    return held


def check_for_restore(path: Path, workdir: Path, force: bool) -> tuple[ArchiveCheck, list[str]]:
    """The checked archive and what the instance holds; refuses a bad archive, or a full instance without force."""
    check = check_archive(path, workdir)
    if check.problems:
        raise BackupError("the archive fails its check:\n  " + "\n  ".join(check.problems))
    kind = database_kind(db.engine.url)
    if check.manifest["database"] != kind:
        raise BackupError(f"the archive holds a {check.manifest['database']} database; this instance uses {kind}")
    held = instance_contents() + _key_conflict(check)
    if held and not force:
        raise BackupError(
            f"the instance is not empty ({'; '.join(held)}): restore into an empty instance, "
            "or add --force to wipe its database first"
        )
    return check, held


def _key_conflict(check: ArchiveCheck) -> list[str]:
    """The instance's own event key file, when the archive brings a different one."""
    path = Path(current_app.instance_path) / "event_key"
    expected = check.manifest.get("event_key_fingerprint")
    if EVENT_KEY_MEMBER in check.manifest["members"] and path.exists() and expected:
        if key_fingerprint(path.read_text().strip().encode()) != expected:
            return ["instance/event_key holds a different event key"]
    return []


def restore_backup(path: Path, check: ArchiveCheck, wipe: bool) -> RestoreReport:
    """Put the checked archive's database, photos, checkpoints and key into this instance; then check it."""
    kind = str(check.manifest["database"])
    assert check.database_file is not None  # check_archive found it
    if kind == "sqlite":
        sqlite_restore(check.database_file)  # replaces the whole file: nothing to wipe first
    else:
        if wipe:
            with db.engine.begin() as conn:
                postgresql_wipe(conn)
        postgresql_restore(check.database_file)
    photos, checkpoints, key = _restore_files(path, check)
    report = RestoreReport(kind, check.manifest.get("alembic_revision"), {}, check.photo_rows, photos, checkpoints, key)
    _check_restored(report, check)
    return report


def _restore_files(path: Path, check: ArchiveCheck) -> tuple[int, bool, str]:
    """Photos the snapshot refers to (through the store), the checkpoint file and the event key."""
    store, photos, checkpoints, key = photo_store(), 0, False, None
    for name, data in iter_members(path):
        photo = parse_photo_member(name)
        if photo is not None and photo[0] in check.photo_shas:
            store.write(photo[0], data, thumbnail=photo[1])
            photos += 0 if photo[1] else 1
        elif name == CHECKPOINTS_MEMBER:
            _put_instance_file(checkpoint_file(), data)
            checkpoints = True
        elif name == EVENT_KEY_MEMBER:
            key = data
    return photos, checkpoints, _restore_key(check.manifest.get("event_key_fingerprint"), key)


def _put_instance_file(target: Path, data: bytes) -> None:
    """Write an instance file (0600); one already there with other content is kept as <name>.before-restore."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        if target.read_bytes() == data:
            return
        os.replace(target, target.with_name(target.name + ".before-restore"))
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _restore_key(expected: str | None, archived: bytes | None) -> str:
    """Put the archived key in instance/event_key unless a key is configured; say what the log will be checked with."""
    if archived is not None and not current_app.config.get("EVENT_KEY"):
        _put_instance_file(Path(current_app.instance_path) / "event_key", archived + b"\n")
        current_app.extensions.pop("auditapp_event_key", None)  # read again on next use
    current = existing_event_key()
    if expected is None:
        return "the backup was made before the event log had a key"
    if current is None:
        return (
            "NOT in the archive (made without --with-keys): copy the event key from its safe copy to "
            "instance/event_key (or set AUDITAPP_EVENT_KEY) before starting the app, or `flask events verify` fails"
        )
    if key_fingerprint(current) != expected:
        return (
            "WARNING: this instance's event key is not the one the backup was made with: "
            "`flask events verify` fails until AUDITAPP_EVENT_KEY or instance/event_key holds the original key"
        )
    return "in place (" + ("restored from the archive" if archived is not None else "this instance's own") + ")"


def _check_restored(report: RestoreReport, check: ArchiveCheck) -> None:
    """Rows per table as the snapshot had them, and every photo readable with its hash."""
    with db.engine.connect() as conn:
        _revision, _shas, _rows, report.tables = describe(
            lambda sql: [tuple(r) for r in conn.execute(text(sql))], live_tables(conn)
        )
    if report.tables != check.manifest.get("tables"):
        report.problems.append("the restored tables do not hold the rows the backup counted")
    store = photo_store()
    for sha in sorted(check.photo_shas):
        data = store.read(sha)
        if data is None or hashlib.sha256(data).hexdigest() != sha or store.read(sha, thumbnail=True) is None:
            report.problems.append(f"photo {sha}: not readable back from the store with its hash")
