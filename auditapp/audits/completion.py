"""Completing an audit: what it would record, what stops it, and reopening it with a reason.

The checks read findings and photos (both below audits); the functions do not commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from blinker import Namespace
from sqlalchemy import select

from ..accounts.models import Role, User
from ..checklists.models import RESULT_LABELS, ChecklistItem, PhotoRule, Result
from ..checklists.rules import finding_required, has_own_rules, missing_evidence
from ..core.errors import Conflict, NotAllowed, RuleError
from ..core.timeutil import utcnow
from ..events import services as events
from ..extensions import db
from ..findings.models import FINDING_GRADES, NC_GRADES, Finding
from ..photos.models import Photo
from .models import NOT_AUDITED, Audit, AuditStatus, Response
from .services import Progress, ensure_open, lock_audit, progress, responses_by_item

_signals = Namespace()
# Sent inside the change, after the audit's status changed (receivers are connected in the factory's
# register_flows): summaries of completed audits (the clause coverage map) follow. `completed_at` of a
# reopened audit is the completion it had.
audit_completed = _signals.signal("audit-completed")
audit_reopened = _signals.signal("audit-reopened")


@dataclass(frozen=True)
class Blocker:
    """One thing to fix before completing, named by the item's question; item_id links to it on the screen."""

    message: str
    item_id: int | None = None

    def __str__(self) -> str:
        return self.message


@dataclass
class CompletionCheck:
    progress: Progress
    unanswered: list[ChecklistItem]
    blockers: list[Blocker]  # what must be fixed before the audit can be completed


def _named(what: Finding | ChecklistItem) -> tuple[str, int | None]:
    """How a blocker names an item: its clause and question (an ad-hoc finding: its clause)."""
    item = what if isinstance(what, ChecklistItem) else what.item
    if item is None:
        return f"Ad-hoc finding on {what.clause}", None
    return f"{item.clause} “{item.question}”", item.id


def completion_check(audit: Audit) -> CompletionCheck:
    """What completing would record, and what stops it (incomplete findings, missing photos)."""
    prog = progress(audit)
    answered = set(
        db.session.scalars(select(Response.item_id).where(Response.audit_id == audit.id, Response.result.is_not(None)))
    )
    # Items hidden by their condition (show-if, issue 15) are not asked: never unanswered, never blocking.
    hidden = prog.hidden
    unanswered = [i for i in audit.checklist_version.items if i.id not in answered and i.id not in hidden]
    blockers = []
    for f, what in incomplete_findings(audit):
        name, item_id = _named(f)
        if item_id in hidden:
            continue
        blockers.append(Blocker(f"{name}: needs {what}.", item_id))
    for i, result, missing in items_missing_evidence(audit):
        if i.id in hidden:
            continue
        name, item_id = _named(i)
        if i.photo_rule == PhotoRule.REQUIRED_ON_NC and not has_own_rules(i):
            blockers.append(Blocker(f"{name}: a nonconformity here needs a photo.", item_id))  # today's words
        else:
            said = RESULT_LABELS.get(result, result)
            blockers.append(Blocker(f"{name}: {said} here needs {' and '.join(missing)}.", item_id))
    return CompletionCheck(prog, unanswered, blockers)


def complete_audit(actor: User, audit: Audit, conclusion: str, confirm_unanswered: bool) -> None:
    """Close the audit: unanswered items are recorded as not audited. Does not commit."""
    ensure_open(audit, exclusive=True)  # waits for the answers in flight; later ones see it completed
    if actor.id != audit.lead_auditor_id:
        raise NotAllowed("Only the lead auditor can complete the audit.")
    check = completion_check(audit)
    if check.blockers:
        raise RuleError("_form", "Fix these first: " + " ".join(map(str, check.blockers)))
    if check.unanswered and not confirm_unanswered:
        raise RuleError(
            "confirm_unanswered", f"{len(check.unanswered)} items are unanswered. Confirm that they were not audited."
        )
    existing = responses_by_item(audit)
    for item in check.unanswered:
        response = existing.get(item.id)
        if response is None:
            response = Response(
                id=str(uuid.uuid4()),
                audit_id=audit.id,
                item_id=item.id,
                revision=1,
                answered_by_id=actor.id,
                answered_at=utcnow(),
                result=NOT_AUDITED,
            )
            db.session.add(response)
        else:
            response.result = NOT_AUDITED
            response.revision += 1
        db.session.flush()
        events.record(
            actor,
            "response",
            response.id,
            "not_audited",
            {"result": [None, NOT_AUDITED]},
            audit_id=audit.id,
            item_id=item.id,
        )
    # Answers kept on items their condition hides stay, but count nowhere (coverage reads this mark).
    for item_id, response in existing.items():
        response.not_asked = item_id in check.progress.hidden
    db.session.flush()  # while the audit is open: a completed audit's answers are read-only (audits/integrity.py)
    old_status = audit.status
    audit.status = AuditStatus.COMPLETED.value
    audit.completed_at = utcnow()
    audit.conclusion = conclusion
    events.record(
        actor,
        "audit",
        audit.id,
        "completed",
        {"status": [old_status, "completed"], "conclusion": conclusion, "not_audited": len(check.unanswered)},
        audit_id=audit.id,
    )
    db.session.flush()
    audit_completed.send(actor, audit=audit)


def reopen_audit(actor: User, audit: Audit, reason: str) -> None:
    """Make a completed audit editable again; only its lead auditor or a quality lead. Does not commit."""
    lock_audit(audit, exclusive=True)  # the audit's row before the log's head, as every change of an audit
    events.begin_change()
    db.session.refresh(audit)
    if not audit.is_completed:
        raise Conflict("_form", "The audit is not completed.")
    if actor.id != audit.lead_auditor_id and not actor.has_role(Role.QUALITY_LEAD):
        raise NotAllowed("Only the lead auditor or a quality lead can reopen an audit.")
    completed_at = audit.completed_at
    audit.status = AuditStatus.IN_PROGRESS.value
    audit.completed_at = None
    events.record(
        actor,
        "audit",
        audit.id,
        "reopened",
        {"status": ["completed", "in_progress"], "reason": reason},
        audit_id=audit.id,
    )
    db.session.flush()
    audit_reopened.send(actor, audit=audit, completed_at=completed_at)


def incomplete_findings(audit: Audit) -> list[tuple[Finding | ChecklistItem, str]]:
    """Items graded as findings without a finding written, and findings missing what their grade needs."""
    problems: list[tuple[Finding | ChecklistItem, str]] = []
    responses = db.session.scalars(
        select(Response).where(Response.audit_id == audit.id, Response.result.in_([g.value for g in FINDING_GRADES]))
    ).all()
    written = {f.response_id: f for f in db.session.scalars(select(Finding).where(Finding.audit_id == audit.id))}
    with_photos = set(db.session.scalars(select(Photo.item_id).where(Photo.audit_id == audit.id)))
    for response in responses:
        finding = written.get(response.id)
        if finding is None and finding_required(audit.checklist_version, response.result):
            problems.append((response.item, "a written finding"))
    for finding in written.values():
        if not finding.is_open:
            continue
        if audit.is_gap_analysis:
            if finding.grade in NC_GRADES and not (finding.statement and finding.gap_category):
                problems.append((finding, "what is missing and its gap category"))
            continue
        if finding.grade in NC_GRADES and not finding.statement:
            problems.append((finding, "a statement"))
        if finding.grade in NC_GRADES and not (finding.evidence or finding.item_id in with_photos):
            problems.append((finding, "objective evidence (typed, or a photo)"))
        if finding.grade == Result.MAJOR_NC and not finding.why_major:
            problems.append((finding, "the reason it is major"))
    return problems


def items_missing_evidence(audit: Audit) -> list[tuple[ChecklistItem, str, list[str]]]:
    """Answered items missing the photo or note their checklist's evidence rules ask for
    (checklists/rules.py): (item, its result, what is missing: "a photo", "a note")."""
    with_photos = set(db.session.scalars(select(Photo.item_id).where(Photo.audit_id == audit.id)))
    rows = db.session.execute(
        select(ChecklistItem, Response.result, Response.note)
        .join(Response, Response.item_id == ChecklistItem.id)
        .where(Response.audit_id == audit.id, Response.result.is_not(None))
        .order_by(ChecklistItem.position)
    ).all()
    missing = []
    for item, result, note in rows:
        what = missing_evidence(item, result, item.id in with_photos, note, gap_analysis=audit.is_gap_analysis)
        if what and result:
            missing.append((item, result, what))
    return missing
