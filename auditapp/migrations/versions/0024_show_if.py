"""Show-if conditions (issue 15): checklist_items.show_if and checklist_sections.show_if, JSON
{"item": key, "answer": [...]}; NULL = always asked; responses.not_asked (an answer kept on an item its
condition hid, counted nowhere), so existing rows keep their meaning and versions
imported before keep their content hash.

Revision ID: 0024
Revises: 0023
"""
from alembic import op
import sqlalchemy as sa

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("checklist_items", sa.Column("show_if", sa.JSON(), nullable=True))
    op.add_column("checklist_sections", sa.Column("show_if", sa.JSON(), nullable=True))
    # An answer kept on an item its condition hid, marked at completion; false for every existing answer.
    op.add_column("responses", sa.Column("not_asked", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    op.drop_column("responses", "not_asked")
    op.drop_column("checklist_sections", "show_if")
    op.drop_column("checklist_items", "show_if")
