"""Gap-free, per-year human-facing numbers that stay unique under concurrent saves."""
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from .models import NumberSequence


def next_number(name: str, year: int) -> int:
    """Take the next number of a yearly sequence inside the caller's transaction.

    The UPDATE holds a row lock (PostgreSQL) or the write lock (SQLite) until commit, so
    concurrent callers queue here instead of reading the same value.
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(
        insert(NumberSequence).values(name=name, year=year, last=0).on_conflict_do_nothing(
            index_elements=["name", "year"])
    )
    db.session.execute(
        update(NumberSequence).where(NumberSequence.name == name, NumberSequence.year == year)
        .values(last=NumberSequence.last + 1)
    )
    return db.session.scalar(
        select(NumberSequence.last).where(NumberSequence.name == name, NumberSequence.year == year)
    )
