"""Auditor qualifications: who may lead an audit on a given day, and the record of their courses.

The register page (audits led and joined) is the programme's; this package sits below audits so
that planning an audit can warn about an unqualified lead auditor.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select

from ..accounts.models import Role, User
from ..core.errors import RuleError
from ..core.forms import form_id
from ..events import services as events
from ..extensions import db
from .models import AuditorQualification, QualificationKind

# People who can be lead auditor or audit team member.
AUDITOR_ROLES = (Role.AUDITOR, Role.QUALITY_LEAD)


def qualifications_of(user_ids: Iterable[int]) -> dict[int, list[AuditorQualification]]:
    """Each user's qualifications, newest first, in one query."""
    found: dict[int, list[AuditorQualification]] = defaultdict(list)
    for q in db.session.scalars(
        select(AuditorQualification)
        .where(AuditorQualification.user_id.in_(list(user_ids)))
        .order_by(AuditorQualification.completed_on.desc(), AuditorQualification.id.desc())
    ):
        found[q.user_id].append(q)
    return found


def can_lead(qualifications: Iterable[AuditorQualification], on_date: date) -> bool:
    """A lead auditor course completed by that day and not expired on it."""
    return any(q.kind == QualificationKind.LEAD_AUDITOR_COURSE and q.valid_on(on_date) for q in qualifications)


def qualified_leads(user_ids: Iterable[int], on_date: date) -> set[int]:
    """Which of these users may lead on that day, in one query."""
    return set(
        db.session.scalars(
            select(AuditorQualification.user_id)
            .distinct()
            .where(
                AuditorQualification.user_id.in_(list(user_ids)),
                AuditorQualification.kind == QualificationKind.LEAD_AUDITOR_COURSE.value,
                AuditorQualification.completed_on <= on_date,
                (AuditorQualification.expires_on.is_(None)) | (AuditorQualification.expires_on >= on_date),
            )
        )
    )


def unqualified_lead_message(user: User, on_date: date) -> str:
    return (
        f"{user.name} has no valid lead auditor qualification on {on_date:%d %b %Y} (ISO 19011 7.2). "
        "They can still lead; consider a qualified lead, or record their lead auditor course in the auditor register."
    )


def lead_qualification_warning(user: User | None, on_date: date) -> str | None:
    """A warning when this lead auditor has no valid lead auditor course on that day; None when fine."""
    if user is None or user.id in qualified_leads([user.id], on_date):
        return None
    return unqualified_lead_message(user, on_date)


def lead_warning_for_form(lead_auditor_id: object, planned_date: object) -> str | None:
    """The same warning from a form's raw values; None while either is missing or invalid."""
    lead_id = form_id(lead_auditor_id)
    try:
        on_date = date.fromisoformat(str(planned_date))
    except ValueError:
        return None
    lead = db.session.get(User, lead_id) if lead_id else None
    if lead is None or not lead.has_role(*AUDITOR_ROLES):
        return None
    return lead_qualification_warning(lead, on_date)


def may_audit(user: User) -> bool:
    return user.active and user.has_role(*AUDITOR_ROLES)


def add_qualification(
    actor: User | None,
    user: User,
    *,
    kind: str,
    title: str,
    completed_on: date,
    provider: str = "",
    expires_on: date | None = None,
    notes: str = "",
) -> AuditorQualification:
    """Record a course or training of an auditor. Does not commit."""
    events.begin_change()
    if not may_audit(user):
        raise RuleError("_form", f"{user.name} is not an active auditor or quality lead.")
    if expires_on is not None and expires_on < completed_on:
        raise RuleError("expires_on", "The expiry date cannot be before the completion date.")
    qualification = AuditorQualification(
        user_id=user.id,
        kind=kind,
        title=title,
        provider=provider,
        completed_on=completed_on,
        expires_on=expires_on,
        notes=notes,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(qualification)
    db.session.flush()
    events.record(actor, "auditor_qualification", qualification.id, "added", _snapshot(qualification))
    return qualification


def remove_qualification(actor: User, qualification: AuditorQualification, reason: str) -> None:
    """Remove a qualification recorded in error; the log keeps what it said and why it went. Does not commit."""
    events.begin_change()
    if not reason.strip():
        raise RuleError("reason", "Say why the qualification is removed.")
    events.record(
        actor,
        "auditor_qualification",
        qualification.id,
        "removed",
        {**_snapshot(qualification), "reason": reason.strip()},
    )
    db.session.delete(qualification)


def _snapshot(q: AuditorQualification) -> dict[str, Any]:
    return {
        "user_id": q.user_id,
        "kind": q.kind,
        "title": q.title,
        "provider": q.provider,
        "completed_on": q.completed_on.isoformat(),
        "expires_on": q.expires_on.isoformat() if q.expires_on else None,
        "notes": q.notes,
    }
