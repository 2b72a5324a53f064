"""Findings: what the auditor saw, against which requirement, on what evidence."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..checklists.models import ChecklistItem, Result
from ..checklists.rules import FINDING_RESULTS, NC_RESULTS
from ..core.timeutil import utcnow
from ..extensions import Model

if TYPE_CHECKING:  # annotations only: audits sits above findings (its screen shows them)
    from ..audits.models import Audit, Response

# Results that are findings (everything but Conform and N/A), as enums: checklists.rules owns the lists (as
# the codes a checklist's finding rules name), so the two layers cannot disagree.
FINDING_GRADES = tuple(Result(code) for code in FINDING_RESULTS)
NC_GRADES = tuple(Result(code) for code in NC_RESULTS)


# What a gap analysis found missing, so the action plan can be read by kind of work.
GAP_CATEGORIES = {
    "documents": "Documents",
    "records": "Records",
    "responsibilities": "Responsibilities",
    "controls": "Controls",
}


# Why a nonconformity is major, as certification bodies grade them (ISO/IEC 17021-1 3.12: a major
# nonconformity affects the capability of the management system to achieve its intended results).
# The auditor taps one; what they add in words follows it in the finding's `why_major`.
MAJOR_REASONS = {
    "absent": "A required process is missing or has broken down",
    "systemic": "Systemic: the same failure in several places or records",
    "product_risk": "Risk of nonconforming product reaching the customer",
    "repeated_minor": "Repeated minor NCs on the same requirement",
}


class FindingStatus(enum.StrEnum):
    OPEN = "open"
    # The item was re-answered Conform or N/A; the finding is kept, not deleted.
    WITHDRAWN = "withdrawn"


class Finding(Model):
    __tablename__ = "findings"

    # Generated on the phone, so a finding written offline keeps its identity when it syncs.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id"), index=True)
    # The checklist item it was raised on; None for an ad-hoc finding.
    item_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_items.id"))
    response_id: Mapped[str | None] = mapped_column(ForeignKey("responses.id"), unique=True)
    # The copy of a repeating section its item was answered in (its response's copy); 1 otherwise.
    copy: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    clause: Mapped[str] = mapped_column(String(20))
    grade: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=FindingStatus.OPEN.value)
    statement: Mapped[str] = mapped_column(Text, default="")
    requirement: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="")
    why_major: Mapped[str] = mapped_column(Text, default="")
    # Only on gaps (Partly in place / Missing) of a gap analysis: one of GAP_CATEGORIES.
    gap_category: Mapped[str | None] = mapped_column(String(20))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    audit: Mapped[Audit] = relationship("Audit")
    item: Mapped[ChecklistItem | None] = relationship()
    response: Mapped[Response | None] = relationship("Response")
    created_by: Mapped[User | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.status == FindingStatus.OPEN

    @property
    def is_nonconformity(self) -> bool:
        return self.grade in NC_GRADES and not self.audit.is_gap_analysis

    @property
    def is_gap(self) -> bool:
        """Partly in place or Missing, found by a gap analysis."""
        return self.grade in NC_GRADES and self.audit.is_gap_analysis

    @property
    def gap_category_label(self) -> str:
        return GAP_CATEGORIES.get(self.gap_category or "", "Uncategorised")
