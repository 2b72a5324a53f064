"""One plausible row in every table of a database, whatever its revision: reflected, then filled column by
column from the column's type, its foreign keys and its CHECK ... IN (...) constraints; a few columns whose
values carry meaning the schema cannot say (a role the app knows, an audit's status) get one explicit value."""

import re
from datetime import UTC, date, datetime

from sqlalchemy import JSON, Boolean, Connection, Date, DateTime, Float, Integer, MetaData, Numeric, String, Table
from sqlalchemy import inspect as inspect_db
from werkzeug.security import generate_password_hash

from .accounts import PASSWORD

EMAIL = "upgrade@example.com"
# Values the app gives meaning to, by table.column or by column name (first match wins).
MEANINGFUL = {
    "users.email": EMAIL,
    "users.role": "admin",
    "users.active": True,
    "users.password_hash": generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"),
    "audits.status": "in_progress",
    "checklist_items.results": ["conform", "minor_nc", "major_nc", "observation", "ofi"],
    "checklist_items.photo_rule": "optional",
    "findings.status": "open",
    "corrective_actions.status": "open",
    "nonconformities.status": "open",
    "grade": "minor_nc",
    "result": "minor_nc",
    "severity": "minor",
    "clause": "7.1.5",  # an ISO 9001 clause number, as the checklist loader admits
    "source": "internal_audit",
    "seq": 1,
    "year": date.today().year,
    "sha256": "ab" * 32,
    "hash": "cd" * 32,
    "prev_hash": "0" * 64,
    "content_type": "image/jpeg",
}
NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def fill_every_table(conn: Connection, skip: set[str] = frozenset()) -> dict[str, dict]:
    """Insert one row per table (but alembic_version and `skip`) in foreign-key order; the rows, by table."""
    metadata = MetaData()
    metadata.reflect(bind=conn)
    checks = {name: inspect_db(conn).get_check_constraints(name) for name in metadata.tables}
    rows: dict[str, dict] = {}
    for table in metadata.sorted_tables:
        if table.name in skip | {"alembic_version"}:
            continue
        values = {c.name: _value(table, c, rows, checks[table.name]) for c in table.columns if _needs_value(table, c)}
        inserted = conn.execute(table.insert().values(**values))
        values.update(zip((c.name for c in table.primary_key), inserted.inserted_primary_key, strict=True))
        rows[table.name] = values
    return rows


def _needs_value(table: Table, column) -> bool:
    """NOT NULL columns, and foreign keys (related rows make the upgrade carry relations); not a generated id."""
    generated = column.primary_key and len(table.primary_key) == 1 and isinstance(column.type, Integer)
    return not generated and (not column.nullable or bool(column.foreign_keys))


def _value(table: Table, column, rows: dict[str, dict], checks: list[dict]):
    for key in (f"{table.name}.{column.name}", column.name):
        if key in MEANINGFUL:
            return MEANINGFUL[key]
    if column.foreign_keys:
        target = next(iter(column.foreign_keys)).column
        return rows[target.table.name][target.name]
    allowed = _allowed_values(column.name, checks)
    return allowed[0] if allowed else _by_type(column)


def _allowed_values(name: str, checks: list[dict]) -> list[str]:
    """The quoted values of a CHECK constraint on this column ("role IN ('a', 'b')", or PostgreSQL's ANY form)."""
    for check in checks:
        sql = check.get("sqltext") or ""
        if re.search(rf"\b{re.escape(name)}\b", sql):
            return re.findall(r"'([^']*)'", sql)
    return []


def _by_type(column):
    kind = column.type
    if isinstance(kind, Boolean):
        return True
    if isinstance(kind, DateTime):
        return NOW
    if isinstance(kind, Date):
        return date.today()
    if isinstance(kind, (Integer, Numeric, Float)):
        return 1
    if isinstance(kind, JSON):
        return {}
    if isinstance(kind, String):
        text = f"{column.table.name} {column.name}"
        return text[: kind.length] if kind.length else text
    raise AssertionError(f"no plausible value for {column.table.name}.{column.name} of type {kind!r}")
