"""Checklists as imported from YAML: every version kept, items frozen per version."""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from ..accounts.models import User
from ..core.enums import LabelledEnum
from ..core.timeutil import utcnow
from ..extensions import Model
from . import standards


class Result(LabelledEnum):
    """What an auditor can record for a checklist item (ISO 19011 vocabulary)."""

    CONFORM = "conform", "Conform"
    MINOR_NC = "minor_nc", "Minor NC"
    MAJOR_NC = "major_nc", "Major NC"
    OBSERVATION = "observation", "Observation"
    OFI = "ofi", "OFI"
    NA = "na", "N/A"


RESULT_LABELS = Result.labels()


class PhotoRule(enum.StrEnum):
    NEVER = "never"
    OPTIONAL = "optional"
    REQUIRED_ON_NC = "required_on_nc"
    ALWAYS = "always"  # a photo whatever the result, but N/A (checklists/rules.py)


class Checklist(Model):
    __tablename__ = "checklists"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    versions: Mapped[list["ChecklistVersion"]] = relationship(
        back_populates="checklist", order_by="ChecklistVersion.number"
    )

    @property
    def latest(self) -> "ChecklistVersion | None":
        return self.versions[-1] if self.versions else None


class ChecklistVersion(Model):
    """One imported version of a checklist file; audits pin to it for good."""

    __tablename__ = "checklist_versions"
    __table_args__ = (UniqueConstraint("checklist_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    checklist_id: Mapped[int] = mapped_column(ForeignKey("checklists.id"))
    number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    standard: Mapped[str] = mapped_column(String(120), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    renamed: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # --- finding rules (issue 15): `findings.required_for`, the results that need a written finding;
    # None (no `findings:` in the file) is today's rule, every finding grade (checklists/rules.py).
    finding_results: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # --- scoring (issue 15, checklists/scoring.py): {"points": {result: points}}; None = not scored.
    scoring: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True, default=None)
    source_path: Mapped[str] = mapped_column(String(255))
    # The exact YAML the version was imported from, kept as evidence of what auditors used.
    source_text: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    checklist: Mapped[Checklist] = relationship(back_populates="versions")
    imported_by: Mapped[User | None] = relationship()
    sections: Mapped[list["ChecklistSection"]] = relationship(
        back_populates="version", order_by="ChecklistSection.position", cascade="all, delete-orphan"
    )
    items: Mapped[list["ChecklistItem"]] = relationship(
        back_populates="version",
        order_by="ChecklistItem.position",
        cascade="all, delete-orphan",
        overlaps="section,items",
    )


class ChecklistSection(Model):
    __tablename__ = "checklist_sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("checklist_versions.id"))
    position: Mapped[int] = mapped_column(Integer)
    clause: Mapped[str | None] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    # Show-if (issue 15, checklists/conditions.py): {"item": key, "answer": [...]}; None = always shown.
    show_if: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), default=None)
    weight: Mapped[float | None] = mapped_column(Float, nullable=True)  # scoring (issue 15); None = 1
    # --- repeating sections (issue 15): {"label": "Station", "max": 10} as in the file, None when it does
    # not repeat. The auditor adds copies during the audit (audits.models.SectionCopy).
    repeat: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True, default=None)

    version: Mapped[ChecklistVersion] = relationship(back_populates="sections")
    items: Mapped[list["ChecklistItem"]] = relationship(
        back_populates="section", order_by="ChecklistItem.position", overlaps="items,version"
    )


DEFAULT_COPIES = 10  # copies of a repeating section when its file gives no max


def copies_allowed(section: "ChecklistSection") -> int:
    """How many copies of the section an audit may hold: 1 unless it repeats."""
    if not section.repeat:
        return 1
    return int(section.repeat.get("max", DEFAULT_COPIES))


def copy_label(section: "ChecklistSection") -> str:
    """What one copy of a repeating section is called ("Station"); "" when it does not repeat."""
    return str(section.repeat["label"]) if section.repeat else ""


class ChecklistItem(Model):
    __tablename__ = "checklist_items"
    __table_args__ = (UniqueConstraint("version_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("checklist_versions.id"))
    section_id: Mapped[int] = mapped_column(ForeignKey("checklist_sections.id"))
    position: Mapped[int] = mapped_column(Integer)
    # The author's permanent id ("8.5.2-traceability"); stable across versions.
    key: Mapped[str] = mapped_column(String(64))
    # The author's reference ("8.5.1", "A.5.1", "5S-2"), shown wherever the item's clause is shown and
    # copied to its findings. Which clauses of which standards the item covers is in `clause_links`.
    clause: Mapped[str] = mapped_column(String(20))
    reference = synonym("clause")
    question: Mapped[str] = mapped_column(Text)
    guidance: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    photo_rule: Mapped[str] = mapped_column(String(20), default=PhotoRule.OPTIONAL.value)
    results: Mapped[list[str]] = mapped_column(JSON)
    # --- evidence rules and procedures (issue 15); None when the file does not use them.
    # require: {"photo": [results], "note": [results]} (checklists/rules.py reads it with photo_rule);
    # procedures: [{"title": ..., "url": ...} or {"title": ..., "document": ...}], shown to the auditor.
    require: Mapped[dict[str, list[str]] | None] = mapped_column(JSON, nullable=True)
    procedures: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, nullable=True)
    # The answer type (issue 15, checklists/answers.py): None for the ISO grades, else the normalised spec.
    answer: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), default=None)
    # Show-if (issue 15, checklists/conditions.py): {"item": key, "answer": [...]}; None = always asked.
    show_if: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), default=None)
    # --- scoring (issue 15, checklists/scoring.py): weight in its section (None = 1), own points per result.
    weight: Mapped[float | None] = mapped_column(Float, nullable=True)
    points: Mapped[dict[str, float] | None] = mapped_column(JSON(none_as_null=True), nullable=True, default=None)

    version: Mapped[ChecklistVersion] = relationship(back_populates="items", overlaps="items,section")
    section: Mapped[ChecklistSection] = relationship(back_populates="items", overlaps="items,version")
    # Not loaded with the item (the audit screen does not need it): pages that show it load it for
    # all of a version's items at once (`services.load_clause_links`).
    clause_links: Mapped[list["ItemClause"]] = relationship(
        back_populates="item", cascade="all, delete-orphan", order_by="(ItemClause.standard, ItemClause.clause)"
    )

    @property
    def answer_type(self) -> str:
        """grades (the ISO grades, as always), yes_no, number, text, date, choice or multi_choice."""
        return str(self.answer["type"]) if self.answer else "grades"

    @property
    def mapped_clauses(self) -> list[tuple[str, str]]:
        """(standard key, clause) of each clause the item covers; empty for a checklist of no standard."""
        return [(link.standard, link.clause) for link in self.clause_links]

    @property
    def clauses(self) -> list[str]:
        """The clauses it covers as people read them ("ISO 14001:2015 7.5.3"), for comparing versions."""
        names = {s.key: s.name for s in standards.all_standards()}
        return [f"{names.get(key, key)} {code}" for key, code in self.mapped_clauses]


class ItemClause(Model):
    """A clause of a standard a checklist item covers ("iso14001-2015", "7.5.1"); coverage counts these."""

    __tablename__ = "checklist_item_clauses"

    item_id: Mapped[int] = mapped_column(ForeignKey("checklist_items.id"), primary_key=True)
    standard: Mapped[str] = mapped_column(String(40), primary_key=True)  # the standard's key (its file's name)
    clause: Mapped[str] = mapped_column(String(20), primary_key=True)

    item: Mapped[ChecklistItem] = relationship(back_populates="clause_links")
