"""Writing to and checking the event log. Nothing here updates or deletes an entry.

Each entry stores an HMAC-SHA256 of its own content and of the entry before it, keyed with a secret
kept outside the database (``instance/event_key`` or ``AUDITAPP_EVENT_KEY``): changing, removing or
inserting an entry anywhere breaks the chain at that point (`flask events verify`), and whoever holds
only the database cannot recompute it. Entries written before the key existed carry a plain SHA-256
(``hash_scheme`` 'sha256') and stay verifiable; none may follow a keyed entry.
The database refuses UPDATE and DELETE on the table as well (triggers in the migrations).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from flask import current_app
from sqlalchemy import Table, func, insert, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from ..config import load_or_create_event_key
from ..core import observed as observation
from ..core.timeutil import utcnow
from ..extensions import db
from .models import SCHEME_HMAC, SCHEME_SHA256, Event, EventChainHead

if TYPE_CHECKING:  # annotations only: accounts sits above the event log (it records its changes there)
    from ..accounts.models import User

GENESIS = "0" * 64


def existing_event_key() -> bytes | None:
    """The chain's key as configured or in the instance folder; None when none was made yet (none is made)."""
    configured = current_app.config.get("EVENT_KEY")
    if configured:
        return str(configured).encode()
    path = Path(current_app.instance_path) / "event_key"
    return path.read_text().strip().encode() if path.exists() else None


def event_key() -> bytes:
    """The key of the chain: AUDITAPP_EVENT_KEY (config EVENT_KEY), else instance/event_key, made on first use."""
    key = current_app.extensions.get("auditapp_event_key")
    if key is None:
        configured = current_app.config.get("EVENT_KEY")
        key = (configured or load_or_create_event_key(Path(current_app.instance_path))).encode()
        current_app.extensions["auditapp_event_key"] = key
    return key


def record(
    actor: User | None,
    entity_type: str,
    entity_id: int | str,
    action: str,
    changes: dict[str, Any] | None = None,
    audit_id: int | None = None,
    item_id: int | None = None,
) -> Event:
    """Append one event to the change: it is chained to the log's last entry when the change commits.

    The entry is written by the commit (chain_at_commit), so the log's head is locked only from there to
    the end of the commit, after every other row of the change is written: one global chain, whose lock
    is held for one statement and the commit, not for the whole change."""
    # A JSON round trip, so what is hashed is exactly what the database gives back later.
    changes = json.loads(json.dumps(changes or {}, default=str))
    observed = observation.current()
    event = Event(
        observed_at=observed.at if observed else None,
        observed_note=(observed.note or None) if observed else None,
        occurred_at=utcnow(),
        actor_id=getattr(actor, "id", None),
        entity_type=entity_type,
        entity_id=str(entity_id),
        action=action,
        changes=changes,
        audit_id=audit_id,
        item_id=item_id,
        hash_scheme=SCHEME_HMAC,
    )
    # What the change wrote so far is written now, in the order it was recorded (a rule that a trigger
    # checks, such as "no action of a withdrawn nonconformity changes", sees the rows in that order).
    db.session.flush()
    db.session.info.setdefault(UNCHAINED, []).append(event)
    return event


UNCHAINED = "events_to_chain"


@sa_event.listens_for(Session, "before_commit")
def chain_at_commit(session: Session) -> None:
    """Chain the events recorded in this transaction onto the log and insert them, last thing before the commit."""
    pending = session.info.pop(UNCHAINED, None)
    if not pending:
        return
    session.flush()  # the change's own rows first: the head is then held for the entries and the commit only
    seq, prev_hash = _take_chain_head(session)
    for event in pending:
        event.seq, event.prev_hash = seq, prev_hash
        event.hash = prev_hash = entry_hash(event)
        seq += 1
    # Inserting each moves the head onto it (a trigger, migration 0014). One plain INSERT, in chain order:
    # nothing reads the entries back as objects, and the unit of work would cost every change a flush more.
    rows = [{c.key: getattr(event, c.key) for c in _ENTRY_COLUMNS} for event in pending]
    session.connection().execute(_INSERT_ENTRY, rows if len(rows) > 1 else rows[0])


_ENTRY_COLUMNS = [c for c in Event.__table__.columns if c.key != "id"]
# The table's insert, not the entity's: the ORM's bulk path costs more than the flush it saves.
_INSERT_ENTRY = insert(cast(Table, Event.__table__))


@sa_event.listens_for(Session, "after_rollback")
def _forget_unchained(session: Session) -> None:
    session.info.pop(UNCHAINED, None)


def begin_change() -> None:
    """Take the change lock before reading the state a change depends on.

    Every change writes the event log, whose head row serialises writers anyway; taking it first
    means checks like "is the audit still open?" see the latest committed state, and all writers
    lock in one order (no deadlocks on PostgreSQL, no stale reads on SQLite).
    """
    db.session.execute(update(EventChainHead).where(EventChainHead.id == 1).values(last_seq=EventChainHead.last_seq))


# Built once: every change runs it.
_TAKE_HEAD = (
    update(EventChainHead)
    .where(EventChainHead.id == 1)
    .values(last_seq=EventChainHead.last_seq)
    .returning(EventChainHead.last_seq, EventChainHead.last_hash)
    .execution_options(synchronize_session=False)
)


def _take_chain_head(session: Session) -> tuple[int, str]:
    """Lock the chain head until the commit and return (next seq, previous hash), in one statement."""
    # The no-op UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite) and RETURNING reads the
    # head as it is once the lock is held, so two transactions can never both chain onto the same entry.
    head = session.execute(_TAKE_HEAD).one_or_none()
    if head is None:
        session.add(EventChainHead(id=1, last_seq=0, last_hash=GENESIS))
        session.flush()
        return 1, GENESIS
    return head.last_seq + 1, head.last_hash


def entry_hash(event: Event, key: bytes | None = None) -> str:
    """HMAC-SHA256 (or, for entries made before the key, SHA-256) over the previous hash and every field."""
    content = {
        "seq": event.seq,
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "action": event.action,
        "changes": event.changes,
        "audit_id": event.audit_id,
        "item_id": event.item_id,
    }
    # A change made offline: the device's time is data of the entry (entries without it hash as before).
    if event.observed_at is not None:
        content["observed_at"] = event.observed_at.isoformat(timespec="microseconds")
    if event.observed_note:
        content["observed_note"] = event.observed_note
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    message = (event.prev_hash + canonical).encode()
    if event.hash_scheme == SCHEME_SHA256:
        return hashlib.sha256(message).hexdigest()
    if event.hash_scheme != SCHEME_HMAC:
        raise ValueError(f"unknown hash scheme {event.hash_scheme!r}")
    return hmac.new(key if key is not None else event_key(), message, hashlib.sha256).hexdigest()


@dataclass
class ChainBreak:
    seq: int
    event_id: int | None
    reason: str

    def __str__(self) -> str:
        return f"entry {self.seq} (event id {self.event_id}): {self.reason}"


def verify_chain(batch: int = 5000) -> tuple[int, ChainBreak | None]:
    """Walk the log in chain order; return (entries checked, the first broken link or None)."""
    expected_prev, expected_seq, checked = GENESIS, 1, 0
    last_seq, keyed_seen, key = 0, False, event_key()
    while True:
        # populate_existing: check what the database holds now, not entries cached in this session.
        rows = db.session.scalars(
            select(Event)
            .where(Event.seq > last_seq)
            .order_by(Event.seq)
            .limit(batch)
            .execution_options(populate_existing=True)
        ).all()
        if not rows:
            break
        for event in rows:
            if event.seq != expected_seq:
                return checked, ChainBreak(expected_seq, None, f"missing: the next entry found is {event.seq}")
            if event.prev_hash != expected_prev:
                return checked, ChainBreak(event.seq, event.id, "does not follow the entry before it")
            if event.hash_scheme == SCHEME_SHA256 and keyed_seen:
                return checked, ChainBreak(event.seq, event.id, "an unkeyed entry after keyed ones: it was rewritten")
            if event.hash_scheme not in (SCHEME_SHA256, SCHEME_HMAC) or entry_hash(event, key) != event.hash:
                return checked, ChainBreak(event.seq, event.id, "its content was changed after it was written")
            keyed_seen = keyed_seen or event.hash_scheme == SCHEME_HMAC
            expected_prev, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
            last_seq = event.seq
            db.session.expunge(event)  # keep memory flat on a long log
    head = db.session.get(EventChainHead, 1, populate_existing=True)
    if head is not None and (head.last_seq != checked or head.last_hash != expected_prev):
        return checked, ChainBreak(checked + 1, None, f"the log ends early: {head.last_seq} entries were written")
    return checked, None


def unkeyed_entries() -> int:
    """How many entries were written before the log had a key (plain SHA-256: only the chain protects them)."""
    return db.session.scalar(select(func.count(Event.id)).where(Event.hash_scheme == SCHEME_SHA256)) or 0


def apply_changes(obj: object, **values: Any) -> dict[str, list[Any]]:
    """Set the attributes that differ and return them as {"field": [old, new]} for the log."""
    changes: dict[str, list[Any]] = {}
    for field, new in values.items():
        old = getattr(obj, field)
        if old != new:
            changes[field] = [old, new]
            setattr(obj, field, new)
    return changes


def history(entity_type: str, entity_id: int | str) -> list[Event]:
    """Every event of one record, oldest first."""
    return list(
        db.session.scalars(
            db.select(Event)
            .where(Event.entity_type == entity_type, Event.entity_id == str(entity_id))
            .order_by(Event.seq)
        ).all()
    )


def item_history(audit_id: int, item_id: int) -> list[Event]:
    """Every event about one checklist item of one audit: answers, notes, findings, photos."""
    return list(
        db.session.scalars(
            db.select(Event).where(Event.audit_id == audit_id, Event.item_id == item_id).order_by(Event.seq)
        ).all()
    )


def first_events(audit_id: int, entity_type: str) -> dict[str, Event]:
    """The first event of each record of one kind in an audit (when a finding was observed, for the report)."""
    first: dict[str, Event] = {}
    for event in db.session.scalars(
        db.select(Event).where(Event.audit_id == audit_id, Event.entity_type == entity_type).order_by(Event.seq)
    ):
        first.setdefault(event.entity_id, event)
    return first
