"""Finding rules: a finding follows its item's result, and the domains that track findings follow it.

When a finding is created or changes, `finding_changed` is sent; the nonconformity log, the
improvement register and gap actions are connected to it in the app factory (`register_flows`),
side by side. Callers (audits.recording) check that the audit is open first; nothing here commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from blinker import Namespace
from sqlalchemy import select

from ..checklists.models import ChecklistItem
from ..checklists.schemas import CLAUSE
from ..core.errors import Conflict
from ..core.timeutil import utcnow
from ..events import services as events
from ..extensions import db
from .models import FINDING_GRADES, Finding, FindingStatus

if TYPE_CHECKING:  # annotations only: audits sits above findings
    from ..accounts.models import User
    from ..audits.models import Audit, Response

FIELDS = ("statement", "requirement", "evidence", "why_major")

_signals = Namespace()
#: Sent with (actor, finding=...) after a finding was created, edited, regraded or withdrawn.
#: A receiver that refuses (a closed nonconformity) raises, and the whole change is refused.
finding_changed = _signals.signal("finding-changed")


@dataclass(frozen=True)
class Raised:
    """The record a finding raised elsewhere (its nonconformity): shown beside the finding, linked."""

    number: str  # NC-2026-0001
    record_id: int


#: Who tells, for a set of finding ids, what each raised: {finding id: Raised}. The nonconformity log
#: registers here (app factory's register_flows), so the audit screen and report show NC numbers
#: without importing it.
_raised_lookups: list[Callable[[Collection[str]], dict[str, Raised]]] = []


def register_raised(lookup: Callable[[Collection[str]], dict[str, Raised]]) -> None:
    if lookup not in _raised_lookups:
        _raised_lookups.append(lookup)


def raised_by(findings: Collection[Finding]) -> dict[str, Raised]:
    """What the findings raised (their nonconformity numbers), by finding id; one query per lookup."""
    ids = [f.id for f in findings if f is not None]
    found: dict[str, Raised] = {}
    if ids:
        for lookup in _raised_lookups:
            found.update(lookup(ids))
    return found


def default_requirement(item: ChecklistItem, named: list[tuple[str, str | None]]) -> str:
    """The requirement a finding on this item is written against, as the checklist gives it.

    A checklist item states a question, not the requirement: the requirement is named by its standards
    and clause (`named`: each standard's name with the clause's title when known), and the question says
    what was checked. A checklist that carries a requirement text for the item (`requirement`) gives it
    instead. Nothing is invented: an item of no standard is named by its reference."""
    text = str(getattr(item, "requirement", "") or "").strip()
    if text:
        return text
    places = [f"{name} clause {item.clause}" + (f" ({title})" if title else "") for name, title in named]
    where = "; ".join(places) or (f"Clause {item.clause}" if CLAUSE.match(item.clause) else f"Reference {item.clause}")
    return f"{where}\nChecked: {item.question}"


def _values(data: dict[str, Any]) -> dict[str, Any]:
    """The finding's text fields from validated form data; the gap category only on gaps."""
    return {**{f: data.get(f, "") for f in FIELDS}, "gap_category": data.get("gap_category")}


def finding_for_response(response: Response | None) -> Finding | None:
    if response is None:
        return None
    return db.session.scalar(select(Finding).where(Finding.response_id == response.id))


def follow_result(actor: User, response: Response, previous: str | None) -> Finding | None:
    """Keep the item's finding in step with its result (withdrawn, regraded or reinstated)."""
    finding = finding_for_response(response)
    if finding is None:
        return None
    is_finding = response.result in FINDING_GRADES
    if not is_finding and finding.is_open:
        _change(actor, finding, "withdrawn", status=FindingStatus.WITHDRAWN.value)
    elif is_finding and (finding.grade != response.result or not finding.is_open):
        _change(actor, finding, "regraded", grade=response.result, status=FindingStatus.OPEN.value)
    finding_changed.send(actor, finding=finding)
    return finding


def save_item_finding(
    actor: User, audit: Audit, item: ChecklistItem, response: Response, data: dict[str, Any]
) -> Finding:
    """Create or update the finding of an answered item. Does not commit."""
    finding = finding_for_response(response)
    if finding is None:
        finding = Finding(
            id=_unused_id(data),
            audit_id=audit.id,
            item_id=item.id,
            response_id=response.id,
            copy=response.copy or 1,  # a repeating section's copy (issue 15)
            clause=item.clause,
            grade=response.result,
            created_by_id=actor.id,
            **_values(data),
        )
        db.session.add(finding)
        db.session.flush()
        events.record(
            actor,
            "finding",
            finding.id,
            "created",
            {"grade": [None, finding.grade], **{f: [None, v] for f, v in _values(data).items() if v is not None}},
            audit_id=audit.id,
            item_id=item.id,
        )
    else:
        _change(actor, finding, "updated", **_values(data))
    finding_changed.send(actor, finding=finding)  # an NC finding is in the log as soon as it is saved
    return finding


def save_adhoc_finding(actor: User, audit: Audit, data: dict[str, Any], finding: Finding | None = None) -> Finding:
    """A finding not tied to a checklist item, against a clause the auditor picks. Does not commit."""
    values = {"clause": data["clause"], "grade": data["grade"], **_values(data)}
    if finding is None and data.get("finding_id"):
        # The same new finding sent twice (two taps, two tabs): the second one edits the first.
        finding = adhoc_finding(audit, str(data["finding_id"]))
    if finding is None:
        finding = Finding(id=_unused_id(data), audit_id=audit.id, created_by_id=actor.id, **values)
        db.session.add(finding)
        db.session.flush()
        events.record(
            actor,
            "finding",
            finding.id,
            "created",
            {k: [None, v] for k, v in values.items() if v is not None},
            audit_id=audit.id,
        )
    else:
        _change(actor, finding, "updated", **values)
    finding_changed.send(actor, finding=finding)
    return finding


def _unused_id(data: dict[str, Any]) -> str:
    """The id the phone made for a new finding, or a new one; an id already taken is refused, not reused."""
    finding_id = str(data.get("finding_id") or uuid.uuid4())
    if db.session.get(Finding, finding_id) is not None:
        raise Conflict("_form", "This finding was already saved elsewhere. Reload the page and write it again.")
    return finding_id


def _change(actor: User, finding: Finding, action: str, **values: Any) -> None:
    changes = events.apply_changes(finding, **values)
    if not changes:
        return
    finding.updated_at = utcnow()
    events.record(actor, "finding", finding.id, action, changes, audit_id=finding.audit_id, item_id=finding.item_id)


def audit_findings(audit: Audit) -> list[Finding]:
    """Open findings of an audit, in checklist order, ad-hoc ones last."""
    findings = db.session.scalars(
        select(Finding)
        .where(Finding.audit_id == audit.id, Finding.status == FindingStatus.OPEN)
        .order_by(Finding.created_at)
    ).all()
    order = {item.id: item.position for item in audit.checklist_version.items}
    return sorted(findings, key=lambda f: (order.get(f.item_id or 0, 10**9), f.created_at))


def adhoc_finding(audit: Audit, finding_id: str) -> Finding | None:
    """An ad-hoc finding of this audit by id, or None (a finding of another audit is not found)."""
    finding = db.session.get(Finding, finding_id)
    if finding is None or finding.audit_id != audit.id or finding.item_id is not None:
        return None
    return finding
