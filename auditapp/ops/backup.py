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
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from flask import current_app
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, Connection

from ..core.timeutil import utcnow
from ..extensions import db
from ..photos.storage import PhotoStore, photo_store

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE_MEMBER = {"sqlite": "database/auditapp.sqlite3", "postgresql": "database/auditapp.pgdump"}
CHECKPOINTS_MEMBER = "instance/checkpoints.jsonl"
EVENT_KEY_MEMBER = "keys/event_key"
PHOTO_PREFIX = "photos/"
SNAPSHOT_ATTEMPTS = 3
_CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup, check or restore that cannot go on; the message says why, for the operator."""


# --- what a database snapshot holds ----------------------------------------------------------------------


@dataclass
class Snapshot:
    kind: str  # "sqlite" or "postgresql"
    file: Path
    revision: str | None
    photo_shas: set[str]
    photo_rows: int
    tables: dict[str, int]  # rows per table


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def describe(rows: Callable[[str], list[tuple[Any, ...]]], tables: list[str]) -> tuple[str | None, set[str], int, dict]:
    """(alembic revision, photo hashes, photo rows, rows per table) of a database, through `rows(sql)`."""
    counts = {name: int(rows(f"SELECT count(*) FROM {_quoted(name)}")[0][0]) for name in sorted(tables)}
    revision = rows("SELECT version_num FROM alembic_version") if "alembic_version" in tables else []
    shas = {sha for (sha,) in rows("SELECT DISTINCT sha256 FROM photos")} if "photos" in tables else set()
    return (revision[0][0] if revision else None), shas, counts.get("photos", 0), counts


def database_kind(url: URL) -> str:
    if url.get_backend_name() in DATABASE_MEMBER:
        return url.get_backend_name()
    raise BackupError(f"backups support SQLite and PostgreSQL, not {url.get_backend_name()}")


def live_tables(conn: Connection) -> list[str]:
    return list(inspect(conn).get_table_names())


def _sqlalchemy_rows(conn: Connection) -> Callable[[str], list[tuple[Any, ...]]]:
    return lambda sql: [tuple(row) for row in conn.execute(text(sql))]


# --- SQLite ---------------------------------------------------------------------------------------------


def _sqlite_rows(conn: sqlite3.Connection) -> Callable[[str], list[tuple[Any, ...]]]:
    return lambda sql: conn.execute(sql).fetchall()


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    found = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return [name for (name,) in found]


def sqlite_snapshot(target: Path) -> Snapshot:
    """The live database copied page by page (the online backup API: writers go on meanwhile), as one file."""
    raw = db.engine.raw_connection()
    try:
        with closing(sqlite3.connect(target)) as copy:
            raw.driver_connection.backup(copy)  # type: ignore[union-attr]  # a sqlite3.Connection here
    finally:
        raw.close()
    return _describe_sqlite_file(target)


def _describe_sqlite_file(path: Path) -> Snapshot:
    conn = sqlite3.connect(path)
    try:
        # One self-contained file: no -wal beside it in the archive.
        conn.execute("PRAGMA journal_mode=DELETE")
        revision, shas, photo_rows, tables = describe(_sqlite_rows(conn), _sqlite_tables(conn))
    finally:
        conn.close()
    return Snapshot("sqlite", path, revision, shas, photo_rows, tables)


def check_sqlite_file(path: Path) -> tuple[list[str], set[str], int]:
    """(problems, photo hashes, photo rows) of a SQLite snapshot: PRAGMA integrity_check, then its photo rows."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            if result != ["ok"]:
                return [f"the database snapshot is damaged: {'; '.join(result[:5])}"], set(), 0
            _revision, shas, photo_rows, _tables = describe(_sqlite_rows(conn), _sqlite_tables(conn))
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return [f"the database snapshot does not open as SQLite: {exc}"], set(), 0
    return [], shas, photo_rows


def sqlite_restore(snapshot: Path) -> None:
    """Copy the snapshot over the configured database with the backup API (safe on a live WAL file)."""
    db.engine.dispose()
    raw = db.engine.raw_connection()
    try:
        with closing(sqlite3.connect(snapshot)) as source:
            source.backup(raw.driver_connection)  # type: ignore[arg-type]  # a sqlite3.Connection here
    finally:
        raw.close()
    db.engine.dispose()


# --- PostgreSQL -----------------------------------------------------------------------------------------


def pg_tool(name: str) -> str:
    """pg_dump or pg_restore: on PATH, else the newest under /usr/lib/postgresql/*/bin (Debian)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: _version(p.parts[-3]))
    if candidates:
        return str(candidates[-1])
    raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client); PostgreSQL needs it")


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URL without the password, and an environment carrying it (never on a command line)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    # Built anew: URL.set(password=None) would keep the password (None there means "unchanged").
    plain = URL.create("postgresql", url.username, None, url.host, url.port, url.database, url.query)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], what: str) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip() or f'exit status {done.returncode}'}")
    return done.stdout


def postgresql_snapshot(target: Path) -> Snapshot:
    """pg_dump (custom format) of a snapshot this transaction exports, and what that same snapshot holds."""
    dsn, env = libpq(db.engine.url)
    with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        exported = conn.scalar(text("SELECT pg_export_snapshot()"))
        revision, shas, photo_rows, tables = describe(_sqlalchemy_rows(conn), live_tables(conn))
        # pg_dump joins the exported snapshot while this transaction holds it open.
        dump = [pg_tool("pg_dump"), "--format=custom", f"--snapshot={exported}", f"--file={target}", f"--dbname={dsn}"]
        _run(dump, env, "pg_dump")
    return Snapshot("postgresql", target, revision, shas, photo_rows, tables)


def check_postgresql_dump(path: Path) -> tuple[list[str], set[str], int]:
    """(problems, photo hashes, photo rows) of a pg_dump file: pg_restore --list, then the photos table's data."""
    env = dict(os.environ)
    try:
        _run([pg_tool("pg_restore"), "--list", str(path)], env, "pg_restore --list")
        data = _run([pg_tool("pg_restore"), "--data-only", "--table=photos", "--file=-", str(path)], env, "pg_restore")
    except BackupError as exc:
        return [f"the database snapshot does not read as a PostgreSQL dump: {exc}"], set(), 0
    shas, rows = _copied_column(data, "sha256")
    return [], set(shas), rows


def _copied_column(script: str, column: str) -> tuple[list[str], int]:
    """The values of one column in the COPY ... FROM stdin block of a pg_restore script, and the row count."""
    values: list[str] = []
    index = None
    for line in script.splitlines():
        if index is None:
            if line.startswith("COPY ") and "FROM stdin" in line:
                names = [n.strip().strip('"') for n in line[line.index("(") + 1 : line.index(")")].split(",")]
                index = names.index(column)
            continue
        if line == "\\.":
            break
        values.append(line.split("\t")[index])
    return values, len(values)


def postgresql_wipe(conn: Connection) -> None:
    """Drop every table, sequence, function and type of the app's schema (restore --force)."""
    tables = live_tables(conn)
    if tables:
        conn.execute(text(f"DROP TABLE IF EXISTS {', '.join(_quoted(t) for t in tables)} CASCADE"))
    for (sequence,) in conn.execute(
        text("SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = current_schema()")
    ):
        conn.execute(text(f"DROP SEQUENCE IF EXISTS {_quoted(sequence)} CASCADE"))
    for (function,) in conn.execute(
        text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = current_schema() AND NOT EXISTS "
            "(SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')"
        )
    ):
        conn.execute(text(f"DROP FUNCTION IF EXISTS {function} CASCADE"))
    for (type_name,) in conn.execute(
        text(
            "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd')"
        )
    ):
        conn.execute(text(f"DROP TYPE IF EXISTS {_quoted(type_name)} CASCADE"))


def postgresql_restore(dump: Path) -> None:
    """pg_restore into the configured database, in one transaction: a failure leaves it as it was."""
    dsn, env = libpq(db.engine.url)
    db.engine.dispose()
    command = [pg_tool("pg_restore"), "--no-owner", "--no-acl", "--clean", "--if-exists", "--single-transaction"]
    _run([*command, "--exit-on-error", f"--dbname={dsn}", str(dump)], env, "pg_restore")


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
            key = current_event_key()
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
    path = Path(current_app.config.get("CHECKPOINT_FILE") or Path(current_app.instance_path) / "checkpoints.jsonl")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def current_event_key() -> bytes | None:
    """The event log's key as configured or in the instance folder; None when none was made yet (none is made)."""
    configured = current_app.config.get("EVENT_KEY")
    if configured:
        return str(configured).encode()
    path = Path(current_app.instance_path) / "event_key"
    return path.read_text().strip().encode() if path.exists() else None


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
