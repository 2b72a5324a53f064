"""CSV and XLSX of audit results and findings for a period (audits completed in it)."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..audits.models import Audit, AuditStatus, Response, SectionCopy, result_labels
from ..checklists import answers
from ..checklists.models import ChecklistItem, copy_label
from ..core import tabular
from ..extensions import db
from ..findings.models import Finding

RESULT_COLUMNS = [
    "Audit",
    "Title",
    "Area",
    "Checklist",
    "Version",
    "Completed",
    "Clause",
    "Item",
    "Question",
    "Result",
    "Answer",  # answer types (issue 15): the value with its unit; empty for ISO-grade items
    "Note",
    "Answered by",
    "Answered at",
    "Section copy",  # repeating sections (issue 15): "Station 2 – press line"; empty for a section asked once
]
NOT_ASKED_LABEL = "Not asked: condition not met"
FINDING_COLUMNS = [
    "Audit",
    "Area",
    "Completed",
    "Clause",
    "Grade",
    "Status",
    "Finding",
    "Requirement",
    "Objective evidence",
    "Why major",
    "Written by",
    "Written at",
]


def _audits(since: date, until: date):
    return select(Audit.id).where(
        Audit.status == AuditStatus.COMPLETED,
        Audit.completed_at >= datetime.combine(since, time.min),
        Audit.completed_at <= datetime.combine(until, time.max),
    )


def result_rows(since: date, until: date):
    responses = db.session.scalars(
        select(Response)
        .where(Response.audit_id.in_(_audits(since, until)))
        .options(
            selectinload(Response.audit).selectinload(Audit.area),
            selectinload(Response.audit).selectinload(Audit.checklist_version),
            selectinload(Response.item).selectinload(ChecklistItem.section),
            selectinload(Response.answered_by),
        )
        .order_by(Response.audit_id, Response.item_id, Response.copy)
    ).all()
    names = {
        (c.audit_id, c.section_id, c.number): c.name
        for c in db.session.scalars(select(SectionCopy).where(SectionCopy.audit_id.in_(_audits(since, until))))
    }
    for r in responses:
        a = r.audit
        label = copy_label(r.item.section)
        name = names.get((r.audit_id, r.item.section_id, r.copy), "")
        place = f"{label} {r.copy}" + (f" – {name}" if name else "") if label else ""
        yield [
            a.number,
            a.title,
            a.area.name if a.area else "",
            a.checklist_version.title,
            a.checklist_version.number,
            a.completed_at.date() if a.completed_at else None,
            r.item.clause,
            r.item.key,
            r.item.question,
            # show-if (issue 15): an answer kept on an item its condition hid was not asked, and counts nowhere
            NOT_ASKED_LABEL if r.not_asked else result_labels(a.kind).get(r.result or "", r.result or ""),
            answers.shown(r.item.answer, r.value),
            r.note,
            r.answered_by.name if r.answered_by else "",
            r.answered_at,
            place,
        ]


def finding_rows(since: date, until: date):
    found = db.session.scalars(
        select(Finding)
        .where(Finding.audit_id.in_(_audits(since, until)))
        .options(selectinload(Finding.audit).selectinload(Audit.area), selectinload(Finding.created_by))
        .order_by(Finding.audit_id, Finding.clause)
    ).all()
    for f in found:
        completed = f.audit.completed_at.date() if f.audit.completed_at else None
        yield [
            f.audit.number,
            f.audit.area.name if f.audit.area else "",
            completed,
            f.clause,
            result_labels(f.audit.kind).get(f.grade, f.grade),
            f.status,
            f.statement,
            f.requirement,
            f.evidence,
            f.why_major,
            f.created_by.name if f.created_by else "",
            f.created_at,
        ]


def export(kind: str, fmt: str, since: date, until: date) -> bytes | str:
    columns, rows = (
        (FINDING_COLUMNS, finding_rows(since, until))
        if kind == "findings"
        else (RESULT_COLUMNS, result_rows(since, until))
    )
    if fmt == "csv":
        return tabular.to_csv(columns, rows)
    return tabular.to_xlsx("Findings" if kind == "findings" else "Audit results", columns, rows)
