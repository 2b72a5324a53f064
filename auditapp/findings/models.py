"""Findings: what the auditor saw, against which requirement, on what evidence."""
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..audits.models import Audit, Response
from ..extensions import db
from ..timeutil import utcnow


class Finding(db.Model):
    __tablename__ = "findings"

    # Generated on the phone, so a finding written offline keeps its identity when it syncs.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id"))
    response_id: Mapped[str | None] = mapped_column(ForeignKey("responses.id"))
    clause: Mapped[str] = mapped_column(String(20))
    # One of the non-conform results: minor_nc, major_nc, observation, ofi.
    grade: Mapped[str] = mapped_column(String(20))
    statement: Mapped[str] = mapped_column(Text, default="")
    requirement: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="")
    why_major: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    audit: Mapped[Audit] = relationship()
    response: Mapped[Response | None] = relationship()
    created_by: Mapped[User | None] = relationship()
