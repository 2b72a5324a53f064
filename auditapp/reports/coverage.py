"""The clause coverage map's summary (`ClauseTally`, `ClauseAudit`), kept in step with completed audits.

Counted per standard, and only through the clauses items cover (`ItemClause`): an item of a checklist with
no standard (a 5S walk), or of another standard, never counts toward ISO 9001.

A completed audit is read-only, so its answers and findings count the same from its completion until
it is reopened: the receivers below (connected in the factory's `register_flows`) rebuild the month
of the completion from the records whenever an audit of that month completes or reopens. The map
reads whole months from the summary and only the month cut by its 12-month window from the records.
`rebuild_all` recomputes everything (after data was changed behind the app's back, e.g. by SQL).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Select,
    String,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    union,
)

from ..audits.models import NOT_AUDITED, Audit, AuditKind, AuditStatus, Response
from ..checklists.answers import RECORDED
from ..checklists.models import ChecklistItem, ItemClause, Result
from ..extensions import db
from ..findings.models import Finding, FindingStatus
from .models import ClauseAudit, ClauseTally

ANSWER, FINDING = "answer", "finding"


def month_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def month_start(month: str) -> datetime:
    year, number = (int(part) for part in month.split("-"))
    return datetime(year, number, 1)


def next_month(moment: datetime) -> datetime:
    return datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1)


def counted(start: datetime | None = None, end: datetime | None = None) -> tuple:
    """The audits the map counts (completed internal audits; a gap analysis is not part of the cycle),
    completed in [start, end)."""
    conditions = [Audit.status == AuditStatus.COMPLETED, Audit.kind == AuditKind.INTERNAL]
    if start is not None:
        conditions.append(Audit.completed_at >= start)
    if end is not None:
        conditions.append(Audit.completed_at < end)
    return tuple(conditions)


# An answer audits a clause when it judges it: N/A, not audited and `recorded` (data without judgement: a
# text, a date, a number with no limits; answer types, issue 15) do not count toward coverage.
# An answer kept on an item its condition hid (show-if) was not asked: it counts nowhere either.
ANSWERED = (
    Response.result.is_not(None),
    Response.result.not_in([Result.NA, NOT_AUDITED, RECORDED]),
    Response.not_asked.is_(False),
)


def answer_tallies(start: datetime | None, end: datetime | None, standard: str | None = None) -> Select:
    """(standard, clause, result, count, latest completion) of the answers of counted audits in [start, end),
    under each clause the answered item covers (of one standard, if given)."""
    of_standard = [ItemClause.standard == standard] if standard else []
    return (
        select(ItemClause.standard, ItemClause.clause, Response.result, func.count(), func.max(Audit.completed_at))
        .join(Response, Response.item_id == ItemClause.item_id)
        .join(Audit, Audit.id == Response.audit_id)
        .where(*counted(start, end), *ANSWERED, *of_standard)
        .group_by(ItemClause.standard, ItemClause.clause, Response.result)
    )


def finding_tallies(start: datetime | None, end: datetime | None, standard: str | None = None) -> Select:
    """(standard, clause, grade, count) of the open findings of counted audits in [start, end): a finding on
    an item under each clause the item covers; an ad-hoc finding under its own clause, for each standard its
    audit's checklist covers (of one standard, if given)."""
    conditions = [*counted(start, end), Finding.status == FindingStatus.OPEN]
    if standard:
        conditions.append(ItemClause.standard == standard)
    on_items = (
        select(Finding.id.label("finding_id"), ItemClause.standard, ItemClause.clause, Finding.grade)
        .join(ItemClause, ItemClause.item_id == Finding.item_id)
        .join(Audit, Audit.id == Finding.audit_id)
        .where(*conditions)
    )
    version_items = ChecklistItem.__table__.alias("version_items")
    ad_hoc = (
        select(Finding.id, ItemClause.standard, Finding.clause, Finding.grade)
        .join(Audit, Audit.id == Finding.audit_id)
        .join(version_items, version_items.c.version_id == Audit.checklist_version_id)
        .join(ItemClause, ItemClause.item_id == version_items.c.id)
        .where(Finding.item_id.is_(None), *conditions)
    )
    pairs = union(on_items, ad_hoc).subquery()  # one row per finding and (standard, clause) it counts under
    return select(pairs.c.standard, pairs.c.clause, pairs.c.grade, func.count()).group_by(
        pairs.c.standard, pairs.c.clause, pairs.c.grade
    )


def rebuild_month(month: str) -> None:
    """Recount one month of completions from the records (a few hundred audits at most)."""
    start = month_start(month)
    end = next_month(start)
    db.session.execute(delete(ClauseTally).where(ClauseTally.month == month))
    answers = answer_tallies(start, end).subquery()
    findings = finding_tallies(start, end).subquery()
    columns = ["month", "kind", "standard", "clause", "code", "count", "last_completed"]
    db.session.execute(insert(ClauseTally).from_select(columns, select(literal(month), literal(ANSWER), *answers.c)))
    db.session.execute(
        insert(ClauseTally).from_select(
            columns, select(literal(month), literal(FINDING), *findings.c, literal(None, DateTime))
        )
    )


def record_audits(*conditions: ColumnElement[bool]) -> None:
    """The clauses each counted audit (of those meeting `conditions`) answered, for the map's links."""
    answered = (
        select(Audit.id, ItemClause.standard, ItemClause.clause, Audit.completed_at, Audit.number)
        .distinct()
        .join(Response, Response.item_id == ItemClause.item_id)
        .join(Audit, Audit.id == Response.audit_id)
        .where(*counted(), *ANSWERED, *conditions)
    )
    db.session.execute(
        insert(ClauseAudit).from_select(["audit_id", "standard", "clause", "completed_at", "number"], answered)
    )


def audit_completed(sender: object, audit: Audit, **_: object) -> None:
    """Receiver: a completed internal audit joins the map."""
    if audit.kind != AuditKind.INTERNAL or audit.completed_at is None:
        return
    rebuild_month(month_of(audit.completed_at))
    db.session.execute(delete(ClauseAudit).where(ClauseAudit.audit_id == audit.id))
    record_audits(Audit.id == audit.id)


def audit_reopened(sender: object, audit: Audit, completed_at: datetime | None, **_: object) -> None:
    """Receiver: a reopened audit leaves the map until it is completed again."""
    db.session.execute(delete(ClauseAudit).where(ClauseAudit.audit_id == audit.id))
    if completed_at is not None:
        rebuild_month(month_of(completed_at))


def rebuild_all() -> None:
    """Recount the whole summary from the records. Does not commit."""
    db.session.execute(delete(ClauseTally))
    db.session.execute(delete(ClauseAudit))
    completions = db.session.scalars(select(Audit.completed_at).where(*counted())).all()
    for month in sorted({month_of(moment) for moment in completions if moment is not None}):
        rebuild_month(month)
    record_audits()


def latest_audits(
    standard: str, clauses: list[str], since: datetime, per_clause: int
) -> list[tuple[str, int, str, datetime]]:
    """(clause, audit id, number, completed) of the latest `per_clause` audits per clause of a standard since
    `since`: one index lookup per clause (ix_clause_audits_standard_clause_completed), however many audits.

    Written as text: building a hundred SQLAlchemy selects cost more than running them."""
    rows: list[tuple[str, int, str, datetime]] = []
    for chunk in range(0, len(clauses), 200):  # SQLite allows 500 terms in one UNION
        names = clauses[chunk : chunk + 200]
        sql = " UNION ALL ".join(
            f"SELECT * FROM (SELECT clause, audit_id, number, completed_at FROM clause_audits"
            f" WHERE standard = :standard AND clause = :c{n} AND completed_at >= :since"
            f" ORDER BY completed_at DESC, audit_id DESC LIMIT :per_clause) AS latest{n}"
            for n in range(len(names))
        )
        statement = (
            text(sql)
            .bindparams(bindparam("since", type_=DateTime), bindparam("standard", type_=String))
            .columns(clause=String, audit_id=Integer, number=String, completed_at=DateTime)
        )
        values = {
            "since": since,
            "standard": standard,
            "per_clause": per_clause,
            **{f"c{n}": name for n, name in enumerate(names)},
        }
        rows.extend(tuple(row) for row in db.session.execute(statement, values).all())
    return rows
