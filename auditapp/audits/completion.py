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
from .services import (
    Copy,
    Progress,
    ensure_open,
    item_anchor,
    lock_audit,
    progress,
    responses_by_slot,
    section_copies,
    slot_label,
)

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
    anchor: str | None = None  # the item's element on the audit screen ("item-12", "item-12-c2")

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Unanswered:
    """An item nobody answered, in its copy of a repeating section (copy 1 elsewhere)."""

    item: ChecklistItem
    copy: Copy

    @property
    def id(self) -> int:
        return self.item.id

    @property
    def clause(self) -> str:
        return self.item.clause

    @property
    def question(self) -> str:
        return self.item.question

    @property
    def where(self) -> str:
        """ "Station 2: " for a copy of a repeating section, else nothing."""
        return slot_label(self.copy)

    @property
    def anchor(self) -> str:
        return item_anchor(self.item.id, self.copy.number)


@dataclass
class CompletionCheck:
    progress: Progress
    unanswered: list[Unanswered]
    blockers: list[Blocker]  # what must be fixed before the audit can be completed


# What a blocker is about: a finding, or an item in a copy (item, copy number).
Subject = Finding | tuple[ChecklistItem, int]


def _named(what: Subject, copies: dict[tuple[int, int], Copy]) -> tuple[str, int | None, str | None]:
    """How a blocker names an item: its copy ("Station 2: "), clause and question (an ad-hoc finding: its clause)."""
    item: ChecklistItem | None
    if isinstance(what, tuple):
        item, number = what
    else:
        item, number = what.item, what.copy
        if item is None:
            return f"Ad-hoc finding on {what.clause}", None, None
    copy = copies.get((item.section_id, number), Copy(item.section, number))
    return f"{slot_label(copy)}{item.clause} “{item.question}”", item.id, item_anchor(item.id, number)


def completion_check(audit: Audit) -> CompletionCheck:
    """What completing would record, and what stops it (incomplete findings, missing photos), per copy of a
    repeating section."""
    prog = progress(audit)
    answered = set(
        db.session.execute(
            select(Response.item_id, Response.copy).where(Response.audit_id == audit.id, Response.result.is_not(None))
        ).all()
    )
    # Items hidden by their condition (show-if, issue 15) are not asked: never unanswered, never blocking.
    hidden = prog.hidden
    asked = section_copies(audit)
    copies = {(c.section.id, c.number): c for c in asked}
    unanswered = [
        Unanswered(i, c)
        for c in asked
        for i in c.section.items
        if (i.id, c.number) not in answered and (i.id, c.number) not in hidden
    ]
    blockers = []
    for f, what in incomplete_findings(audit):
        subject = (f.item_id, f.copy) if isinstance(f, Finding) else (f[0].id, f[1])
        if subject in hidden:
            continue
        name, item_id, anchor = _named(f, copies)
        blockers.append(Blocker(f"{name}: needs {what}.", item_id, anchor))
    for i, number, result, missing in items_missing_evidence(audit):
        if (i.id, number) in hidden:
            continue
        name, item_id, anchor = _named((i, number), copies)
        if i.photo_rule == PhotoRule.REQUIRED_ON_NC and not has_own_rules(i):
            blockers.append(Blocker(f"{name}: a nonconformity here needs a photo.", item_id, anchor))  # today's words
        else:
            said = RESULT_LABELS.get(result, result)
            blockers.append(Blocker(f"{name}: {said} here needs {' and '.join(missing)}.", item_id, anchor))
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
    existing = responses_by_slot(audit)
    for slot in check.unanswered:
        item = slot.item
        response = existing.get((item.id, slot.copy.number))
        if response is None:
            response = Response(
                id=str(uuid.uuid4()),
                audit_id=audit.id,
                item_id=item.id,
                copy=slot.copy.number,
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
            {"result": [None, NOT_AUDITED], **({"copy": slot.copy.number} if slot.copy.number != 1 else {})},
            audit_id=audit.id,
            item_id=item.id,
        )
    # Answers kept on items their condition hides stay, but count nowhere (coverage reads this mark).
    for slot_of, response in existing.items():
        response.not_asked = slot_of in check.progress.hidden
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


def incomplete_findings(audit: Audit) -> list[tuple[Subject, str]]:
    """Items graded as findings without a finding written ((item, copy)), and findings missing what their
    grade needs."""
    problems: list[tuple[Subject, str]] = []
    responses = db.session.scalars(
        select(Response).where(Response.audit_id == audit.id, Response.result.in_([g.value for g in FINDING_GRADES]))
    ).all()
    written = {f.response_id: f for f in db.session.scalars(select(Finding).where(Finding.audit_id == audit.id))}
    with_photos = set(db.session.execute(select(Photo.item_id, Photo.copy).where(Photo.audit_id == audit.id)).all())
    for response in responses:
        finding = written.get(response.id)
        if finding is None and finding_required(audit.checklist_version, response.result):
            problems.append(((response.item, response.copy), "a written finding"))
    for finding in written.values():
        if not finding.is_open:
            continue
        if audit.is_gap_analysis:
            if finding.grade in NC_GRADES and not (finding.statement and finding.gap_category):
                problems.append((finding, "what is missing and its gap category"))
            continue
        if finding.grade in NC_GRADES and not finding.statement:
            problems.append((finding, "a statement"))
        if finding.grade in NC_GRADES and not (finding.evidence or (finding.item_id, finding.copy) in with_photos):
            problems.append((finding, "objective evidence (typed, or a photo)"))
        if finding.grade == Result.MAJOR_NC and not finding.why_major:
            problems.append((finding, "the reason it is major"))
    return problems


def items_missing_evidence(audit: Audit) -> list[tuple[ChecklistItem, int, str, list[str]]]:
    """Answered items missing the photo or note their checklist's evidence rules ask for
    (checklists/rules.py): (item, its copy, its result, what is missing: "a photo", "a note")."""
    with_photos = set(db.session.execute(select(Photo.item_id, Photo.copy).where(Photo.audit_id == audit.id)).all())
    rows = db.session.execute(
        select(ChecklistItem, Response.copy, Response.result, Response.note)
        .join(Response, Response.item_id == ChecklistItem.id)
        .where(Response.audit_id == audit.id, Response.result.is_not(None))
        .order_by(ChecklistItem.position, Response.copy)
    ).all()
    missing = []
    for item, copy, result, note in rows:
        photographed = (item.id, copy) in with_photos
        what = missing_evidence(item, result, photographed, note, gap_analysis=audit.is_gap_analysis)
        if what and result:
            missing.append((item, copy, result, what))
    return missing
