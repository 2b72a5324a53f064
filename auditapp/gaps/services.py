"""Gap analysis rules: each auditable clause's status, its gaps, and the action plan that closes them.

A gap is an open Partly in place / Missing finding of a gap-analysis audit. Its actions are tracked
actions (origin "gap_analysis") in the one action log. Functions that change records do not commit;
the view commits them with the change id (web/changes.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..accounts.models import Role, User
from ..audits.models import NOT_AUDITED, Audit, Response
from ..audits.services import hidden_items
from ..capa import services as capa
from ..capa.models import ActionStatus, CorrectiveAction
from ..checklists.clauses import AUDITABLE_CLAUSES, auditable_clause_of
from ..checklists.models import ChecklistItem, ItemClause, Result
from ..checklists.standards import ISO9001
from ..core.errors import Conflict, NotAllowed
from ..events import services as events
from ..extensions import db
from ..findings.models import GAP_CATEGORIES, NC_GRADES, Finding, FindingStatus

ORIGIN = "gap_analysis"
STATUS_LABELS = {
    "in_place": "In place",
    "partly": "Partly in place",
    "missing": "Missing",
    "not_applicable": "Not applicable",
    "not_assessed": "Not assessed",
}
# What an answer (or an ad-hoc finding's grade) says about the requirement it covers.
STANDING: dict[str, str] = {
    Result.CONFORM: "in_place",
    Result.OBSERVATION: "in_place",
    Result.OFI: "in_place",
    Result.MINOR_NC: "partly",
    Result.MAJOR_NC: "missing",
}
OTHER = "other"  # checklist clauses outside 4.1 to 10.3


@dataclass
class Gap:
    finding: Finding
    actions: list[CorrectiveAction] = field(default_factory=list)

    @property
    def planned(self) -> bool:
        """At least one action that is not cancelled."""
        return any(a.status != ActionStatus.CANCELLED for a in self.actions)


@dataclass
class ClauseGaps:
    clause: str
    title: str
    standings: list[str] = field(default_factory=list)  # one per assessed item or ad-hoc finding
    not_applicable: int = 0
    gaps: list[Gap] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)  # observations and OFIs

    @property
    def status(self) -> str:
        """In place if every assessed requirement is, missing if every one is, partly otherwise."""
        if not self.standings:
            return "not_applicable" if self.not_applicable else "not_assessed"
        kinds = set(self.standings)
        if kinds == {"in_place"}:
            return "in_place"
        if kinds == {"missing"}:
            return "missing"
        return "partly"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass
class GapReport:
    audit: Audit
    clauses: list[ClauseGaps]

    @property
    def gaps(self) -> list[Gap]:
        return [g for c in self.clauses for g in c.gaps]

    @property
    def counts(self) -> Counter:
        return Counter(c.status for c in self.clauses)

    @property
    def assessed(self) -> int:
        return sum(1 for c in self.clauses if c.status != "not_assessed" and c.clause != OTHER)

    @property
    def total(self) -> int:
        return sum(1 for c in self.clauses if c.clause != OTHER)

    @property
    def by_category(self) -> dict[str, int]:
        found = Counter(g.finding.gap_category for g in self.gaps)
        counts = {code: found.get(code, 0) for code in GAP_CATEGORIES}
        if found.get(None):
            counts[""] = found[None]  # written before a category was required (e.g. ad hoc, offline)
        return counts

    @property
    def without_action(self) -> list[Finding]:
        return [g.finding for g in self.gaps if not g.planned]


def require_gap_analysis(audit: Audit) -> None:
    if not audit.is_gap_analysis:
        raise Conflict("_form", "This audit is an internal audit, not a gap analysis.")


def gap_report(audit: Audit) -> GapReport:
    """Every auditable clause in 4.1…10.3 order with its status, gaps and their actions; three queries."""
    require_gap_analysis(audit)
    clauses = {code: ClauseGaps(code, title) for code, title in AUDITABLE_CLAUSES}

    def entry(clause: str) -> ClauseGaps:
        code = auditable_clause_of(clause)
        if code is None:
            return clauses.setdefault(OTHER, ClauseGaps(OTHER, "Other requirements"))
        return clauses[code]

    # An item speaks for the ISO 9001 clauses it covers; an item that names none, for its reference.
    iso_clauses: dict[int, list[str]] = defaultdict(list)
    for item_id, code in db.session.execute(
        select(ItemClause.item_id, ItemClause.clause)
        .join(ChecklistItem, ChecklistItem.id == ItemClause.item_id)
        .where(ChecklistItem.version_id == audit.checklist_version_id, ItemClause.standard == ISO9001)
    ):
        iso_clauses[item_id].append(code)
    not_asked = hidden_items(audit)  # show-if (issue 15): an answer kept on a hidden item counts nowhere
    for item_id, copy, reference, result in db.session.execute(
        select(ChecklistItem.id, Response.copy, ChecklistItem.clause, Response.result)
        .join(Response, Response.item_id == ChecklistItem.id)
        .where(Response.audit_id == audit.id, Response.result.is_not(None), Response.result != NOT_AUDITED)
    ):
        if (item_id, copy) in not_asked:
            continue
        for clause in iso_clauses.get(item_id) or [reference]:
            if result == Result.NA:
                entry(clause).not_applicable += 1
            elif result in STANDING:
                entry(clause).standings.append(STANDING[result])
    findings = db.session.scalars(
        select(Finding)
        .where(Finding.audit_id == audit.id, Finding.status == FindingStatus.OPEN)
        .order_by(Finding.clause, Finding.created_at)
    ).all()
    actions: dict[str | None, list[CorrectiveAction]] = defaultdict(list)
    for action in db.session.scalars(
        select(CorrectiveAction)
        .where(CorrectiveAction.finding_id.in_([f.id for f in findings]), CorrectiveAction.origin == ORIGIN)
        .options(selectinload(CorrectiveAction.owner))
        .order_by(CorrectiveAction.id)
    ):
        actions[action.finding_id].append(action)
    for finding in findings:
        covered = iso_clauses.get(finding.item_id) if finding.item_id is not None else None
        target = entry(covered[0] if covered else finding.clause)
        if finding.item_id is None and finding.grade in STANDING:
            target.standings.append(STANDING[finding.grade])  # an ad-hoc finding speaks for its clause
        if finding.grade in NC_GRADES:
            target.gaps.append(Gap(finding, actions[finding.id]))
        else:
            target.notes.append(finding)
    return GapReport(audit, list(clauses.values()))


def gap_of(audit: Audit, finding_id: str) -> Gap | None:
    """One open gap of the audit with its actions, or None."""
    finding = db.session.get(Finding, finding_id)
    if finding is None or finding.audit_id != audit.id or not finding.is_open or not finding.is_gap:
        return None
    actions = db.session.scalars(
        select(CorrectiveAction)
        .where(CorrectiveAction.finding_id == finding.id, CorrectiveAction.origin == ORIGIN)
        .order_by(CorrectiveAction.id)
    ).all()
    return Gap(finding, list(actions))


def action_state(action: CorrectiveAction, today: date) -> str:
    if action.status == ActionStatus.CANCELLED:
        return "cancelled"
    if action.is_done:
        return "done"
    return "overdue" if action.is_overdue(today) else "open"


# --- the action plan ---------------------------------------------------------------------------


def can_plan(user: User, audit: Audit) -> bool:
    """Quality leads and the audit's lead auditor turn gaps into actions."""
    return audit.is_gap_analysis and (user.has_role(Role.QUALITY_LEAD) or user.id == audit.lead_auditor_id)


def _open_gap(finding: Finding) -> None:
    """Judge the gap on its committed state, under the change lock."""
    events.begin_change()
    db.session.refresh(finding)
    if not finding.is_open or not finding.is_gap:
        raise Conflict("_form", "This gap is no longer open: its item was re-answered.")


def plan_gap_action(
    actor: User, audit: Audit, finding: Finding, description: str, owner_id: int | None, due: date | None
) -> CorrectiveAction:
    """One tracked action, with owner and due date, to close one gap. Does not commit."""
    if not can_plan(actor, audit):
        raise NotAllowed("Only quality leads and the lead auditor plan the actions of a gap analysis.")
    _open_gap(finding)
    return capa.plan_tracked_action(actor, ORIGIN, description, owner_id, due, finding_id=finding.id)


def action_for_every_gap(finding: Finding) -> str:
    """The description a bulk-planned action gets: the gap it closes."""
    return f"Close the gap at {finding.clause}: {finding.statement}"


def plan_every_gap(actor: User, audit: Audit, owner_id: int | None, due: date | None) -> list[CorrectiveAction]:
    """One action, same owner and due date, for every open gap that has none yet. Does not commit."""
    if not can_plan(actor, audit):
        raise NotAllowed("Only quality leads and the lead auditor plan the actions of a gap analysis.")
    events.begin_change()  # two quality leads confirming at once must not plan every gap twice
    pending = gap_report(audit).without_action
    if not pending:
        raise Conflict("_form", "Every gap already has an action.")
    planned = [
        capa.plan_tracked_action(actor, ORIGIN, action_for_every_gap(f), owner_id, due, finding_id=f.id)
        for f in pending
    ]
    assert due is not None  # plan_tracked_action refused a missing due date
    events.record(
        actor,
        "audit",
        audit.id,
        "gap_actions_planned",
        {"actions": [a.id for a in planned], "owner_id": owner_id, "due_date": due.isoformat()},
        audit_id=audit.id,
    )
    return planned


def cancel_gap_actions(actor: User, finding: Finding) -> None:
    """A gap found in place after all (or regraded to an observation): nobody should go on working on it.

    Connected to findings.services.finding_changed."""
    if not finding.audit.is_gap_analysis or (finding.is_open and finding.is_gap):
        return
    for action in db.session.scalars(
        select(CorrectiveAction).where(
            CorrectiveAction.finding_id == finding.id, CorrectiveAction.status == ActionStatus.OPEN
        )
    ):
        events.record(
            actor,
            "corrective_action",
            action.id,
            "cancelled",
            {"origin": action.origin, **events.apply_changes(action, status=ActionStatus.CANCELLED.value)},
        )
