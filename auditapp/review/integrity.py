"""Held management reviews against their history, and their archived pack against its logged hash."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from ..events import services as events
from ..events.replay import RecordReport, compare_fields
from ..extensions import db
from .models import ManagementReview, ReviewArchive

FIELDS = ("status", "meeting_date", "attendees", "conclusions", "recorded_by_id", "recorded_at", "inputs")


def check_held_reviews(report: RecordReport) -> None:
    for review in db.session.scalars(
        select(ManagementReview).where(ManagementReview.status == "held").order_by(ManagementReview.id)
    ):
        history = events.history("management_review", review.id)
        if not any(e.action == "held" for e in history):
            report.skipped.append(f"{review.number}: held before the event log; not compared")
            continue
        report.checked += 1
        compare_fields(report, review.number, review, history, FIELDS)
        archived = [e.changes.get("sha256") for e in history if e.action == "pack_archived"]
        archive = db.session.get(ReviewArchive, review.id)
        if archive is None:
            if archived:
                report.differences.append(f"{review.number} archived pack: no row, history says {archived[-1]}")
            continue
        actual = hashlib.sha256(archive.pdf).hexdigest()
        if not archived or actual != archived[-1] or archive.sha256 != archived[-1]:
            report.differences.append(
                f"{review.number} archived pack: its PDF hashes to {actual}, "
                f"history says {archived[-1] if archived else 'never archived'}"
            )
