"""Photos as objective evidence; the file lives in the photo folder under its content hash."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..checklists.models import ChecklistItem
from ..core.timeutil import utcnow
from ..extensions import Model

if TYPE_CHECKING:  # annotations only: audits sits above photos (its screen shows them)
    from ..audits.models import Audit


class Photo(Model):
    __tablename__ = "photos"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # SHA-256 of the stored (re-encoded) image; also its file name, never a user-supplied one.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audits.id"), index=True)
    # What the photo is evidence for: a checklist item of the audit, and/or a finding.
    item_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_items.id"))
    finding_id: Mapped[str | None] = mapped_column(ForeignKey("findings.id"))
    # The copy of a repeating section the item was photographed in (audits.models.SectionCopy); 1 otherwise.
    copy: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Evidence outside audits: a nonconformity raised by hand, or a completed corrective action.
    nonconformity_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformities.id"), index=True)
    action_id: Mapped[int | None] = mapped_column(ForeignKey("corrective_actions.id"))
    # A copy the auditor marked up on the phone (circle, arrow, label) names the photo it was drawn
    # on. Both are evidence: screens and reports show the marked-up copy, with a link to its original.
    marked_up_from_id: Mapped[str | None] = mapped_column(ForeignKey("photos.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(40))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    original_width: Mapped[int] = mapped_column(Integer)
    original_height: Mapped[int] = mapped_column(Integer)
    byte_size: Mapped[int] = mapped_column(Integer)
    captured_at: Mapped[datetime | None] = mapped_column(DateTime)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    audit: Mapped[Audit | None] = relationship("Audit")
    item: Mapped[ChecklistItem | None] = relationship()
    uploaded_by: Mapped[User | None] = relationship()
