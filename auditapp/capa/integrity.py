"""Closed and withdrawn nonconformities against their history (events.replay)."""

from __future__ import annotations

from sqlalchemy import select

from ..events import services as events
from ..events.replay import RecordReport, compare_fields
from ..extensions import db
from .models import Nonconformity

CLOSED = ("closed", "withdrawn")
# What the closure stands on; each is compared only when its history logs it as [old, new].
FIELDS = (
    "status",
    "closed_at",
    "containment",
    "cause_category",
    "why_steps",
    "verification_result",
    "verification_evidence",
    "verified_on",
    "withdrawn_reason",
)


def check_closed_nonconformities(report: RecordReport) -> None:
    for nc in db.session.scalars(
        select(Nonconformity).where(Nonconformity.status.in_(CLOSED)).order_by(Nonconformity.id)
    ):
        history = events.history("nonconformity", nc.id)
        if not any(e.action == "raised" for e in history):
            report.skipped.append(f"{nc.number}: raised before the event log; not compared")
            continue
        report.checked += 1
        compare_fields(report, nc.number, nc, history, FIELDS)
