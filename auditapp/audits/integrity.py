"""Completed audits against their history: answers and notes per item, photos, status (events.replay)."""

from __future__ import annotations

from sqlalchemy import select

from ..checklists.models import ChecklistItem
from ..events.models import Event
from ..events.replay import RecordReport
from ..extensions import db
from ..photos.models import Photo
from .models import Audit, AuditStatus, Response


def check_completed_audits(report: RecordReport) -> None:
    for audit in db.session.scalars(
        select(Audit).where(Audit.status == AuditStatus.COMPLETED.value).order_by(Audit.id)
    ):
        history = list(db.session.scalars(select(Event).where(Event.audit_id == audit.id).order_by(Event.seq)))
        if not any(e.entity_type == "audit" and e.action == "completed" for e in history):
            report.skipped.append(f"{audit.number}: its completion predates the event log; not compared")
            continue
        report.checked += 1
        _compare(report, audit, history)


def _compare(report: RecordReport, audit: Audit, history: list[Event]) -> None:
    status: str | None = None
    results: dict[int | None, str | None] = {}
    notes: dict[int | None, str | None] = {}
    photos: dict[str, str] = {}
    for event in history:
        changes = event.changes or {}
        if event.entity_type == "audit" and isinstance(changes.get("status"), list):
            status = changes["status"][1]
        elif event.entity_type == "response":
            if isinstance(changes.get("result"), list):
                results[event.item_id] = changes["result"][1]
            if isinstance(changes.get("note"), list):
                notes[event.item_id] = changes["note"][1]
        elif event.entity_type == "photo" and event.action in ("added", "removed"):
            photos[event.entity_id] = event.action
    if status != audit.status:
        report.differences.append(f"{audit.number}: row says {audit.status}, history says {status}")
    rows: dict[int | None, Response] = {
        r.item_id: r for r in db.session.scalars(select(Response).where(Response.audit_id == audit.id))
    }
    keys: dict[int | None, str] = {
        row.id: row.key
        for row in db.session.execute(
            select(ChecklistItem.id, ChecklistItem.key).where(
                ChecklistItem.id.in_(set(rows) | set(results) | set(notes))
            )
        )
    }
    for item_id in sorted(set(rows) | set(results) | set(notes), key=lambda i: keys.get(i, "")):
        label = f"{audit.number} item {keys.get(item_id, str(item_id))}"
        row = rows.get(item_id)
        if row is None:
            report.differences.append(f"{label}: no row, history says {results.get(item_id)}")
            continue
        if row.result != results.get(item_id):
            report.differences.append(f"{label}: row says {row.result}, history says {results.get(item_id)}")
        if (row.note or "") != (notes.get(item_id) or ""):
            report.differences.append(f"{label}: row's note differs from its history")
    present = set(db.session.scalars(select(Photo.id).where(Photo.audit_id == audit.id)))
    for photo_id in sorted(present | set(photos)):
        logged = photos.get(photo_id)
        if photo_id in present and logged != "added":
            report.differences.append(
                f"{audit.number} photo {photo_id}: row says in the audit, history says "
                f"{'removed' if logged else 'never added'}"
            )
        elif photo_id not in present and logged == "added":
            report.differences.append(f"{audit.number} photo {photo_id}: no row, history says added")
