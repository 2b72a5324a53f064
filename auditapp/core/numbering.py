"""Gap-free, per-year human-facing numbers (AUD-2026-001, NC-2026-0001) that stay unique under concurrent saves."""

from __future__ import annotations

from sqlalchemy import Integer, String, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model, db


class NumberSequence(Model):
    """Per-year counters for human-facing numbers."""

    __tablename__ = "number_sequences"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


def next_number(name: str, year: int) -> int:
    """Take the next number of a yearly sequence inside the caller's transaction.

    The UPDATE holds a row lock (PostgreSQL) or the write lock (SQLite) until commit, so
    concurrent callers queue here instead of reading the same value.
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(
        insert(NumberSequence)
        .values(name=name, year=year, last=0)
        .on_conflict_do_nothing(index_elements=["name", "year"])
    )
    db.session.execute(
        update(NumberSequence)
        .where(NumberSequence.name == name, NumberSequence.year == year)
        .values(last=NumberSequence.last + 1)
    )
    last = db.session.scalar(
        select(NumberSequence.last).where(NumberSequence.name == name, NumberSequence.year == year)
    )
    assert last is not None  # the row was inserted above if it was missing
    return last
