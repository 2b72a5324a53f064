"""Finding rules: a finding follows its item's result, and says what a nonconformity needs.

Like the audit services, these do not commit; the view commits with the change id.
"""
from __future__ import annotations

import uuid

from sqlalchemy import select

from ..audits.models import Audit, Response
from ..capa import services as capa
from ..audits.services import ensure_open
from ..checklists.models import ChecklistItem, Result
from ..events import services as events
from ..extensions import db
from ..core.timeutil import utcnow
from .models import FINDING_GRADES, NC_GRADES, Finding, FindingStatus

FIELDS = ("statement", "requirement", "evidence", "why_major")


def _values(data: dict) -> dict:
    """The finding's text fields from validated form data; the gap category only on gaps."""
    return {**{f: data.get(f, "") for f in FIELDS}, "gap_category": data.get("gap_category")}


def finding_for_response(response: Response | None) -> Finding | None:
    if response is None:
        return None
    return db.session.scalar(select(Finding).where(Finding.response_id == response.id))


def follow_result(actor, response: Response, previous: str | None) -> Finding | None:
    """Keep the item's finding (and its nonconformity) in step with its result."""
    finding = finding_for_response(response)
    if finding is None:
        return None
    is_finding = response.result in FINDING_GRADES
    if not is_finding and finding.is_open:
        _change(actor, finding, "withdrawn", status=FindingStatus.WITHDRAWN.value)
    elif is_finding and (finding.grade != response.result or not finding.is_open):
        _change(actor, finding, "regraded", grade=response.result, status=FindingStatus.OPEN.value)
    _cancel_gap_actions(actor, finding)
    capa.sync_from_finding(actor, finding)
    return finding


def save_item_finding(actor, audit: Audit, item: ChecklistItem, response: Response, data: dict) -> Finding:
    """Create or update the finding of an answered item. Does not commit."""
    ensure_open(audit)
    finding = finding_for_response(response)
    if finding is None:
        finding = Finding(id=str(data.get("finding_id") or uuid.uuid4()), audit_id=audit.id, item_id=item.id,
                          response_id=response.id, clause=item.clause, grade=response.result,
                          created_by_id=actor.id, **_values(data))
        db.session.add(finding)
        db.session.flush()
        events.record(actor, "finding", finding.id, "created", {
            "grade": [None, finding.grade], **{f: [None, v] for f, v in _values(data).items() if v is not None}},
            audit_id=audit.id, item_id=item.id)
    else:
        _change(actor, finding, "updated", **_values(data))
    capa.sync_from_finding(actor, finding)  # an NC finding is in the log as soon as it is saved
    return finding


def save_adhoc_finding(actor, audit: Audit, data: dict, finding: Finding | None = None) -> Finding:
    """A finding not tied to a checklist item, against a clause the auditor picks. Does not commit."""
    ensure_open(audit)
    values = {"clause": data["clause"], "grade": data["grade"], **_values(data)}
    if finding is None:
        finding = Finding(id=str(data.get("finding_id") or uuid.uuid4()), audit_id=audit.id,
                          created_by_id=actor.id, **values)
        db.session.add(finding)
        db.session.flush()
        events.record(actor, "finding", finding.id, "created",
                      {k: [None, v] for k, v in values.items() if v is not None}, audit_id=audit.id)
    else:
        _change(actor, finding, "updated", **values)
        _cancel_gap_actions(actor, finding)  # regraded from a gap to a note: its actions stop
    capa.sync_from_finding(actor, finding)
    return finding


def _cancel_gap_actions(actor, finding: Finding) -> None:
    """A gap found in place after all (or regraded to an observation): nobody should go on working on it."""
    from ..capa.models import CorrectiveAction
    if not finding.audit.is_gap_analysis or (finding.is_open and finding.is_gap):
        return
    for action in db.session.scalars(select(CorrectiveAction).where(
            CorrectiveAction.finding_id == finding.id, CorrectiveAction.status == "open")):
        events.record(actor, "corrective_action", action.id, "cancelled",
                      {"origin": action.origin, **events.apply_changes(action, status="cancelled")})


def _change(actor, finding: Finding, action: str, **values) -> None:
    changes = events.apply_changes(finding, **values)
    if not changes:
        return
    finding.updated_at = utcnow()
    events.record(actor, "finding", finding.id, action, changes, audit_id=finding.audit_id, item_id=finding.item_id)


def audit_findings(audit: Audit) -> list[Finding]:
    """Open findings of an audit, in checklist order, ad-hoc ones last."""
    findings = db.session.scalars(
        select(Finding).where(Finding.audit_id == audit.id, Finding.status == FindingStatus.OPEN)
        .order_by(Finding.created_at)
    ).all()
    order = {item.id: item.position for item in audit.checklist_version.items}
    return sorted(findings, key=lambda f: (order.get(f.item_id, 10**9), f.created_at))


def incomplete_findings(audit: Audit) -> list[tuple[Finding | ChecklistItem, str]]:
    """Items graded as findings without a finding written, and findings missing what their grade needs."""
    problems = []
    responses = db.session.scalars(select(Response).where(
        Response.audit_id == audit.id, Response.result.in_([g.value for g in FINDING_GRADES]))).all()
    written = {f.response_id: f for f in db.session.scalars(select(Finding).where(Finding.audit_id == audit.id))}
    for response in responses:
        finding = written.get(response.id)
        if finding is None:
            problems.append((response.item, "a written finding"))
    for finding in written.values():
        if not finding.is_open:
            continue
        if audit.is_gap_analysis:
            if finding.grade in NC_GRADES and not (finding.statement and finding.gap_category):
                problems.append((finding, "what is missing and its gap category"))
            continue
        if finding.grade in NC_GRADES and not (finding.statement and finding.evidence):
            problems.append((finding, "a statement and objective evidence"))
        if finding.grade == Result.MAJOR_NC and not finding.why_major:
            problems.append((finding, "the reason it is major"))
    return problems
