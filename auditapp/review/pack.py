"""The management review pack: the 9.3.2 inputs auditapp's records answer, for a period.

Every figure is a SQL aggregate (GROUP BY, COUNT, window functions), so the pack costs the same
small number of queries for ten records or ten thousand.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, func, literal_column, select
from sqlalchemy.orm import selectinload

from ..accounts.models import Area
from ..audits.models import Audit, AuditKind, AuditStatus
from ..capa.models import ActionStatus, CorrectiveAction, NCStatus, Nonconformity
from ..capa.services import live_action
from ..extensions import db
from ..findings.models import FINDING_GRADES, Finding, FindingStatus
from ..improvements.models import Improvement, ImprovementStatus
from .models import ManagementReview, ReviewDecision

# Open actions by how late they are, as of the day the pack is made.
AGEING_BUCKETS = ("Not yet due", "1–30 days late", "31–90 days late", "Over 90 days late")
NOT_OPEN = (NCStatus.CLOSED, NCStatus.WITHDRAWN)


@dataclass
class AuditFigures:
    planned: int = 0  # audits planned for a date in the period
    planned_completed: int = 0  # ... of which completed
    planned_overdue: int = 0  # ... of which past their date and not completed
    completed: int = 0  # audits completed in the period, whatever their planned date
    by_result: dict[str, int] = field(default_factory=dict)  # finding grade -> count
    by_clause: dict[str, Counter] = field(default_factory=dict)  # "8.5" -> Counter(grade)
    by_area: dict[str, Counter] = field(default_factory=dict)  # area name -> Counter(grade)
    by_month: dict[str, Counter] = field(default_factory=dict)  # "2026-03" -> Counter(grade)


@dataclass
class NCFigures:
    opened: int = 0
    opened_by_severity: dict[str, int] = field(default_factory=dict)
    closed: int = 0
    open_now: int = 0
    overdue_now: int = 0  # open nonconformities with at least one overdue action
    mean_days_to_close: float | None = None
    p90_days_to_close: float | None = None
    verified_first_time: int = 0  # of those closed in the period, effective at the first check
    by_clause: dict[str, int] = field(default_factory=dict)  # opened in the period, "8.5" -> count
    recurring_clauses: dict[str, int] = field(default_factory=dict)  # 2+ in the period
    recurring_areas: dict[str, int] = field(default_factory=dict)
    action_ageing: dict[str, int] = field(default_factory=dict)

    @property
    def share_verified_first_time(self) -> float | None:
        return self.verified_first_time / self.closed if self.closed else None


@dataclass
class ImprovementFigures:
    by_kind: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    latest: list[Improvement] = field(default_factory=list)


@dataclass
class Pack:
    start: date
    end: date
    today: date
    previous: ManagementReview | None
    audits: AuditFigures
    ncs: NCFigures
    improvements: ImprovementFigures
    months: list[str]


def clause_group(clause: str) -> str:
    """Findings are counted under their clause's first two levels: "8.5.1" -> "8.5"; "" -> "—"."""
    parts = [p for p in (clause or "").split(".") if p]
    return ".".join(parts[:2]) or "—"


def months_between(start: date, end: date) -> list[str]:
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return datetime.combine(start, time.min), datetime.combine(end + timedelta(days=1), time.min)


def _month_of(column):
    """YYYY-MM of a timestamp, in the database's own dialect."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _days_between(later, earlier):
    if db.session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier) / 86400.0
    return func.julianday(later) - func.julianday(earlier)


def build_pack(start: date, end: date, today: date, review: ManagementReview | None = None) -> Pack:
    """Every figure of the pack for the period [start, end], with open items judged as of today."""
    return Pack(
        start,
        end,
        today,
        previous_review(end, review),
        audit_figures(start, end, today),
        nc_figures(start, end, today),
        improvement_figures(start, end),
        months_between(start, end),
    )


def previous_review(end: date, current: ManagementReview | None = None) -> ManagementReview | None:
    """The last review held on or before the period's end (not this one), with its decisions' actions."""
    query = select(ManagementReview).where(ManagementReview.status == "held", ManagementReview.meeting_date <= end)
    if current is not None and current.id is not None:
        query = query.where(ManagementReview.id != current.id)
    return db.session.scalar(
        query.order_by(ManagementReview.meeting_date.desc(), ManagementReview.id.desc())
        .limit(1)
        .options(
            selectinload(ManagementReview.decisions)
            .selectinload(ReviewDecision.actions)
            .selectinload(CorrectiveAction.owner)
        )
    )


def audit_figures(start: date, end: date, today: date) -> AuditFigures:
    since, until = _bounds(start, end)
    figures = AuditFigures()
    completed = Audit.status == AuditStatus.COMPLETED
    # 9.3.2 c 6 asks for the results of internal audits: a gap analysis's gaps are not nonconformities.
    internal = Audit.kind == AuditKind.INTERNAL
    figures.planned, figures.planned_completed, figures.planned_overdue = db.session.execute(
        select(
            func.count(Audit.id),
            func.coalesce(func.sum(case((completed, 1), else_=0)), 0),
            func.coalesce(func.sum(case((and_(~completed, Audit.planned_date < today), 1), else_=0)), 0),
        ).where(internal, Audit.planned_date >= start, Audit.planned_date <= end)
    ).one()
    figures.completed = (
        db.session.scalar(
            select(func.count(Audit.id)).where(
                internal, completed, Audit.completed_at >= since, Audit.completed_at < until
            )
        )
        or 0
    )  # a COUNT is never NULL; scalar() is typed Optional
    month = _month_of(Audit.completed_at).label("month")
    rows = db.session.execute(
        select(Finding.grade, Finding.clause, Area.name, month, func.count())
        .join(Audit, Audit.id == Finding.audit_id)
        .outerjoin(Area, Area.id == Audit.area_id)
        .where(
            internal,
            completed,
            Audit.completed_at >= since,
            Audit.completed_at < until,
            Finding.status == FindingStatus.OPEN,
            Finding.grade.in_(FINDING_GRADES),
        )
        .group_by(Finding.grade, Finding.clause, Area.name, literal_column("month"))
    ).all()
    by_clause: defaultdict[str, Counter[str]] = defaultdict(Counter)
    by_area: defaultdict[str, Counter[str]] = defaultdict(Counter)
    by_month: defaultdict[str, Counter[str]] = defaultdict(Counter)
    by_result: Counter[str] = Counter()
    for grade, clause, area, month_key, count in rows:
        by_result[grade] += count
        by_clause[clause_group(clause)][grade] += count
        by_area[area or "No area"][grade] += count
        by_month[month_key][grade] += count
    figures.by_result = dict(by_result)
    figures.by_clause = dict(sorted(by_clause.items(), key=lambda kv: _clause_key(kv[0])))
    figures.by_area = dict(sorted(by_area.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])))
    figures.by_month = dict(by_month)
    return figures


def nc_figures(start: date, end: date, today: date) -> NCFigures:
    since, until = _bounds(start, end)
    figures = NCFigures()
    opened_in = (
        Nonconformity.raised_at >= since,
        Nonconformity.raised_at < until,
        Nonconformity.status != NCStatus.WITHDRAWN,
    )
    clause_rows = db.session.execute(
        select(Nonconformity.clause, Nonconformity.severity, Area.name, func.count())
        .outerjoin(Area, Area.id == Nonconformity.area_id)
        .where(*opened_in)
        .group_by(Nonconformity.clause, Nonconformity.severity, Area.name)
    ).all()
    by_clause: Counter[str] = Counter()
    by_area: Counter[str] = Counter()
    by_severity: Counter[str] = Counter()
    for clause, severity, area, count in clause_rows:
        by_clause[clause_group(clause)] += count
        by_severity[severity] += count
        if area:
            by_area[area] += count
    figures.opened = sum(by_severity.values())
    figures.opened_by_severity = dict(by_severity)
    figures.by_clause = dict(sorted(by_clause.items(), key=lambda kv: _clause_key(kv[0])))
    figures.recurring_clauses = {c: n for c, n in by_clause.most_common() if n >= 2 and c != "—"}
    figures.recurring_areas = {a: n for a, n in by_area.most_common() if n >= 2}

    closed_in = (
        Nonconformity.status == NCStatus.CLOSED,
        Nonconformity.closed_at >= since,
        Nonconformity.closed_at < until,
    )
    days = _days_between(Nonconformity.closed_at, Nonconformity.raised_at).label("days")
    closed, first_time, mean = db.session.execute(
        select(
            func.count(Nonconformity.id),
            func.coalesce(func.sum(case((Nonconformity.verification_count == 1, 1), else_=0)), 0),
            func.avg(days),
        ).where(*closed_in)
    ).one()
    figures.closed, figures.verified_first_time = closed, first_time
    figures.mean_days_to_close = float(mean) if mean is not None else None
    figures.p90_days_to_close = _p90(days, closed_in)

    open_nc = Nonconformity.status.not_in(NOT_OPEN)
    late_action = (
        select(CorrectiveAction.id)
        .where(
            CorrectiveAction.nonconformity_id == Nonconformity.id,
            CorrectiveAction.status == ActionStatus.OPEN,
            CorrectiveAction.due_date < today,
        )
        .exists()
    )
    figures.open_now, figures.overdue_now = db.session.execute(
        select(func.count(Nonconformity.id), func.coalesce(func.sum(case((late_action, 1), else_=0)), 0)).where(open_nc)
    ).one()
    figures.action_ageing = action_ageing(today)
    return figures


def _p90(days, conditions) -> float | None:
    """90th percentile by the nearest-rank method: the smallest value with 90% of values at or below it."""
    ranked = (
        select(days, func.row_number().over(order_by=days).label("rank"), func.count().over().label("n"))
        .where(*conditions)
        .subquery()
    )
    value = db.session.scalar(select(func.min(ranked.c.days)).where(ranked.c.rank * 10 >= ranked.c.n * 9))
    return float(value) if value is not None else None


def action_ageing(today: date) -> dict[str, int]:
    """Open tracked actions of every origin, by how late they are today."""
    due = CorrectiveAction.due_date
    buckets = case(
        (due >= today, 0), (due >= today - timedelta(days=30), 1), (due >= today - timedelta(days=90), 2), else_=3
    ).label("bucket")
    rows: dict[int, int] = dict(
        db.session.execute(
            select(buckets, func.count())
            .select_from(CorrectiveAction)
            .outerjoin(Nonconformity)
            .where(CorrectiveAction.status == ActionStatus.OPEN, live_action())
            .group_by(literal_column("bucket"))
        ).all()
    )
    return {label: rows.get(i, 0) for i, label in enumerate(AGEING_BUCKETS)}


def improvement_figures(start: date, end: date, latest: int = 15) -> ImprovementFigures:
    since, until = _bounds(start, end)
    in_period = (
        Improvement.created_at >= since,
        Improvement.created_at < until,
        Improvement.status != ImprovementStatus.WITHDRAWN,
    )
    figures = ImprovementFigures()
    for kind, status, count in db.session.execute(
        select(Improvement.kind, Improvement.status, func.count())
        .where(*in_period)
        .group_by(Improvement.kind, Improvement.status)
    ).all():
        figures.by_kind[kind] = figures.by_kind.get(kind, 0) + count
        figures.by_status[status] = figures.by_status.get(status, 0) + count
    figures.latest = list(
        db.session.scalars(
            select(Improvement)
            .where(*in_period)
            .order_by(Improvement.created_at.desc())
            .limit(latest)
            .options(selectinload(Improvement.area))
        ).all()
    )
    return figures


def _clause_key(group: str):
    return [int(p) if p.isdigit() else 999 for p in group.split(".")]
