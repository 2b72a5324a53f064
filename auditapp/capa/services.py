"""The nonconformity workflow (ISO 9001 10.2): raise, contain, find the cause, act, verify, close.

Each step checks what must be true before it and says why when it refuses. Functions here do not
commit; the view does, so each change and its event log entries land together.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Select, exists, func, or_, select, true
from sqlalchemy.orm import selectinload

from ..accounts.models import Area, Role, User
from ..audits.models import Audit, audit_team
from ..audits.services import finding_place
from ..core.errors import Conflict, NotAllowed, RuleError
from ..core.numbering import next_number
from ..core.timeutil import utcnow
from ..events import services as events
from ..events.models import Event
from ..extensions import db
from ..findings.models import NC_GRADES, Finding
from ..findings.services import Raised
from ..photos.models import Photo
from .models import CAUSE_CATEGORIES, ActionStatus, CorrectiveAction, NCStatus, Nonconformity

SEVERITY_OF_GRADE = {"minor_nc": "minor", "major_nc": "major"}


STEP_NOT_ALLOWED = "Your role or area does not allow this step."


# --- raising -----------------------------------------------------------------------------------


def _new_number() -> str:
    year = utcnow().year
    return f"NC-{year}-{next_number('NC', year):04d}"


def nc_for_finding(finding: Finding) -> Nonconformity | None:
    return db.session.scalar(select(Nonconformity).where(Nonconformity.finding_id == finding.id))


def raised_from_findings(finding_ids: Collection[str]) -> dict[str, Raised]:
    """The nonconformity numbers of these findings (registered with findings.register_raised)."""
    rows = db.session.execute(
        select(Nonconformity.finding_id, Nonconformity.number, Nonconformity.id).where(
            Nonconformity.finding_id.in_(list(finding_ids))
        )
    )
    return {finding_id: Raised(number, nc_id) for finding_id, number, nc_id in rows if finding_id}


def sync_from_finding(actor: User, finding: Finding) -> Nonconformity | None:
    """Keep exactly one nonconformity per NC-graded finding: raise, regrade, withdraw or reinstate it.

    Connected to findings.services.finding_changed. Findings of a gap analysis raise none: before
    the first certification there is no QMS to be nonconforming; their gaps get tracked actions
    from the gap analysis report instead.
    """
    if finding.audit.is_gap_analysis:
        return None
    nc = nc_for_finding(finding)
    is_nc = finding.is_open and finding.grade in NC_GRADES
    # In a repeating section (issue 15) the NC names the copy: "Station 2 – press line: <statement>".
    statement = finding_place(finding) + (finding.statement or "")
    if nc is None:
        if not is_nc:
            return None
        nc = Nonconformity(
            number=_new_number(),
            finding_id=finding.id,
            audit_id=finding.audit_id,
            source="internal_audit",
            clause=finding.clause,
            area_id=finding.audit.area_id,
            severity=SEVERITY_OF_GRADE[finding.grade],
            title=_title(statement),
            description=statement,
            raised_by_id=actor.id,
        )
        db.session.add(nc)
        db.session.flush()
        events.record(
            actor,
            "nonconformity",
            nc.id,
            "raised",
            {"number": nc.number, "finding_id": finding.id, "severity": nc.severity, "clause": nc.clause},
        )
        return nc
    if nc.status == NCStatus.CLOSED:
        raise Conflict(
            "_form",
            f"{nc.number}, raised from this finding, is closed; a quality lead must reopen it "
            "before the finding can change.",
        )
    if not is_nc:
        if nc.status != NCStatus.WITHDRAWN:
            reason = (
                f"finding regraded to {finding.grade.replace('_', ' ')}"
                if finding.is_open
                else "finding withdrawn: the item was re-answered"
            )
            _transition(actor, nc, NCStatus.WITHDRAWN, "withdrawn", withdrawn_reason=reason)
        return nc
    changes = events.apply_changes(
        nc,
        severity=SEVERITY_OF_GRADE[finding.grade],
        clause=finding.clause,
        description=statement,
        title=_title(statement),
    )
    if nc.status == NCStatus.WITHDRAWN:
        changes |= events.apply_changes(nc, status=NCStatus.OPEN.value, withdrawn_reason="")
    if changes:
        events.record(actor, "nonconformity", nc.id, "updated_from_finding", changes)
    return nc


def _title(statement: str) -> str:
    first = (statement or "").strip().split("\n")[0]
    return first if len(first) <= 120 else first[:117] + "…"


def raise_manually(
    actor: User, *, source: str, clause: str, area_id: int | None, severity: str, description: str
) -> Nonconformity:
    """A quality lead records a nonconformity from another source (external audit, complaint...)."""
    if not actor.has_role(Role.QUALITY_LEAD, Role.ADMIN):
        raise NotAllowed("Only a quality lead records nonconformities from other sources.")
    if area_id is not None and db.session.get(Area, area_id) is None:
        raise RuleError("area_id", "Choose an area from the list.")
    nc = Nonconformity(
        number=_new_number(),
        source=source,
        clause=clause,
        area_id=area_id,
        severity=severity,
        title=_title(description),
        description=description,
        raised_by_id=actor.id,
    )
    db.session.add(nc)
    db.session.flush()
    events.record(
        actor,
        "nonconformity",
        nc.id,
        "raised",
        {"number": nc.number, "source": source, "severity": severity, "clause": clause, "area_id": area_id},
    )
    return nc


# --- who may do what ---------------------------------------------------------------------------


def area_owner_id(nc: Nonconformity) -> int | None:
    return nc.area.owner_id if nc.area else None


def visible_to(user: User) -> ColumnElement[bool]:
    """The one rule of who may see a nonconformity, as SQL: the log, exports, suggestions and the
    detail page all use it. Quality leads and admins see all; others those of the areas they own,
    those they own an action of, raised themselves, or raised in an audit they led or joined."""
    if user.has_role(Role.QUALITY_LEAD, Role.ADMIN):
        return true()
    owned_area = select(Area.id).where(Area.owner_id == user.id)
    owns_action = exists().where(
        CorrectiveAction.nonconformity_id == Nonconformity.id, CorrectiveAction.owner_id == user.id
    )
    in_audit = select(Audit.id).where(
        or_(
            Audit.lead_auditor_id == user.id,
            Audit.id.in_(select(audit_team.c.audit_id).where(audit_team.c.user_id == user.id)),
        )
    )
    return or_(
        Nonconformity.area_id.in_(owned_area),
        owns_action,
        Nonconformity.raised_by_id == user.id,
        Nonconformity.audit_id.in_(in_audit),
    )


def can_view(user: User, nc: Nonconformity) -> bool:
    """Whether the user may see this nonconformity, by the same rule as the log."""
    return bool(db.session.scalar(select(exists().where(Nonconformity.id == nc.id, visible_to(user)))))


def can_manage(user: User, nc: Nonconformity) -> bool:
    """Contain, analyse the cause and plan actions: the area's supervisor, or a quality lead."""
    return user.has_role(Role.QUALITY_LEAD) or (user.has_role(Role.SUPERVISOR) and area_owner_id(nc) == user.id)


def _require(allowed: bool, message: str = STEP_NOT_ALLOWED) -> None:
    if not allowed:
        raise NotAllowed(message)


def _open_for_changes(nc: Nonconformity) -> None:
    """Refuse changes to a closed or withdrawn nonconformity, judged under the change lock."""
    events.begin_change()
    db.session.refresh(nc)
    if nc.is_closed:
        raise Conflict("_form", f"{nc.number} is {nc.status_enum.label.lower()}; a quality lead can reopen it.")


# --- the 10.2 steps ----------------------------------------------------------------------------


def record_containment(actor: User, nc: Nonconformity, containment: str) -> None:
    """What was done at once to contain the problem and correct it (10.2.1 a)."""
    _require(can_manage(actor, nc))
    _open_for_changes(nc)
    if not containment.strip():
        raise RuleError("containment", "Describe the containment or correction: what was done at once.")
    changes = events.apply_changes(nc, containment=containment.strip())
    if nc.status == NCStatus.OPEN:
        changes |= events.apply_changes(nc, status=NCStatus.CONTAINED.value)
    if changes:
        events.record(actor, "nonconformity", nc.id, "contained", changes)


def save_cause_draft(actor: User, nc: Nonconformity, why_steps: list[str], category: str) -> None:
    """Keep the 5-Whys as they are being written; no status change."""
    _require(can_manage(actor, nc))
    _open_for_changes(nc)
    changes = events.apply_changes(nc, why_steps=why_steps, cause_category=category)
    if changes:
        events.record(actor, "nonconformity", nc.id, "cause_drafted", changes)


def identify_cause(actor: User, nc: Nonconformity, why_steps: list[str], category: str) -> None:
    """Record the root cause (10.2.1 b): after containment, at least one why and a category."""
    _require(can_manage(actor, nc))
    _open_for_changes(nc)
    steps = [s.strip() for s in why_steps if s.strip()]
    if nc.status == NCStatus.OPEN:
        raise Conflict("_form", "Record the containment or correction first (10.2.1 a), then the cause.")
    if not steps:
        raise RuleError("why", "Write at least one 'why' that leads to the root cause.")
    if category not in CAUSE_CATEGORIES:
        raise RuleError("category", "Choose the cause category.")
    changes = events.apply_changes(nc, why_steps=steps, cause_category=category)
    if nc.status == NCStatus.CONTAINED:
        changes |= events.apply_changes(nc, status=NCStatus.CAUSE_IDENTIFIED.value)
    if changes:
        events.record(actor, "nonconformity", nc.id, "cause_identified", changes)


def default_due_date(nc: Nonconformity, today: date) -> date:
    days = current_app.config["CAPA_DUE_DAYS"][nc.severity]
    return today + timedelta(days=days)


def add_action(
    actor: User, nc: Nonconformity, description: str, owner_id: int | None, due: date | None
) -> CorrectiveAction:
    """Plan a corrective action with an owner and a due date (10.2.1 c)."""
    _require(can_manage(actor, nc))
    _open_for_changes(nc)
    if nc.status in (NCStatus.OPEN, NCStatus.CONTAINED):
        raise Conflict("_form", "Identify the root cause before planning actions, so they remove the cause.")
    if nc.status == NCStatus.VERIFIED_EFFECTIVE:
        raise Conflict("_form", "It was verified effective; close it, or reopen it if more needs doing.")
    owner, due = _check_action(description, owner_id, due)
    action = CorrectiveAction(
        nonconformity=nc, description=description.strip(), owner_id=owner.id, due_date=due, created_by_id=actor.id
    )
    db.session.add(action)
    db.session.flush()
    changes: dict[str, list[Any]] = {}
    if nc.status in (NCStatus.CAUSE_IDENTIFIED, NCStatus.ACTIONS_DONE):
        changes = events.apply_changes(nc, status=NCStatus.ACTIONS_PLANNED.value)
    events.record(
        actor,
        "corrective_action",
        action.id,
        "planned",
        {
            "nonconformity": nc.number,
            "description": action.description,
            "owner_id": owner.id,
            "due_date": due.isoformat(),
            **changes,
        },
    )
    return action


def complete_action(actor: User, action: CorrectiveAction, note: str) -> None:
    """The owner marks the action done with a note; the last one moves the NC to Actions done."""
    nc = action.nonconformity
    _require(
        actor.id == action.owner_id or actor.has_role(Role.QUALITY_LEAD),
        "Only the action's owner or a quality lead can complete it.",
    )
    if nc is not None:
        _open_for_changes(nc)
    else:
        events.begin_change()
        db.session.refresh(action)  # judged under the lock: a second tap finds it done
    if action.is_done:
        raise Conflict("_form", "This action is already done.")
    if action.status != ActionStatus.OPEN:  # cancelled: its nonconformity was withdrawn or its gap closed
        raise Conflict("_form", "This action was cancelled; there is nothing left to do.")
    if not note.strip():
        raise RuleError("note", "Say what was done: the completion note is the record.")
    changes = events.apply_changes(
        action, status=ActionStatus.DONE.value, completion_note=note.strip(), completed_at=utcnow()
    )
    origin = {"nonconformity": nc.number} if nc is not None else {"origin": action.origin}
    events.record(actor, "corrective_action", action.id, "completed", {**origin, **changes})
    if nc is not None and nc.status == NCStatus.ACTIONS_PLANNED and all(a.is_done for a in nc.actions):
        events.record(
            actor, "nonconformity", nc.id, "actions_done", events.apply_changes(nc, status=NCStatus.ACTIONS_DONE.value)
        )


def verify(actor: User, nc: Nonconformity, effective: bool, evidence: str, on: date) -> None:
    """A quality lead who owns none of its actions judges effectiveness (10.2.1 d)."""
    _require(actor.has_role(Role.QUALITY_LEAD))
    _open_for_changes(nc)
    if nc.status != NCStatus.ACTIONS_DONE:
        raise Conflict("_form", "Every corrective action must be done before effectiveness is verified.")
    if any(a.owner_id == actor.id for a in nc.actions):
        raise Conflict("_form", "You own one of its actions; another quality lead must verify it (impartiality).")
    if not evidence.strip():
        raise RuleError("evidence", "Record the evidence that the actions worked (or did not).")
    changes = events.apply_changes(
        nc,
        verification_result="effective" if effective else "not_effective",
        verification_evidence=evidence.strip(),
        verified_on=on,
        verified_by_id=actor.id,
        verification_count=nc.verification_count + 1,
    )
    # Not effective: back to cause analysis; the done actions stay on record.
    status = NCStatus.VERIFIED_EFFECTIVE if effective else NCStatus.CONTAINED
    changes |= events.apply_changes(nc, status=status.value)
    events.record(actor, "nonconformity", nc.id, "verified", changes)


def close(actor: User, nc: Nonconformity) -> None:
    _require(actor.has_role(Role.QUALITY_LEAD))
    _open_for_changes(nc)
    if nc.status != NCStatus.VERIFIED_EFFECTIVE:
        raise Conflict("_form", "Only a nonconformity verified effective can be closed.")
    if any(not a.is_done for a in nc.actions):
        raise Conflict("_form", "Every corrective action must be done before it is closed.")
    events.record(
        actor,
        "nonconformity",
        nc.id,
        "closed",
        events.apply_changes(nc, status=NCStatus.CLOSED.value, closed_at=utcnow()),
    )


def reopen(actor: User, nc: Nonconformity, reason: str) -> None:
    """A quality lead reopens a closed nonconformity with a reason; it returns to cause analysis."""
    _require(actor.has_role(Role.QUALITY_LEAD))
    events.begin_change()
    db.session.refresh(nc)
    if nc.status != NCStatus.CLOSED:
        raise Conflict("_form", "Only a closed nonconformity can be reopened.")
    if not reason.strip():
        raise RuleError("reason", "Say why it is reopened.")
    changes = events.apply_changes(nc, status=NCStatus.CONTAINED.value, closed_at=None)
    events.record(actor, "nonconformity", nc.id, "reopened", {**changes, "reason": reason.strip()})


def withdraw(actor: User, nc: Nonconformity, reason: str) -> None:
    """A quality lead withdraws a nonconformity raised in error; it is kept, marked withdrawn."""
    _require(actor.has_role(Role.QUALITY_LEAD))
    _open_for_changes(nc)
    if nc.finding_id:
        raise Conflict("_form", "This one follows its audit finding: regrade the finding in the audit instead.")
    if not reason.strip():
        raise RuleError("reason", "Say why it is withdrawn.")
    _transition(actor, nc, NCStatus.WITHDRAWN, "withdrawn", withdrawn_reason=reason.strip())


def _transition(actor: User, nc: Nonconformity, status: NCStatus, action: str, **values: Any) -> None:
    if status == NCStatus.WITHDRAWN:
        # Nobody should go on working (or be reminded) on the actions of a withdrawn nonconformity.
        for open_action in [a for a in nc.actions if not a.is_done]:
            events.record(
                actor,
                "corrective_action",
                open_action.id,
                "cancelled",
                events.apply_changes(open_action, status=ActionStatus.CANCELLED.value),
            )
    events.record(actor, "nonconformity", nc.id, action, events.apply_changes(nc, status=status.value, **values))


# --- reading -----------------------------------------------------------------------------------


def similar(user: User, nc: Nonconformity, today: date, limit: int = 5) -> list[Nonconformity]:
    """Nonconformities of the same clause or area in the last 12 months that the user may see: a recurrence?"""
    since = today - timedelta(days=365)
    same = [Nonconformity.clause == nc.clause] if nc.clause else []
    if nc.area_id:
        same.append(Nonconformity.area_id == nc.area_id)
    if not same:
        return []
    return list(
        db.session.scalars(
            select(Nonconformity)
            .where(Nonconformity.id != nc.id, Nonconformity.raised_at >= since, or_(*same), visible_to(user))
            .order_by(Nonconformity.raised_at.desc())
            .limit(limit)
        ).all()
    )


def timeline(nc: Nonconformity) -> list[Event]:
    """Every event of the nonconformity and its actions, in the order they happened."""
    action_ids = [str(a.id) for a in nc.actions]
    return list(
        db.session.scalars(
            select(Event)
            .where(
                or_(
                    (Event.entity_type == "nonconformity") & (Event.entity_id == str(nc.id)),
                    (Event.entity_type == "corrective_action") & Event.entity_id.in_(action_ids),
                )
            )
            .order_by(Event.seq)
        ).all()
    )


def _awaiting_containment(user: User) -> Select[Nonconformity]:
    """Nonconformities still open (not contained) in the areas the user owns."""
    return select(Nonconformity).where(
        Nonconformity.status == NCStatus.OPEN,
        Nonconformity.area_id.in_(select(Area.id).where(Area.owner_id == user.id)),
    )


def awaiting_containment(user: User) -> list[Nonconformity]:
    """What the area owner must contain, oldest first: on My actions, beside the actions."""
    query = _awaiting_containment(user).options(selectinload(Nonconformity.area))
    return list(db.session.scalars(query.order_by(Nonconformity.raised_at, Nonconformity.id)).all())


def awaiting_containment_count(user: User) -> int:
    """The menu badge's number: one COUNT, asked only by the menu of those who own an area."""
    return db.session.scalar(select(func.count()).select_from(_awaiting_containment(user).subquery())) or 0


def my_actions(user: User, today: date) -> list[CorrectiveAction]:
    """Open actions owned by the user: overdue first, then by due date."""
    actions = db.session.scalars(
        select(CorrectiveAction)
        .outerjoin(Nonconformity)
        .where(CorrectiveAction.owner_id == user.id, CorrectiveAction.status == ActionStatus.OPEN, live_action())
        .options(selectinload(CorrectiveAction.nonconformity).selectinload(Nonconformity.area))
    ).all()
    return sorted(actions, key=lambda a: (not a.is_overdue(today), a.due_date))


def _check_action(description: str, owner_id: int | None, due: date | None) -> tuple[User, date]:
    """What every tracked action needs: what, who (an active user), by when. Returns the owner and the date."""
    if not description.strip():
        raise RuleError("description", "Describe the action.")
    owner = db.session.get(User, owner_id) if owner_id else None
    if owner is None or not owner.active:
        raise RuleError("owner_id", "Choose who owns the action.")
    if due is None:
        raise RuleError("due_date", "Choose the due date.")
    return owner, due


def live_action() -> ColumnElement[bool]:
    """An action still to be worked on: its nonconformity (if it has one) is neither closed nor withdrawn.

    Needs Nonconformity outer-joined to CorrectiveAction."""
    return or_(
        CorrectiveAction.nonconformity_id.is_(None), Nonconformity.status.not_in([NCStatus.CLOSED, NCStatus.WITHDRAWN])
    )


def can_view_action(user: User, action: CorrectiveAction) -> bool:
    """An NC's action: whoever may see the NC. Other actions: their owner and quality leads."""
    if action.nonconformity is not None:
        return can_view(user, action.nonconformity)
    return user.has_role(Role.QUALITY_LEAD, Role.ADMIN) or action.owner_id == user.id


def plan_tracked_action(
    actor: User, origin: str, description: str, owner_id: int | None, due: date | None, **link: int | str | None
) -> CorrectiveAction:
    """An action outside a nonconformity (a review decision, a gap to close), in the same action log.

    The caller checks who may plan it and links it (review_decision_id=..., finding_id=...). Does not commit."""
    owner, due = _check_action(description, owner_id, due)
    action = CorrectiveAction(
        origin=origin, description=description.strip(), owner_id=owner.id, due_date=due, created_by_id=actor.id, **link
    )
    db.session.add(action)
    db.session.flush()
    events.record(
        actor,
        "corrective_action",
        action.id,
        "planned",
        {
            "origin": origin,
            "description": action.description,
            "owner_id": owner.id,
            "due_date": due.isoformat(),
            **{k: v for k, v in link.items() if v is not None},
        },
    )
    return action


def assignable_owners() -> list[User]:
    return list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)).all())


def may_see_photo(user: User, photo: Photo) -> bool:
    """Photos of a corrective action, of a nonconformity raised by hand, or of the finding behind one."""
    action = db.session.get(CorrectiveAction, photo.action_id) if photo.action_id else None
    if action is not None and can_view_action(user, action):
        return True
    nc_ids = {photo.nonconformity_id} if photo.nonconformity_id else set()
    if photo.finding_id:
        nc_ids |= set(db.session.scalars(select(Nonconformity.id).filter_by(finding_id=photo.finding_id)))
    return any(can_view(user, nc) for nc in (db.session.get(Nonconformity, i) for i in nc_ids) if nc is not None)
