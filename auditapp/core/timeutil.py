"""One clock for stored timestamps: naive UTC, the same on SQLite and PostgreSQL."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time in UTC without tzinfo, as every DateTime column stores it."""
    return datetime.now(UTC).replace(tzinfo=None)
