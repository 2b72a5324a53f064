"""Certification readiness from live data: clause coverage and the path to certification.

Everything is computed with SQL aggregates: a fixed number of queries however many audits,
responses and findings there are; the coverage map reads a summary kept on completion.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..capa.models import NCStatus, Nonconformity
from ..checklists.clauses import AUDITABLE_CLAUSES, auditable_clause_of
from ..checklists.models import ChecklistItem, Result
from ..extensions import db
from ..review.services import last_held
from ..scope.services import current_scope
from . import coverage
from .models import ClauseTally

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
    """Each auditable clause: audited in the last 12 months by a completed internal audit, with what result.

    Whole months come from the summary kept on completion (`reports.coverage`); only the month the
    12-month window cuts in two is counted from the records, so the map reads about the same number
    of rows whatever the number of audits."""
    since = now - timedelta(days=CYCLE_DAYS)
    whole = since if since == datetime(since.year, since.month, 1) else coverage.next_month(since)
    coverage_of = {code: ClauseCoverage(code, title) for code, title in AUDITABLE_CLAUSES}
    tallies = db.session.execute(
        select(
            ClauseTally.kind, ClauseTally.clause, ClauseTally.code, ClauseTally.count, ClauseTally.last_completed
        ).where(ClauseTally.month >= coverage.month_of(whole))
    ).all()
    answers = [(clause, code, n, last) for kind, clause, code, n, last in tallies if kind == coverage.ANSWER]
    findings = [(clause, code, n) for kind, clause, code, n, _ in tallies if kind == coverage.FINDING]
    if since < whole:  # the part of the first month inside the window
        answers += db.session.execute(coverage.answer_tallies(since, whole)).all()
        findings += db.session.execute(coverage.finding_tallies(since, whole)).all()
    for clause, result, count, last in answers:
        entry = coverage_of.get(auditable_clause_of(clause) or "")
        if entry is None or result is None:
            continue
        entry.answered += count
        entry.results[result] = entry.results.get(result, 0) + count
        entry.last_audited = max(filter(None, [entry.last_audited, last]), default=None)
    for clause, grade, count in findings:
        entry = coverage_of.get(auditable_clause_of(clause) or "")
        if entry is not None:
            entry.findings[grade] = entry.findings.get(grade, 0) + count
    # The latest few audits per auditable clause: the latest few of each checklist clause under it.
    clauses = sorted(
        c for c in db.session.scalars(select(ChecklistItem.clause).distinct()) if auditable_clause_of(c) in coverage_of
    )
    audits_by_clause: dict[str, dict[int, tuple]] = defaultdict(dict)
    for clause, audit_id, number, completed in coverage.latest_audits(clauses, since, AUDIT_LINKS):
        audits_by_clause[auditable_clause_of(clause) or ""][audit_id] = (completed, number)
    for code, found in audits_by_clause.items():
        latest = sorted(found.items(), key=lambda kv: (kv[1][0], kv[0]), reverse=True)[:AUDIT_LINKS]
        coverage_of[code].audits = {audit_id: number for audit_id, (_, number) in latest}
    return list(coverage_of.values())


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
