"""Evidence rules, finding rules and procedure links of checklists (issue 15): checklist_items.require
(results needing a photo / a note), checklist_items.procedures (title and URL or document number) and
checklist_versions.finding_results (results needing a written finding). All nullable: versions imported
before, and files that do not use the keys, keep today's rules.

Revision ID: 0020
Revises: 0019
"""
from alembic import op
import sqlalchemy as sa

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("checklist_items", sa.Column("require", sa.JSON(), nullable=True))
    op.add_column("checklist_items", sa.Column("procedures", sa.JSON(), nullable=True))
    op.add_column("checklist_versions", sa.Column("finding_results", sa.JSON(), nullable=True))


def downgrade():
    op.drop_column("checklist_versions", "finding_results")
    op.drop_column("checklist_items", "procedures")
    op.drop_column("checklist_items", "require")
