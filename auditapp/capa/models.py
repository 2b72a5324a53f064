"""Nonconformities and their corrective actions (ISO 9001 10.2)."""

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Area, User
from ..audits.models import Audit
from ..core.enums import LabelledEnum
from ..core.timeutil import utcnow
from ..extensions import Model
from ..findings.models import Finding


class NCStatus(LabelledEnum):
    OPEN = "open", "Open"
    CONTAINED = "contained", "Contained"
    CAUSE_IDENTIFIED = "cause_identified", "Cause identified"
    ACTIONS_PLANNED = "actions_planned", "Actions planned"
    ACTIONS_DONE = "actions_done", "Actions done"
    VERIFIED_EFFECTIVE = "verified_effective", "Verified effective"
    CLOSED = "closed", "Closed"
    WITHDRAWN = "withdrawn", "Withdrawn"


NC_STATUS_LABELS = NCStatus.labels()


class ActionStatus(LabelledEnum):
    """A tracked action is open until done; cancelled when what it was for went away."""

    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


SOURCES = {
    "internal_audit": "Internal audit",
    "certification_stage1": "Certification body: Stage 1",
    "certification_stage2": "Certification body: Stage 2",
    "surveillance_audit": "Certification body: surveillance audit",
    "recertification_audit": "Certification body: recertification audit",
    "customer_complaint": "Customer complaint",
    "process_monitoring": "Process monitoring",
    "supplier": "Supplier",
    "improvement_register": "Improvement register",
    "other": "Other",
}

CAUSE_CATEGORIES = {
    "people": "People",
    "machine": "Machine",
    "method": "Method",
    "material": "Material",
    "measurement": "Measurement",
    "environment": "Environment",
}

SEVERITIES = {"minor": "Minor", "major": "Major"}

# Where a tracked action comes from: most fix a nonconformity; some carry out a management review
# decision (9.3.3) or close a gap found by a gap analysis. All of them live in the one action log.
ACTION_ORIGINS = {
    "nonconformity": "Nonconformity",
    "management_review": "Management review",
    "gap_analysis": "Gap analysis",
}


class Nonconformity(Model):
    __tablename__ = "nonconformities"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # NC-2026-0001
    # At most one nonconformity per finding, whatever replays arrive.
    finding_id: Mapped[str | None] = mapped_column(ForeignKey("findings.id"), unique=True)
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audits.id"), index=True)
    source: Mapped[str] = mapped_column(String(30), default="internal_audit")
    clause: Mapped[str] = mapped_column(String(20), default="")
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    severity: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(30), default=NCStatus.OPEN.value, index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # 10.2.1 a: react, contain and correct.
    containment: Mapped[str] = mapped_column(Text, default="")
    # 10.2.1 b: the cause, as a chain of whys and a category.
    why_steps: Mapped[list[str]] = mapped_column(JSON, default=list)
    cause_category: Mapped[str] = mapped_column(String(20), default="")
    # 10.2.1 d: was it effective?
    verification_result: Mapped[str] = mapped_column(String(20), default="")
    verification_evidence: Mapped[str] = mapped_column(Text, default="")
    verified_on: Mapped[date | None] = mapped_column(Date)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verification_count: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn_reason: Mapped[str] = mapped_column(Text, default="")
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    raised_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)

    finding: Mapped[Finding | None] = relationship()
    audit: Mapped[Audit | None] = relationship()
    area: Mapped[Area | None] = relationship()
    raised_by: Mapped[User | None] = relationship(foreign_keys=[raised_by_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])
    actions: Mapped[list["CorrectiveAction"]] = relationship(
        back_populates="nonconformity", order_by="CorrectiveAction.id"
    )

    @property
    def status_enum(self) -> NCStatus:
        return NCStatus(self.status)

    @property
    def is_closed(self) -> bool:
        return self.status in (NCStatus.CLOSED, NCStatus.WITHDRAWN)


class CorrectiveAction(Model):
    __tablename__ = "corrective_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonconformity_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformities.id"), index=True)
    origin: Mapped[str] = mapped_column(String(20), default="nonconformity", server_default="nonconformity", index=True)
    # Set for actions decided at a management review, or planned to close a gap-analysis finding.
    review_decision_id: Mapped[int | None] = mapped_column(ForeignKey("review_decisions.id"), index=True)
    finding_id: Mapped[str | None] = mapped_column(ForeignKey("findings.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20), default=ActionStatus.OPEN.value)
    completion_note: Mapped[str] = mapped_column(Text, default="")
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    nonconformity: Mapped[Nonconformity | None] = relationship(back_populates="actions")
    finding: Mapped[Finding | None] = relationship()
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])

    @property
    def origin_label(self) -> str:
        return ACTION_ORIGINS.get(self.origin, self.origin)

    @property
    def is_done(self) -> bool:
        return self.status == ActionStatus.DONE

    def is_overdue(self, today: date) -> bool:
        return self.status == ActionStatus.OPEN and self.due_date < today


class ReminderSent(Model):
    """One reminder e-mail per action and kind (assigned, due_soon, overdue): never sent twice."""

    __tablename__ = "reminders_sent"
    __table_args__ = (UniqueConstraint("action_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("corrective_actions.id"))
    kind: Mapped[str] = mapped_column(String(20))
    sent_to: Mapped[str] = mapped_column(String(254))
    sent_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ContainmentNotice(Model):
    """The e-mail telling an area's owner that a new nonconformity there needs containment: once per NC."""

    __tablename__ = "containment_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonconformity_id: Mapped[int] = mapped_column(ForeignKey("nonconformities.id"), unique=True)
    sent_to: Mapped[str] = mapped_column(String(254))
    sent_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
