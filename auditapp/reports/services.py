"""Certification readiness from live data: clause coverage and the path to certification.

Everything is computed with SQL aggregates: a fixed number of queries however many audits,
responses and findings there are.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..audits.models import NOT_AUDITED, Audit, AuditKind, AuditStatus, Response
from ..capa.models import NCStatus, Nonconformity
from ..checklists.clauses import AUDITABLE_CLAUSES, auditable_clause_of
from ..checklists.models import ChecklistItem, Result
from ..extensions import db
from ..findings.models import Finding, FindingStatus
from ..review.services import last_held
from ..scope.services import current_scope

CYCLE_DAYS = 365
AUDIT_LINKS = 3  # latest audits linked from each clause of the coverage map


@dataclass
class ClauseCoverage:
    clause: str
    title: str
    answered: int = 0
    last_audited: datetime | None = None
    results: dict[str, int] = field(default_factory=dict)
    findings: dict[str, int] = field(default_factory=dict)
    audits: dict[int, str] = field(default_factory=dict)  # audit id -> number, latest first

    @property
    def audited(self) -> bool:
        return self.answered > 0

    @property
    def verdict(self) -> str:
        if not self.audited:
            return "not_audited"
        if self.findings.get(Result.MAJOR_NC):
            return "major_nc"
        if self.findings.get(Result.MINOR_NC):
            return "minor_nc"
        return "conform"


def clause_coverage(now: datetime) -> list[ClauseCoverage]:
    """Each auditable clause: audited in the last 12 months by a completed internal audit, with what result."""
    since = now - timedelta(days=CYCLE_DAYS)
    coverage = {code: ClauseCoverage(code, title) for code, title in AUDITABLE_CLAUSES}
    # A gap analysis (before the first certification) is not part of the internal audit cycle.
    in_cycle = (Audit.status == AuditStatus.COMPLETED, Audit.completed_at >= since, Audit.kind == AuditKind.INTERNAL)
    answered = (Response.result.is_not(None), Response.result.not_in([Result.NA, NOT_AUDITED]))
    rows = db.session.execute(
        select(ChecklistItem.clause, Response.result, func.count(), func.max(Audit.completed_at))
        .join(Response, Response.item_id == ChecklistItem.id)
        .join(Audit, Audit.id == Response.audit_id)
        .where(*in_cycle, *answered)
        .group_by(ChecklistItem.clause, Response.result)
    ).all()
    for clause, result, count, last in rows:
        entry = coverage.get(auditable_clause_of(clause) or "")
        if entry is None or result is None:  # the query selects answered items only
            continue
        entry.answered += count
        entry.results[result] = entry.results.get(result, 0) + count
        entry.last_audited = max(filter(None, [entry.last_audited, last]), default=None)
    for clause, grade, count in db.session.execute(
        select(Finding.clause, Finding.grade, func.count())
        .join(Audit, Audit.id == Finding.audit_id)
        .where(*in_cycle, Finding.status == FindingStatus.OPEN)
        .group_by(Finding.clause, Finding.grade)
    ).all():
        entry = coverage.get(auditable_clause_of(clause) or "")
        if entry is not None:
            entry.findings[grade] = entry.findings.get(grade, 0) + count
    # The latest few audits per checklist clause, chosen in SQL: with a year of audits, returning every
    # (clause, audit) pair would mean a hundred thousand rows for a page that links three.
    pairs = (
        select(
            ChecklistItem.clause.label("clause"),
            Audit.id.label("audit_id"),
            Audit.number.label("number"),
            Audit.completed_at.label("completed"),
        )
        .distinct()
        .join(Response, Response.item_id == ChecklistItem.id)
        .join(Audit, Audit.id == Response.audit_id)
        .where(*in_cycle, *answered)
        .subquery()
    )
    ranked = select(
        pairs,
        func.row_number()
        .over(partition_by=pairs.c.clause, order_by=(pairs.c.completed.desc(), pairs.c.audit_id.desc()))
        .label("rank"),
    ).subquery()
    audits_by_clause: dict[str, dict[int, tuple]] = defaultdict(dict)
    for clause, audit_id, number, completed in db.session.execute(
        select(ranked.c.clause, ranked.c.audit_id, ranked.c.number, ranked.c.completed).where(
            ranked.c.rank <= AUDIT_LINKS
        )
    ).all():
        code = auditable_clause_of(clause)
        if code in coverage:
            audits_by_clause[code][audit_id] = (completed, number)
    for code, found in audits_by_clause.items():
        latest = sorted(found.items(), key=lambda kv: (kv[1][0], kv[0]), reverse=True)[:AUDIT_LINKS]
        coverage[code].audits = {audit_id: number for audit_id, (_, number) in latest}
    return list(coverage.values())


@dataclass
class ReadinessLine:
    label: str
    ok: bool
    detail: str
    link_endpoint: str | None = None
    link_args: dict = field(default_factory=dict)


def readiness(now: datetime) -> list[ReadinessLine]:
    """The path to certification, each step green or red with what is missing."""
    coverage = clause_coverage(now)
    missing = [c.clause for c in coverage if not c.audited]
    open_statuses = [s for s in NCStatus if s not in (NCStatus.CLOSED, NCStatus.WITHDRAWN, NCStatus.VERIFIED_EFFECTIVE)]
    open_major = db.session.scalar(
        select(func.count(Nonconformity.id)).where(
            Nonconformity.severity == "major", Nonconformity.status.in_(open_statuses)
        )
    )
    minor_without_plan = db.session.scalar(
        select(func.count(Nonconformity.id)).where(
            Nonconformity.severity == "minor",
            Nonconformity.status.in_([NCStatus.OPEN, NCStatus.CONTAINED, NCStatus.CAUSE_IDENTIFIED]),
        )
    )
    scope = current_scope()
    return [
        ReadinessLine(
            "QMS scope stated",
            scope is not None,
            f"revision {scope.revision} of {scope.created_at:%d %b %Y}" if scope else "not stated yet",
            "reports.scope",
        ),
        ReadinessLine(
            "Every clause audited in the last 12 months",
            not missing,
            "all audited"
            if not missing
            else f"{len(missing)} not audited: {', '.join(missing[:8])}" + ("…" if len(missing) > 8 else ""),
            "reports.coverage",
        ),
        _review_line(now),
        ReadinessLine(
            "No open major nonconformity",
            open_major == 0,
            "none open" if not open_major else f"{open_major} open",
            "capa.index",
            {"severity": "major", "status": "active"},
        ),
        ReadinessLine(
            "Minor nonconformities have action plans",
            minor_without_plan == 0,
            "all planned" if not minor_without_plan else f"{minor_without_plan} without planned actions",
            "capa.index",
            {"severity": "minor", "status": "active"},
        ),
    ]


def _review_line(now: datetime) -> ReadinessLine:
    held = last_held(now.date())
    ok = (
        held is not None
        and held.meeting_date is not None  # a held review has its meeting date
        and held.meeting_date >= now.date() - timedelta(days=CYCLE_DAYS)
    )
    if held is None:
        detail = "no management review recorded as held yet"
    elif ok:
        detail = f"{held.number} held {held.meeting_date:%d %b %Y}"
    else:
        detail = f"last one, {held.number}, was held {held.meeting_date:%d %b %Y}: over 12 months ago"
    return ReadinessLine("Management review held and recorded", ok, detail, "review.index")
