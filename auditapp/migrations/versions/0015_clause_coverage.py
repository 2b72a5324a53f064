"""Clause coverage summary: per month of completion and checklist clause, the answers by result and open
findings by grade of completed internal audits, and which clauses each such audit answered; kept by the
app as audits complete and reopen, filled here from the audits already completed. Indexes on audits'
completion date and findings' audit let the map count the month its window cuts without a full scan.

Revision ID: 0015
Revises: 0014
"""
from datetime import datetime

from alembic import op
import sqlalchemy as sa

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

COUNTED = "a.status = 'completed' AND a.kind = 'internal'"
WINDOW = (sa.bindparam("start", type_=sa.DateTime), sa.bindparam("end", type_=sa.DateTime))
ANSWERED = "r.result IS NOT NULL AND r.result NOT IN ('na', 'not_audited')"


def upgrade():
    op.create_table(
        "clause_tallies",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("clause", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_completed", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("month", "kind", "clause", "code", name=op.f("pk_clause_tallies")),
    )
    op.create_table(
        "clause_audits",
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("clause", sa.String(length=20), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["audit_id"], ["audits.id"], name=op.f("fk_clause_audits_audit_id_audits")),
        sa.PrimaryKeyConstraint("audit_id", "clause", name=op.f("pk_clause_audits")),
    )
    op.create_index("ix_clause_audits_clause_completed", "clause_audits", ["clause", "completed_at"], unique=False)
    # The map counts the month its window cuts from the records: audits by completion, then their findings.
    op.create_index(op.f("ix_audits_completed_at"), "audits", ["completed_at"], unique=False)
    op.create_index(op.f("ix_findings_audit_id"), "findings", ["audit_id"], unique=False)
    _backfill(op.get_bind())


def _backfill(conn):
    """What the app's receivers would have written for each audit completed before this revision."""
    completed = conn.execute(sa.text(f"SELECT a.completed_at FROM audits a WHERE {COUNTED}")).scalars().all()
    months = sorted({_month(value) for value in completed if value is not None})
    for month in months:
        start = datetime(int(month[:4]), int(month[5:]), 1)
        end = datetime(start.year + start.month // 12, start.month % 12 + 1, 1)
        window = {"month": month, "start": start, "end": end}
        conn.execute(
            sa.text(
                "INSERT INTO clause_tallies (month, kind, clause, code, count, last_completed) "
                "SELECT :month, 'answer', i.clause, r.result, count(*), max(a.completed_at) "
                "FROM checklist_items i JOIN responses r ON r.item_id = i.id JOIN audits a ON a.id = r.audit_id "
                f"WHERE {COUNTED} AND a.completed_at >= :start AND a.completed_at < :end AND {ANSWERED} "
                "GROUP BY i.clause, r.result"
            ).bindparams(*WINDOW),
            window,
        )
        conn.execute(
            sa.text(
                "INSERT INTO clause_tallies (month, kind, clause, code, count, last_completed) "
                "SELECT :month, 'finding', f.clause, f.grade, count(*), NULL "
                "FROM findings f JOIN audits a ON a.id = f.audit_id "
                f"WHERE {COUNTED} AND a.completed_at >= :start AND a.completed_at < :end AND f.status = 'open' "
                "GROUP BY f.clause, f.grade"
            ).bindparams(*WINDOW),
            window,
        )
    conn.execute(
        sa.text(
            "INSERT INTO clause_audits (audit_id, clause, completed_at, number) "
            "SELECT DISTINCT a.id, i.clause, a.completed_at, a.number "
            "FROM checklist_items i JOIN responses r ON r.item_id = i.id JOIN audits a ON a.id = r.audit_id "
            f"WHERE {COUNTED} AND a.completed_at IS NOT NULL AND {ANSWERED}"
        )
    )


def _month(value):
    if isinstance(value, str):  # SQLite hands back the stored text
        return value[:7]
    return f"{value.year:04d}-{value.month:02d}"


def downgrade():
    op.drop_index(op.f("ix_findings_audit_id"), table_name="findings")
    op.drop_index(op.f("ix_audits_completed_at"), table_name="audits")
    op.drop_index("ix_clause_audits_clause_completed", table_name="clause_audits")
    op.drop_table("clause_audits")
    op.drop_table("clause_tallies")
