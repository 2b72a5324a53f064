"""The improvement register (ISO 9001 10.3): observations and opportunities for improvement."""

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Area, User
from ..audits.models import Audit
from ..capa.models import Nonconformity
from ..core.enums import LabelledEnum
from ..core.timeutil import utcnow
from ..extensions import Model
from ..findings.models import Finding


class ImprovementStatus(LabelledEnum):
    NEW = "new", "New"
    ACTION_RAISED = "action_raised", "Action raised"
    ACTION_DONE = "action_done", "Action done"
    NC_RAISED = "nc_raised", "NC raised"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"  # its finding was regraded or re-answered


class Improvement(Model):
    __tablename__ = "improvements"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[str | None] = mapped_column(ForeignKey("findings.id"), unique=True)
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audits.id"))
    kind: Mapped[str] = mapped_column(String(20))  # observation | ofi
    clause: Mapped[str] = mapped_column(String(20), default="")
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=ImprovementStatus.NEW.value)
    # One improvement action, when a quality lead decides to act on it.
    action_description: Mapped[str] = mapped_column(Text, default="")
    action_owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action_due_date: Mapped[date | None] = mapped_column(Date)
    action_note: Mapped[str] = mapped_column(Text, default="")
    action_done_at: Mapped[datetime | None] = mapped_column(DateTime)
    nonconformity_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformities.id"))
    decision_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    finding: Mapped[Finding | None] = relationship()
    audit: Mapped[Audit | None] = relationship()
    area: Mapped[Area | None] = relationship()
    action_owner: Mapped[User | None] = relationship()
    nonconformity: Mapped[Nonconformity | None] = relationship()

    @property
    def status_enum(self) -> ImprovementStatus:
        return ImprovementStatus(self.status)
