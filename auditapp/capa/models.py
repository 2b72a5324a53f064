"""Nonconformities and their corrective actions (ISO 9001 10.2)."""
import enum
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Area, User
from ..extensions import db
from ..findings.models import Finding
from ..timeutil import utcnow


class NonconformityStatus(enum.StrEnum):
    OPEN = "open"
    CONTAINED = "contained"
    CAUSE_IDENTIFIED = "cause_identified"
    ACTIONS_PLANNED = "actions_planned"
    ACTIONS_DONE = "actions_done"
    VERIFIED_EFFECTIVE = "verified_effective"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class Nonconformity(db.Model):
    __tablename__ = "nonconformities"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # NC-2026-0001
    # At most one nonconformity per finding, whatever replays arrive.
    finding_id: Mapped[str | None] = mapped_column(ForeignKey("findings.id"), unique=True)
    source: Mapped[str] = mapped_column(String(30), default="internal_audit")
    clause: Mapped[str] = mapped_column(String(20), default="")
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    severity: Mapped[str] = mapped_column(String(10))  # minor | major
    status: Mapped[str] = mapped_column(String(30), default=NonconformityStatus.OPEN.value)
    description: Mapped[str] = mapped_column(Text, default="")
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    raised_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    finding: Mapped[Finding | None] = relationship()
    area: Mapped[Area | None] = relationship()
    raised_by: Mapped[User | None] = relationship()
    actions: Mapped[list["CorrectiveAction"]] = relationship(back_populates="nonconformity")


class CorrectiveAction(db.Model):
    __tablename__ = "corrective_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonconformity_id: Mapped[int] = mapped_column(ForeignKey("nonconformities.id"))
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open")
    completion_note: Mapped[str] = mapped_column(Text, default="")
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    nonconformity: Mapped[Nonconformity] = relationship(back_populates="actions")
    owner: Mapped[User] = relationship()
