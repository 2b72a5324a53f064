"""The clause coverage map as it was computed before its summary table: straight from every record.
ISO 9001 only, through the clauses items cover (as the app has counted since standards became data).

Kept as the reference the summary-based map must agree with (tests/test_readiness.py)."""

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select

from auditapp.audits.models import NOT_AUDITED, Audit, AuditKind, AuditStatus, Response
from auditapp.checklists.clauses import AUDITABLE_CLAUSES, auditable_clause_of
from auditapp.checklists.models import ItemClause, Result
from auditapp.checklists.standards import ISO9001
from auditapp.extensions import db
from auditapp.findings.models import Finding, FindingStatus
from auditapp.reports.services import AUDIT_LINKS, CYCLE_DAYS, ClauseCoverage


def old_clause_coverage(now: datetime) -> list[ClauseCoverage]:
    """Each auditable clause: audited in the last 12 months by a completed internal audit, with what result."""
    since = now - timedelta(days=CYCLE_DAYS)
    coverage = {code: ClauseCoverage(code, title) for code, title in AUDITABLE_CLAUSES}
    # A gap analysis (before the first certification) is not part of the internal audit cycle.
    in_cycle = (Audit.status == AuditStatus.COMPLETED, Audit.completed_at >= since, Audit.kind == AuditKind.INTERNAL)
    answered = (Response.result.is_not(None), Response.result.not_in([Result.NA, NOT_AUDITED]))
    rows = db.session.execute(
        select(ItemClause.clause, Response.result, func.count(), func.max(Audit.completed_at))
        .join(Response, Response.item_id == ItemClause.item_id)
        .join(Audit, Audit.id == Response.audit_id)
        .where(*in_cycle, *answered, ItemClause.standard == ISO9001)
        .group_by(ItemClause.clause, Response.result)
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
            ItemClause.clause.label("clause"),
            Audit.id.label("audit_id"),
            Audit.number.label("number"),
            Audit.completed_at.label("completed"),
        )
        .distinct()
        .join(Response, Response.item_id == ItemClause.item_id)
        .join(Audit, Audit.id == Response.audit_id)
        .where(*in_cycle, *answered, ItemClause.standard == ISO9001)
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
