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
from ..checklists import standards
from ..checklists.models import ItemClause, Result
from ..checklists.standards import HEADING, Standard
from ..extensions import db
from ..review.services import last_held
from ..scope.services import current_scope
from . import coverage
from .models import ClauseTally

CYCLE_DAYS = 365
AUDIT_LINKS = 3  # latest audits linked from each clause of the coverage map


@dataclass
class ClauseAnswers:
    """What was answered on one clause: how often, when last, with which results and findings."""

    clause: str
    title: str
    answered: int = 0
    last_audited: datetime | None = None
    results: dict[str, int] = field(default_factory=dict)
    findings: dict[str, int] = field(default_factory=dict)


@dataclass
class ClauseCoverage(ClauseAnswers):
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


@dataclass
class ParentCoverage(ClauseAnswers):
    """Answers on a heading (ISO 9001 7.1): they cover the units under it partly, never silently nothing."""

    covers: list[str] = field(default_factory=list)  # the units under it
    left: list[str] = field(default_factory=list)  # of those, the ones no item audited on their own


@dataclass
class StandardCoverage:
    standard: Standard
    rows: list[ClauseCoverage]
    parents: list[ParentCoverage]  # headings answered directly, in the standard's order
    # Clauses the standard does not have, with their answers: items imported before clauses were checked.
    unknown: dict[str, int] = field(default_factory=dict)

    @property
    def audited(self) -> int:
        return sum(r.audited for r in self.rows)

    @property
    def partly(self) -> dict[str, list[str]]:
        """Units not audited on their own but under an answered heading -> those headings."""
        through: dict[str, list[str]] = defaultdict(list)
        for parent in self.parents:
            for code in parent.left:
                through[code].append(parent.clause)
        return dict(through)

    @property
    def missing(self) -> list[str]:
        """Units not audited at all, not even partly."""
        partly = self.partly
        return [r.clause for r in self.rows if not r.audited and r.clause not in partly]


def _add(entry: ClauseCoverage | ParentCoverage, result: str, count: int, last: datetime | None) -> None:
    entry.answered += count
    entry.results[result] = entry.results.get(result, 0) + count
    entry.last_audited = max(filter(None, [entry.last_audited, last]), default=None)


def standard_coverage(now: datetime, key: str = standards.ISO9001) -> StandardCoverage:
    """Each unit clause of a standard: audited in the last 12 months by a completed internal audit, with
    what result, counting only items that cover that standard's clauses; answers on its headings as partial
    coverage; answers on clauses it does not have, listed rather than dropped.

    Whole months come from the summary kept on completion (`reports.coverage`); only the month the
    12-month window cuts in two is counted from the records, so the map reads about the same number
    of rows whatever the number of audits."""
    standard = standards.get_standard(key)
    if standard is None:
        raise LookupError(key)
    since = now - timedelta(days=CYCLE_DAYS)
    whole = since if since == datetime(since.year, since.month, 1) else coverage.next_month(since)
    coverage_of = {c.code: ClauseCoverage(c.code, c.title) for c in standard.units}
    parents: dict[str, ParentCoverage] = {}
    unknown: dict[str, int] = defaultdict(int)
    tallies = db.session.execute(
        select(
            ClauseTally.kind, ClauseTally.clause, ClauseTally.code, ClauseTally.count, ClauseTally.last_completed
        ).where(ClauseTally.month >= coverage.month_of(whole), ClauseTally.standard == key)
    ).all()
    answers = [(clause, code, n, last) for kind, clause, code, n, last in tallies if kind == coverage.ANSWER]
    findings = [(clause, code, n) for kind, clause, code, n, _ in tallies if kind == coverage.FINDING]
    if since < whole:  # the part of the first month inside the window
        answers += [row[1:] for row in db.session.execute(coverage.answer_tallies(since, whole, key))]
        findings += [row[1:] for row in db.session.execute(coverage.finding_tallies(since, whole, key))]

    def parent(code: str) -> ParentCoverage:
        if code not in parents:
            parents[code] = ParentCoverage(code, standard.title_of(code), covers=standard.units_under(code))
        return parents[code]

    for clause, result, count, last in answers:
        if result is None:
            continue
        unit = standard.unit_of(clause)
        if unit is not None:
            _add(coverage_of[unit], result, count, last)
        elif standard.kind(clause) == HEADING:
            _add(parent(clause), result, count, last)
        else:
            unknown[clause] += count
    for clause, grade, count in findings:
        unit = standard.unit_of(clause)
        target = coverage_of[unit] if unit is not None else parent(clause) if standard.kind(clause) == HEADING else None
        if target is not None:
            target.findings[grade] = target.findings.get(grade, 0) + count
    # The latest few audits per unit clause: the latest few of each item clause under it.
    clauses = sorted(
        c
        for c in db.session.scalars(select(ItemClause.clause).where(ItemClause.standard == key).distinct())
        if standard.unit_of(c) in coverage_of
    )
    audits_by_clause: dict[str, dict[int, tuple]] = defaultdict(dict)
    for clause, audit_id, number, completed in coverage.latest_audits(key, clauses, since, AUDIT_LINKS):
        audits_by_clause[standard.unit_of(clause) or ""][audit_id] = (completed, number)
    for code, found in audits_by_clause.items():
        latest = sorted(found.items(), key=lambda kv: (kv[1][0], kv[0]), reverse=True)[:AUDIT_LINKS]
        coverage_of[code].audits = {audit_id: number for audit_id, (_, number) in latest}
    for entry in parents.values():
        entry.left = [code for code in entry.covers if not coverage_of[code].audited]
    ordered_parents = [parents[c] for c in standard.clauses if c in parents and parents[c].answered]
    return StandardCoverage(standard, list(coverage_of.values()), ordered_parents, dict(unknown))


def clause_coverage(now: datetime, key: str = standards.ISO9001) -> list[ClauseCoverage]:
    """Each unit clause of a standard (ISO 9001 by default): see `standard_coverage`."""
    return standard_coverage(now, key).rows


def standards_in_use() -> list[Standard]:
    """ISO 9001 first, then every other standard some imported checklist item covers."""
    used = set(db.session.scalars(select(ItemClause.standard).distinct())) | {standards.ISO9001}
    return sorted((s for s in standards.all_standards() if s.key in used), key=lambda s: s.key != standards.ISO9001)


@dataclass
class ReadinessLine:
    label: str
    ok: bool
    detail: str
    link_endpoint: str | None = None
    link_args: dict = field(default_factory=dict)


def readiness(now: datetime) -> list[ReadinessLine]:
    """The path to certification, each step green or red with what is missing."""
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
        *[_coverage_line(standard_coverage(now, s.key)) for s in standards_in_use()],
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


def _coverage_line(covered: StandardCoverage) -> ReadinessLine:
    """One standard's cycle: every clause audited by an item on it, not only through a parent clause."""
    missing, partly = covered.missing, sorted(covered.partly, key=[r.clause for r in covered.rows].index)
    parts = []
    if missing:
        parts.append(f"{len(missing)} not audited: {', '.join(missing[:8])}" + ("…" if len(missing) > 8 else ""))
    if partly:
        parents = sorted({p for code in partly for p in covered.partly[code]}, key=list(covered.standard.clauses).index)
        parts.append(
            f"{len(partly)} only partly, through {', '.join(parents)}: {', '.join(partly[:8])}"
            + ("…" if len(partly) > 8 else "")
        )
    return ReadinessLine(
        f"{covered.standard.name}: every clause audited in the last 12 months",
        not parts,
        "; ".join(parts) or "all audited",
        "reports.coverage",
        {"standard": covered.standard.key},
    )


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
