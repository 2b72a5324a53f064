"""Management review (ISO 9001 9.3): the meeting, its typed-in inputs, and its decisions."""

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from ..accounts.models import User
from ..capa.models import CorrectiveAction
from ..core.timeutil import utcnow
from ..extensions import Model

# The 9.3.2 inputs auditapp's records cannot answer: the quality lead types them in.
TYPED_INPUTS = {
    "issues": "Changes in external and internal issues relevant to the QMS (9.3.2 b)",
    "customer": "Customer satisfaction and feedback from relevant interested parties (9.3.2 c 1)",
    "objectives": "Extent to which quality objectives have been met (9.3.2 c 2)",
    "processes": "Process performance and conformity of products and services (9.3.2 c 3)",
    "monitoring": "Monitoring and measurement results (9.3.2 c 5)",
    "providers": "Performance of external providers (9.3.2 c 7)",
    "resources": "Adequacy of resources (9.3.2 d)",
    "risks": "Effectiveness of actions taken to address risks and opportunities (9.3.2 e)",
}

# The outputs 9.3.3 asks for; every decision is one of them.
OUTPUTS = {
    "improvement": "Opportunity for improvement (9.3.3 a)",
    "qms_change": "Change to the QMS (9.3.3 b)",
    "resource_need": "Resource need (9.3.3 c)",
}


class ManagementReview(Model):
    """One review: the period its pack covers, then the meeting that was held on it."""

    __tablename__ = "management_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # MR-2026-01
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="draft")  # draft | held
    meeting_date: Mapped[date | None] = mapped_column(Date)
    attendees: Mapped[str] = mapped_column(Text, default="")
    inputs: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # 9.3.1: the review's judgement on the suitability, adequacy and effectiveness of the QMS.
    conclusions: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime)

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    decisions: Mapped[list["ReviewDecision"]] = relationship(back_populates="review", order_by="ReviewDecision.id")

    @property
    def is_held(self) -> bool:
        return self.status == "held"


class ReviewDecision(Model):
    """A decision or output of the review; it may be carried out by tracked actions."""

    __tablename__ = "review_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("management_reviews.id"), index=True)
    output: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    review: Mapped[ManagementReview] = relationship(back_populates="decisions", lazy="joined")
    # The backref gives CorrectiveAction.review_decision (loaded with the actions, in one query),
    # so the action log can name the review without capa importing this domain.
    actions: Mapped[list[CorrectiveAction]] = relationship(
        primaryjoin="CorrectiveAction.review_decision_id == ReviewDecision.id",
        foreign_keys="CorrectiveAction.review_decision_id",
        order_by="CorrectiveAction.id",
        viewonly=True,
        backref=backref("review_decision", viewonly=True, lazy="selectin"),
    )

    @property
    def output_label(self) -> str:
        return OUTPUTS.get(self.output, self.output)


class ReviewArchive(Model):
    """The pack as a PDF, exactly as it stood when the meeting was recorded; never changed."""

    __tablename__ = "review_archives"

    review_id: Mapped[int] = mapped_column(ForeignKey("management_reviews.id"), primary_key=True)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
