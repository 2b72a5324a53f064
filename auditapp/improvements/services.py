"""Improvement register rules. Functions do not commit; the view (or the finding's view) does."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ..accounts.models import Role, User
from ..capa import services as capa
from ..capa.models import Nonconformity
from ..checklists.models import Result
from ..core.errors import Conflict, NotAllowed, RuleError
from ..core.timeutil import utcnow
from ..events import services as events
from ..extensions import db
from ..findings.models import Finding
from .models import Improvement, ImprovementStatus

KINDS = (Result.OBSERVATION, Result.OFI)


def sync_from_finding(actor: User, finding: Finding) -> Improvement | None:
    """Observations and OFIs enter the register when saved; a regraded one is withdrawn, kept.

    Connected to findings.services.finding_changed; gap analyses have no register entries."""
    if finding.audit.is_gap_analysis:
        return None
    entry = db.session.scalar(select(Improvement).where(Improvement.finding_id == finding.id))
    is_entry = finding.is_open and finding.grade in KINDS
    if entry is None:
        if not is_entry:
            return None
        entry = Improvement(
            finding_id=finding.id,
            audit_id=finding.audit_id,
            kind=finding.grade,
            clause=finding.clause,
            area_id=finding.audit.area_id,
            description=finding.statement,
        )
        db.session.add(entry)
        db.session.flush()
        events.record(actor, "improvement", entry.id, "registered", {"kind": entry.kind, "finding_id": finding.id})
        return entry
    if entry.status not in (ImprovementStatus.NEW, ImprovementStatus.WITHDRAWN):
        return entry  # decided: the decision stands on what was registered then
    if not is_entry:
        if entry.status == ImprovementStatus.NEW:
            events.record(
                actor,
                "improvement",
                entry.id,
                "withdrawn",
                events.apply_changes(entry, status=ImprovementStatus.WITHDRAWN.value),
            )
        return entry
    changes = events.apply_changes(entry, kind=finding.grade, clause=finding.clause, description=finding.statement)
    if entry.status == ImprovementStatus.WITHDRAWN:
        changes |= events.apply_changes(entry, status=ImprovementStatus.NEW.value)
    if changes:
        events.record(actor, "improvement", entry.id, "updated_from_finding", changes)
    return entry


def visible(user: User) -> list[Improvement]:
    entries = list(db.session.scalars(select(Improvement).order_by(Improvement.created_at.desc())).all())
    if user.has_role(Role.QUALITY_LEAD, Role.ADMIN):
        return entries
    return [e for e in entries if can_view(user, e)]


def can_view(user: User, entry: Improvement) -> bool:
    if user.has_role(Role.QUALITY_LEAD, Role.ADMIN) or entry.action_owner_id == user.id:
        return True
    if entry.area is not None and entry.area.owner_id == user.id:
        return True
    return entry.audit is not None and entry.audit.is_member(user)


def _decidable(actor: User, entry: Improvement) -> None:
    if not actor.has_role(Role.QUALITY_LEAD):
        raise NotAllowed("Only a quality lead decides on register entries; owners complete their actions.")
    if entry.status != ImprovementStatus.NEW:
        raise Conflict("_form", "A decision was already taken on this entry.")


def raise_action(actor: User, entry: Improvement, description: str, owner_id: int | None, due: date | None) -> None:
    """A quality lead decides to act on an observation or OFI."""
    _decidable(actor, entry)
    owner = db.session.get(User, owner_id) if owner_id else None
    if not description.strip():
        raise RuleError("description", "Describe the action.")
    if owner is None or not owner.active:
        raise RuleError("owner_id", "Choose who owns the action.")
    if due is None:
        raise RuleError("due_date", "Choose the due date.")
    events.record(
        actor,
        "improvement",
        entry.id,
        "action_raised",
        events.apply_changes(
            entry,
            action_description=description.strip(),
            action_owner_id=owner.id,
            action_due_date=due,
            status=ImprovementStatus.ACTION_RAISED.value,
        ),
    )


def complete_action(actor: User, entry: Improvement, note: str) -> None:
    if entry.status != ImprovementStatus.ACTION_RAISED:
        raise Conflict("_form", "There is no open action on this entry.")
    if actor.id != entry.action_owner_id and not actor.has_role(Role.QUALITY_LEAD):
        raise NotAllowed("Only the action's owner or a quality lead can complete it.")
    if not note.strip():
        raise RuleError("note", "Say what was done.")
    events.record(
        actor,
        "improvement",
        entry.id,
        "action_done",
        events.apply_changes(
            entry, action_note=note.strip(), action_done_at=utcnow(), status=ImprovementStatus.ACTION_DONE.value
        ),
    )


def raise_nonconformity(actor: User, entry: Improvement, severity: str) -> Nonconformity:
    """On reflection it is a nonconformity: raise one in the log, linked to this entry."""
    _decidable(actor, entry)
    if severity not in ("minor", "major"):
        raise RuleError("severity", "Choose minor or major.")
    nc = capa.raise_manually(
        actor,
        source="improvement_register",
        clause=entry.clause or "10.3",
        area_id=entry.area_id,
        severity=severity,
        description=entry.description,
    )
    events.record(
        actor,
        "improvement",
        entry.id,
        "nc_raised",
        events.apply_changes(entry, nonconformity_id=nc.id, status=ImprovementStatus.NC_RAISED.value),
    )
    return nc


def decline(actor: User, entry: Improvement, reason: str) -> None:
    _decidable(actor, entry)
    if not reason.strip():
        raise RuleError("reason", "Say why no action is taken.")
    events.record(
        actor,
        "improvement",
        entry.id,
        "declined",
        events.apply_changes(entry, decision_note=reason.strip(), status=ImprovementStatus.DECLINED.value),
    )
