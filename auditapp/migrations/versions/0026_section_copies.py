"""Repeating sections (issue 15): a section's `repeat` spec (checklist_sections.repeat; NULL = it does not
repeat), the copies an auditor adds during an audit (audit_section_copies; copy 1 has no row), and the copy
an answer, a finding and a photo belong to (copy, 1 for every existing row). Responses are unique per
(audit, item, copy) instead of (audit, item).

Revision ID: 0026
Revises: 0025
"""
from alembic import op
import sqlalchemy as sa

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("checklist_sections", sa.Column("repeat", sa.JSON(), nullable=True))
    op.create_table(
        "audit_section_copies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["audit_id"], ["audits.id"], name=op.f("fk_audit_section_copies_audit_id_audits")),
        sa.ForeignKeyConstraint(
            ["section_id"], ["checklist_sections.id"], name=op.f("fk_audit_section_copies_section_id_checklist_sections")
        ),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_audit_section_copies_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_section_copies")),
        sa.UniqueConstraint("audit_id", "section_id", "number", name=op.f("uq_audit_section_copies_audit_id_section_id_number")),
    )
    op.create_index(op.f("ix_audit_section_copies_audit_id"), "audit_section_copies", ["audit_id"])
    triggers = _sqlite_triggers("responses")
    with op.batch_alter_table("responses") as batch_op:
        batch_op.add_column(sa.Column("copy", sa.Integer(), server_default="1", nullable=False))
        batch_op.drop_constraint("uq_responses_audit_id_item_id", type_="unique")
        batch_op.create_unique_constraint("uq_responses_audit_id_item_id_copy", ["audit_id", "item_id", "copy"])
    _restore(triggers)
    op.add_column("findings", sa.Column("copy", sa.Integer(), server_default="1", nullable=False))
    op.add_column("photos", sa.Column("copy", sa.Integer(), server_default="1", nullable=False))


def downgrade():
    # Answers of added copies have no place before 0024: refuse rather than lose them.
    if op.get_bind().execute(sa.text("SELECT COUNT(*) FROM responses WHERE copy > 1")).scalar():
        raise RuntimeError("audits hold answers to added copies of repeating sections; they cannot be downgraded")
    op.drop_column("photos", "copy")
    op.drop_column("findings", "copy")
    triggers = _sqlite_triggers("responses")
    with op.batch_alter_table("responses") as batch_op:
        batch_op.drop_constraint("uq_responses_audit_id_item_id_copy", type_="unique")
        batch_op.create_unique_constraint("uq_responses_audit_id_item_id", ["audit_id", "item_id"])
        batch_op.drop_column("copy")
    _restore(triggers)
    op.drop_index(op.f("ix_audit_section_copies_audit_id"), table_name="audit_section_copies")
    op.drop_table("audit_section_copies")
    op.drop_column("checklist_sections", "repeat")


def _sqlite_triggers(table: str) -> list[str]:
    """The table's triggers on SQLite (completed audits are read-only, 0002 and later): a batch alter that
    changes a constraint copies the table and drops them, so they are made again after it."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return []
    rows = bind.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :table"), {"table": table}
    )
    return [sql for (sql,) in rows if sql]


def _restore(triggers: list[str]) -> None:
    bind = op.get_bind()
    for sql in triggers:
        name = sql.split()[2]  # CREATE TRIGGER <name> ...
        if not bind.execute(sa.text("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = :n"), {"n": name}).first():
            op.execute(sql)
