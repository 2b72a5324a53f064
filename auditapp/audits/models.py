"""Audits and the answers recorded against their pinned checklist version."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Area, User
from ..checklists.answers import RECORDED, RECORDED_LABEL
from ..checklists.models import RESULT_LABELS, ChecklistItem, ChecklistVersion, Result
from ..core.enums import LabelledEnum
from ..core.timeutil import utcnow
from ..extensions import Model, db


class AuditStatus(LabelledEnum):
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


class AuditKind(LabelledEnum):
    """An internal audit (9.2), or a gap analysis before the first certification (no QMS to audit yet)."""

    INTERNAL = "internal", "Internal audit"
    GAP_ANALYSIS = "gap_analysis", "Gap analysis"


# Recorded at completion for items nobody answered; not a result an auditor can choose.
NOT_AUDITED = "not_audited"

# The same result codes, in the words of a gap analysis: there is no QMS to conform to yet, only
# requirements that are in place, partly in place or missing.
GAP_RESULT_LABELS: dict[str, str] = {
    Result.CONFORM: "In place",
    Result.MINOR_NC: "Partly in place",
    Result.MAJOR_NC: "Missing",
    Result.NA: "Not applicable",
}


def result_labels(kind: str) -> dict[str, str]:
    """What each result code is called in an audit of this kind (codes stay the same)."""
    labels = {**RESULT_LABELS, NOT_AUDITED: "Not audited", RECORDED: RECORDED_LABEL}
    if kind == AuditKind.GAP_ANALYSIS:
        labels |= {**GAP_RESULT_LABELS, NOT_AUDITED: "Not assessed"}
    return {str(k): v for k, v in labels.items()}


audit_team = Table(
    "audit_team",
    db.metadata,
    Column("audit_id", ForeignKey("audits.id"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
)


class Audit(Model):
    __tablename__ = "audits"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Human-facing reference, e.g. AUD-2026-001; the primary key stays internal.
    number: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    checklist_version_id: Mapped[int] = mapped_column(ForeignKey("checklist_versions.id"))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    criteria: Mapped[str] = mapped_column(Text, default="")
    planned_date: Mapped[date | None] = mapped_column(Date)
    lead_auditor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    auditee: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default=AuditStatus.PLANNED.value)
    kind: Mapped[str] = mapped_column(
        String(20), default=AuditKind.INTERNAL.value, server_default=AuditKind.INTERNAL.value
    )
    # Why a quality lead let the owner of the audited area lead it anyway (ISO 9001 9.2.2 c).
    impartiality_override: Mapped[str] = mapped_column(Text, default="")
    conclusion: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)  # the coverage map's window

    checklist_version: Mapped[ChecklistVersion] = relationship()
    area: Mapped[Area | None] = relationship()
    lead_auditor: Mapped[User] = relationship(foreign_keys=[lead_auditor_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    team: Mapped[list[User]] = relationship(secondary=audit_team, order_by="User.name")
    responses: Mapped[list["Response"]] = relationship(back_populates="audit")

    @property
    def status_enum(self) -> AuditStatus:
        return AuditStatus(self.status)

    @property
    def kind_enum(self) -> AuditKind:
        return AuditKind(self.kind)

    @property
    def is_gap_analysis(self) -> bool:
        return self.kind == AuditKind.GAP_ANALYSIS

    @property
    def is_completed(self) -> bool:
        return self.status == AuditStatus.COMPLETED

    def is_member(self, user: User) -> bool:
        """Lead auditor or audit team member: the people who record answers."""
        return user.id == self.lead_auditor_id or any(m.id == user.id for m in self.team)


class Response(Model):
    """An auditor's answer to one checklist item; the id may be generated on the phone."""

    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("audit_id", "item_id", "copy"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("checklist_items.id"))
    # Which copy of a repeating section it answers ("Station 2" is 2; SectionCopy); 1 everywhere else.
    copy: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    result: Mapped[str | None] = mapped_column(String(20))
    # What was answered to an item of another answer type than the ISO grades (checklists/answers.py): "yes",
    # 42.5, "2026-12-07", ["a", "b"]; `result` is the result derived from it. None for ISO-grade items.
    value: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True, default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    # Bumped on every change of the result (revision) or of the note (note_revision), so a save
    # based on an older value is refused, while a note and a tap never collide with each other.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    note_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Show-if (issue 15): set at completion on an answer kept on an item its condition hid (an earlier
    # answer changed): the answer stays as evidence but counts nowhere (coverage, readiness).
    not_asked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    audit: Mapped[Audit] = relationship(back_populates="responses")
    item: Mapped[ChecklistItem] = relationship()
    answered_by: Mapped[User | None] = relationship()


class SectionCopy(Model):
    """A copy of a repeating section the auditor added during the audit ("Station 2 - press line").

    Copy 1 of every section exists from the start and has no row; rows are copies 2 and up."""

    __tablename__ = "audit_section_copies"
    __table_args__ = (UniqueConstraint("audit_id", "section_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("checklist_sections.id"))
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100), default="")  # what the auditor typed, maybe nothing
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
