"""Management review rules: prepare a review, type in inputs, record decisions, record the meeting.

Functions do not commit; the view does (through applies_change). A review recorded as held is
the minutes of the meeting (9.3.3 documented information): it is read-only from then on.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from ..accounts.models import Role, User
from ..capa import services as capa
from ..core.errors import Conflict, NotAllowed, RuleError
from ..core.numbering import next_number
from ..core.timeutil import utcnow
from ..events import services as events
from ..extensions import db
from .models import OUTPUTS, TYPED_INPUTS, ManagementReview, ReviewArchive, ReviewDecision


def can_prepare(user: User) -> bool:
    return user.has_role(Role.QUALITY_LEAD)


def can_view(user: User) -> bool:
    return user.has_role(Role.QUALITY_LEAD, Role.ADMIN)


def reviews() -> list[ManagementReview]:
    return list(
        db.session.scalars(
            select(ManagementReview).order_by(ManagementReview.period_end.desc(), ManagementReview.id.desc())
        ).all()
    )


def last_held(on: date) -> ManagementReview | None:
    return db.session.scalar(
        select(ManagementReview)
        .where(ManagementReview.status == "held", ManagementReview.meeting_date <= on)
        .order_by(ManagementReview.meeting_date.desc())
        .limit(1)
    )


def default_period(today: date) -> tuple[date, date]:
    """From the day after the last review's period (or 12 months back) to today."""
    last = db.session.scalar(
        select(ManagementReview)
        .where(ManagementReview.status == "held")
        .order_by(ManagementReview.period_end.desc())
        .limit(1)
    )
    start = last.period_end + timedelta(days=1) if last and last.period_end < today else today - timedelta(days=365)
    return start, today


def _require_preparer(actor: User) -> None:
    if not can_prepare(actor):
        raise NotAllowed("Only a quality lead prepares and records management reviews.")


def _editable(review: ManagementReview) -> None:
    """Judge under the change lock, so two quality leads cannot both edit and record at once."""
    events.begin_change()
    db.session.refresh(review)
    if review.is_held:
        raise Conflict("_form", "This review was recorded as held; its record is read-only.")


def prepare(actor: User, start: date, end: date) -> ManagementReview:
    """Open a review (draft) for a period; its pack is computed from live data until it is held."""
    _require_preparer(actor)
    if end < start:
        raise RuleError("period_end", "The period must end on or after its start.")
    events.begin_change()
    review = ManagementReview(
        number=f"MR-{end.year}-{next_number('MR', end.year):02d}",
        period_start=start,
        period_end=end,
        inputs={},
        created_by_id=actor.id,
    )
    db.session.add(review)
    db.session.flush()
    events.record(
        actor,
        "management_review",
        review.id,
        "prepared",
        {"number": review.number, "period_start": start.isoformat(), "period_end": end.isoformat()},
    )
    return review


def save_inputs(actor: User, review: ManagementReview, inputs: dict[str, str]) -> None:
    """The inputs auditapp cannot answer, typed in by the quality lead; inputs not sent stay as they were."""
    _require_preparer(actor)
    _editable(review)
    changes = events.apply_changes(review, inputs=merged_inputs(review, inputs))
    if changes:
        events.record(actor, "management_review", review.id, "inputs_saved", changes)


def merged_inputs(review: ManagementReview, sent: dict[str, str]) -> dict[str, str]:
    """The review's typed-in inputs with those sent replacing them (an emptied one is removed)."""
    merged = {**(review.inputs or {}), **{k: v.strip() for k, v in sent.items() if k in TYPED_INPUTS}}
    return {k: v for k, v in merged.items() if v}


def add_decision(
    actor: User, review: ManagementReview, output: str, text: str, action: dict[str, Any] | None = None
) -> ReviewDecision:
    """A decision or output (9.3.3); with an owner and due date it becomes a tracked action."""
    _require_preparer(actor)
    _editable(review)
    if output not in OUTPUTS:
        raise RuleError("output", "Choose which output of the review this is.")
    if not text.strip():
        raise RuleError("text", "Write the decision down.")
    decision = ReviewDecision(review=review, output=output, text=text.strip(), created_by_id=actor.id)
    db.session.add(decision)
    db.session.flush()
    events.record(
        actor,
        "management_review",
        review.id,
        "decision_added",
        {"decision_id": decision.id, "output": output, "text": decision.text},
    )
    if action:
        capa.plan_tracked_action(
            actor,
            "management_review",
            action.get("description") or decision.text,
            action.get("owner_id"),
            action.get("due_date"),
            review_decision_id=decision.id,
        )
    return decision


def check_meeting(meeting_date: date, attendees: str, conclusions: str, today: date) -> None:
    """What a meeting record needs; raises WorkflowError naming the field."""
    if meeting_date > today:
        raise RuleError("meeting_date", "A meeting is recorded once it was held: the date cannot be in the future.")
    if not attendees.strip():
        raise RuleError("attendees", "List who attended (top management must be there).")
    if not conclusions.strip():
        raise RuleError(
            "conclusions",
            "Record the review's conclusion on the QMS's suitability, adequacy and effectiveness (9.3.1).",
        )


def record_meeting(
    actor: User,
    review: ManagementReview,
    meeting_date: date,
    attendees: str,
    conclusions: str,
    today: date,
    at: datetime | None = None,
) -> None:
    """The meeting was held: its date, who attended, its conclusions. From now on it is read-only."""
    _require_preparer(actor)
    _editable(review)
    check_meeting(meeting_date, attendees, conclusions, today)
    events.record(
        actor,
        "management_review",
        review.id,
        "held",
        events.apply_changes(
            review,
            status="held",
            meeting_date=meeting_date,
            attendees=attendees.strip(),
            conclusions=conclusions.strip(),
            recorded_by_id=actor.id,
            recorded_at=at or utcnow(),
        ),
    )


def archive_pack(actor: User, review: ManagementReview, pdf: bytes) -> ReviewArchive:
    """Keep the pack's PDF as presented at the meeting; its hash goes into the chained event log."""
    if not review.is_held:
        raise Conflict("_form", "Only the pack of a held review is archived.")
    archive = ReviewArchive(review_id=review.id, pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest())
    db.session.add(archive)
    db.session.flush()
    events.record(actor, "management_review", review.id, "pack_archived", {"sha256": archive.sha256, "bytes": len(pdf)})
    return archive


def archive_of(review: ManagementReview) -> ReviewArchive | None:
    return db.session.get(ReviewArchive, review.id)
