"""When an auditor made a change, as the device's clock says: a change kept offline reaches the server
later (minutes, or a shift), and the audit record must say when it was observed, not when it synced.

A phone sends the time it kept the change (the X-Observed-At header of a replayed change, or
observedAt in an outbox batch, which becomes that header of its sub-request). The device's clock is
not trusted blindly: a time ahead of the server's by more than SKEW, older than MAX_AGE, or before
the audit was planned is not used (the received time stands, and a note says why). The accepted time
is data of the change's events (Event.observed_at, under the chain's hash); the chain's order and
its own time (occurred_at) stay the server's.

No HTTP here: core/changes.py reads the header and calls `observing` around the change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .timeutil import utcnow

OBSERVED_HEADER = "X-Observed-At"
# A phone's clock a little ahead of the server's is normal; more is a wrong clock.
SKEW = timedelta(minutes=2)
# As long as a phone may keep a change and the server still recognises its id (changes prune: 30 days).
MAX_AGE = timedelta(days=30)
# History and reports say "recorded offline …, received …" when the two differ by more than this.
NOTABLE_DELAY = timedelta(minutes=5)


@dataclass(frozen=True)
class Observed:
    """The device's time of a change (naive UTC, as every time in the database), or None with why not."""

    at: datetime | None
    note: str = ""


_current: ContextVar[Observed | None] = ContextVar("auditapp_observed", default=None)


def _fmt(moment: datetime) -> str:
    return moment.strftime("%d %b %Y %H:%M:%S UTC")


def parse_device_time(raw: str | None, received: datetime | None = None) -> Observed | None:
    """The device's time as sent (ISO 8601, with its offset; Z for UTC), judged against the received time.

    None when nothing was sent; an Observed without a time (and a note) when it is not usable."""
    if not raw:
        return None
    received = received or utcnow()
    text = raw.strip()[:40]
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return Observed(None, f"the device's time {text!r} is not a time; the received time is used")
    if moment.tzinfo is None:
        return Observed(None, f"the device's time {text!r} names no time zone; the received time is used")
    moment = moment.astimezone(UTC).replace(tzinfo=None)
    if moment > received + SKEW:
        return Observed(None, f"the device's clock was ahead ({_fmt(moment)}); the received time is used")
    if moment < received - MAX_AGE:
        return Observed(None, f"the device's time {_fmt(moment)} is too far in the past; the received time is used")
    return Observed(min(moment, received))


@contextmanager
def observing(observed: Observed | None) -> Iterator[None]:
    """Within the block, changes recorded are the ones observed at this time."""
    token = _current.set(observed)
    try:
        yield
    finally:
        _current.reset(token)


def current() -> Observed | None:
    return _current.get()


def not_before(earliest: datetime | None, what: str) -> None:
    """Refuse a device time before the record it changes existed (e.g. the audit was planned)."""
    observed = _current.get()
    if earliest is None or observed is None or observed.at is None or observed.at >= earliest:
        return
    note = f"the device's time {_fmt(observed.at)} is before {what}; the received time is used"
    _current.set(Observed(None, note))


def observation_time() -> datetime:
    """When the change being recorded was made: the device's accepted time, else now."""
    observed = _current.get()
    return observed.at if observed is not None and observed.at is not None else utcnow()


def notable(observed_at: datetime | None, received_at: datetime | None) -> bool:
    """Whether the observation and its reception are far enough apart to say so on screen."""
    return observed_at is not None and received_at is not None and abs(received_at - observed_at) > NOTABLE_DELAY
