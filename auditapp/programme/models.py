"""The yearly audit programme, with the audits planned from it."""

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Area, User
from ..audits.models import Audit
from ..checklists.models import Checklist
from ..core.timeutil import utcnow
from ..extensions import Model, db

# Which audits were planned from which programme entry; an audit comes from at most one entry.
programme_audits = Table(
    "programme_audits",
    db.metadata,
    Column("audit_id", ForeignKey("audits.id"), primary_key=True),
    Column("entry_id", ForeignKey("programme_entries.id"), nullable=False, index=True),
)


class ProgrammeEntry(Model):
    """One line of a year's audit programme: an area audited against a checklist, so many times a year."""

    __tablename__ = "programme_entries"
    __table_args__ = (
        UniqueConstraint("year", "area_id", "checklist_id"),
        CheckConstraint("importance BETWEEN 1 AND 3", name="importance_known"),
        CheckConstraint("planned_per_year BETWEEN 0 AND 12", name="planned_per_year_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    # The checklist chain, not a version: each audit is planned with the version current then.
    checklist_id: Mapped[int] = mapped_column(ForeignKey("checklists.id"))
    importance: Mapped[int] = mapped_column(Integer)  # 1 low, 2 medium, 3 high
    planned_per_year: Mapped[int] = mapped_column(Integer)  # the quality lead's choice
    lead_auditor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # proposed lead
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    area: Mapped[Area] = relationship()
    checklist: Mapped[Checklist] = relationship()
    lead_auditor: Mapped[User | None] = relationship(foreign_keys=[lead_auditor_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    audits: Mapped[list[Audit]] = relationship(secondary=programme_audits, order_by=Audit.planned_date)

    @property
    def importance_label(self) -> str:
        return IMPORTANCE_LABELS[self.importance]


IMPORTANCE_LABELS = {1: "Low", 2: "Medium", 3: "High"}
