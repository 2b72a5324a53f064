"""The append-only event log: who changed what, and when; each entry chained to the one before."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.observed import notable
from ..core.timeutil import utcnow
from ..extensions import Model

# How an entry's hash was made: plain SHA-256 before the log had a key, HMAC-SHA256 with the key since.
SCHEME_SHA256 = "sha256"
SCHEME_HMAC = "hmac-sha256-v1"

if TYPE_CHECKING:  # annotations only: accounts sits above the event log (it records its changes there)
    from ..accounts.models import User


class Event(Model):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Position in the hash chain: the order entries were committed in (ids may interleave).
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    # {"field": [old, new]} for changes, or a small description for other actions.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Where in an audit it happened, so an item's whole history is one query.
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audits.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_items.id"))
    # A change made offline: when the device says it was made (occurred_at is when the server got it),
    # or why the device's time was not used (core/observed.py). Data of the entry, hashed with it when
    # set; never its order (seq).
    observed_at: Mapped[datetime | None] = mapped_column(DateTime)
    observed_note: Mapped[str | None] = mapped_column(String(200))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    hash_scheme: Mapped[str] = mapped_column(String(20), default=SCHEME_HMAC, server_default=SCHEME_SHA256)

    actor: Mapped[User | None] = relationship("User")

    @property
    def observed_or_received(self) -> datetime:
        """When it happened: the device's time of a change made offline, else when the server recorded it."""
        return self.observed_at or self.occurred_at

    @property
    def received_late(self) -> bool:
        """Made offline and received more than a few minutes later: history says both times."""
        return notable(self.observed_at, self.occurred_at)


class EventChainHead(Model):
    """One row: the last entry of the chain (each insert into events moves it, a trigger: 0014).
    Locking it (a no-op UPDATE) serialises the writers of the log."""

    __tablename__ = "event_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
