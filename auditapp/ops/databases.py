"""The database side of a backup: a consistent snapshot (SQLite's online backup API, or pg_dump of a snapshot
exported by a transaction that reads the same rows), what it holds, its check, and putting it back.

PostgreSQL's tools get a libpq URL without the password, which goes in PGPASSWORD: never on a command line,
where other users of the host could read it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, Connection

from ..extensions import db


class BackupError(Exception):
    """A backup, check or restore that cannot go on; the message says why, for the operator."""


DATABASE_MEMBER = {"sqlite": "database/auditapp.sqlite3", "postgresql": "database/auditapp.pgdump"}


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
