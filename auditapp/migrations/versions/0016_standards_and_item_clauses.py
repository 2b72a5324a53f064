"""Standards as data: which clauses of which standards each checklist item covers (checklist_item_clauses),
and the clause coverage summary kept per standard.

Items imported before this revision carried one clause, counted as an ISO 9001 clause whatever the
checklist was about. Now an item's `clause` column is its reference, and an item of a checklist that
declared one of the shipped standards (its free-text `standard` being exactly "ISO 9001:2015",
"ISO 14001:2015" or "ISO 45001:2018") is mapped to that clause of that standard (a clause the standard
does not have is kept, and the coverage page lists it as not in the standard); an item of a checklist
with no or another standard covers nothing. The summary tables gain the standard and are filled again from the completed audits.

Revision ID: 0016
Revises: 0015
"""
from datetime import datetime

from alembic import op
import sqlalchemy as sa

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# The standards shipped with this revision, by the name checklists declared (auditapp/checklists/standards/).
SHIPPED = {"ISO 9001:2015": "iso9001-2015", "ISO 14001:2015": "iso14001-2015", "ISO 45001:2018": "iso45001-2018"}
COUNTED = "a.status = 'completed' AND a.kind = 'internal'"
WINDOW = (sa.bindparam("start", type_=sa.DateTime), sa.bindparam("end", type_=sa.DateTime))
ANSWERED = "r.result IS NOT NULL AND r.result NOT IN ('na', 'not_audited')"
WINDOWED = f"{COUNTED} AND a.completed_at >= :start AND a.completed_at < :end AND f.status = 'open'"
# Open findings of the window with the standard and clause they count under: a finding on an item under each
# clause the item covers; an ad-hoc finding under its own clause, for each standard its audit's checklist covers.
FINDING_CLAUSES = (
    "SELECT f.id AS finding_id, ic.standard AS standard, ic.clause AS clause, f.grade AS grade "
    "FROM findings f JOIN checklist_item_clauses ic ON ic.item_id = f.item_id JOIN audits a ON a.id = f.audit_id "
    f"WHERE {WINDOWED} "
    "UNION "
    "SELECT f.id, ic.standard, f.clause, f.grade FROM findings f JOIN audits a ON a.id = f.audit_id "
    "JOIN checklist_items i ON i.version_id = a.checklist_version_id "
    f"JOIN checklist_item_clauses ic ON ic.item_id = i.id WHERE f.item_id IS NULL AND {WINDOWED}"
)


def upgrade():
    op.create_table(
        "checklist_item_clauses",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("standard", sa.String(length=40), nullable=False),
        sa.Column("clause", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["checklist_items.id"], name=op.f("fk_checklist_item_clauses_item_id_checklist_items")
        ),
        sa.PrimaryKeyConstraint("item_id", "standard", "clause", name=op.f("pk_checklist_item_clauses")),
    )
    conn = op.get_bind()
    for name, key in SHIPPED.items():
        conn.execute(
            sa.text(
                "INSERT INTO checklist_item_clauses (item_id, standard, clause) "
                "SELECT i.id, :key, i.clause FROM checklist_items i JOIN checklist_versions v ON v.id = i.version_id "
                "WHERE v.standard = :name"
            ),
            {"key": key, "name": name},
        )
    _drop_summary()
    _create_summary(with_standard=True)
    _backfill(conn, with_standard=True)


def downgrade():
    _drop_summary()
    _create_summary(with_standard=False)
    _backfill(op.get_bind(), with_standard=False)
    op.drop_table("checklist_item_clauses")


def _drop_summary():
    op.drop_table("clause_tallies")
    op.drop_table("clause_audits")


def _create_summary(with_standard):
    key = ["standard"] if with_standard else []
    op.create_table(
        "clause_tallies",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        *_standard_column(with_standard),
        sa.Column("clause", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_completed", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("month", "kind", *key, "clause", "code", name=op.f("pk_clause_tallies")),
    )
    op.create_table(
        "clause_audits",
        sa.Column("audit_id", sa.Integer(), nullable=False),
        *_standard_column(with_standard),
        sa.Column("clause", sa.String(length=20), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["audit_id"], ["audits.id"], name=op.f("fk_clause_audits_audit_id_audits")),
        sa.PrimaryKeyConstraint("audit_id", *key, "clause", name=op.f("pk_clause_audits")),
    )
    if with_standard:
        op.create_index(
            "ix_clause_audits_standard_clause_completed", "clause_audits", ["standard", "clause", "completed_at"]
        )
    else:
        op.create_index("ix_clause_audits_clause_completed", "clause_audits", ["clause", "completed_at"])


def _standard_column(with_standard):
    return [sa.Column("standard", sa.String(length=40), nullable=False)] if with_standard else []


def _backfill(conn, with_standard):
    """What the app's receivers write for each audit completed before this revision (0015's, per standard)."""
    if with_standard:
        answers = "checklist_item_clauses ic JOIN responses r ON r.item_id = ic.item_id"
        std, std_col, answer_clause = "ic.standard, ", "standard, ", "ic.clause"
    else:
        answers = "checklist_items ic JOIN responses r ON r.item_id = ic.id"
        std = std_col = ""
        answer_clause = "ic.clause"
    completed = conn.execute(sa.text(f"SELECT a.completed_at FROM audits a WHERE {COUNTED}")).scalars().all()
    for month in sorted({_month(value) for value in completed if value is not None}):
        start = datetime(int(month[:4]), int(month[5:]), 1)
        end = datetime(start.year + start.month // 12, start.month % 12 + 1, 1)
        window = {"month": month, "start": start, "end": end}
        conn.execute(
            sa.text(
                f"INSERT INTO clause_tallies (month, kind, {std_col}clause, code, count, last_completed) "
                f"SELECT :month, 'answer', {std}{answer_clause}, r.result, count(*), max(a.completed_at) "
                f"FROM {answers} JOIN audits a ON a.id = r.audit_id "
                f"WHERE {COUNTED} AND a.completed_at >= :start AND a.completed_at < :end AND {ANSWERED} "
                f"GROUP BY {std}{answer_clause}, r.result"
            ).bindparams(*WINDOW),
            window,
        )
        if with_standard:
            finding_rows = (
                "SELECT :month, 'finding', fc.standard, fc.clause, fc.grade, count(*), NULL "
                f"FROM ({FINDING_CLAUSES}) fc GROUP BY fc.standard, fc.clause, fc.grade"
            )
        else:
            finding_rows = (
                "SELECT :month, 'finding', f.clause, f.grade, count(*), NULL "
                f"FROM findings f JOIN audits a ON a.id = f.audit_id WHERE {WINDOWED} GROUP BY f.clause, f.grade"
            )
        conn.execute(
            sa.text(
                f"INSERT INTO clause_tallies (month, kind, {std_col}clause, code, count, last_completed) {finding_rows}"
            ).bindparams(*WINDOW),
            window,
        )
    conn.execute(
        sa.text(
            f"INSERT INTO clause_audits (audit_id, {std_col}clause, completed_at, number) "
            f"SELECT DISTINCT a.id, {std}{answer_clause}, a.completed_at, a.number "
            f"FROM {answers} JOIN audits a ON a.id = r.audit_id "
            f"WHERE {COUNTED} AND a.completed_at IS NOT NULL AND {ANSWERED}"
        )
    )


def _month(value):
    if isinstance(value, str):  # SQLite hands back the stored text
        return value[:7]
    return f"{value.year:04d}-{value.month:02d}"
