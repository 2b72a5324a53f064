"""The auditor register's evidence: each auditor's courses and training, with their dates (ISO 19011 7.2)."""

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..core.enums import LabelledEnum
from ..core.timeutil import utcnow
from ..extensions import Model


class QualificationKind(LabelledEnum):
    INTERNAL_AUDITOR_COURSE = "internal_auditor_course", "Internal auditor course"
    LEAD_AUDITOR_COURSE = "lead_auditor_course", "Lead auditor course"
    OTHER = "other", "Other"


QUALIFICATION_LABELS = QualificationKind.labels()


class AuditorQualification(Model):
    """Evidence of an auditor's competence (ISO 19011 7.2): a course or other training, with its dates."""

    __tablename__ = "auditor_qualifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(200), default="")
    completed_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    @property
    def kind_enum(self) -> QualificationKind:
        return QualificationKind(self.kind)

    def valid_on(self, day: date) -> bool:
        """Completed by that day and not expired on it."""
        return self.completed_on <= day and (self.expires_on is None or self.expires_on >= day)
