"""Checklist authors: users.checklist_author, a permission a quality lead grants so a user may write and
publish checklists in the browser (quality leads and administrators may anyway). False for every
existing user: nobody gains a right by the upgrade.

Revision ID: 0023
Revises: 0022
"""
from alembic import op
import sqlalchemy as sa

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN with a default (no table copy on SQLite): the users' rows and constraints stay.
    op.add_column("users", sa.Column("checklist_author", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("checklist_author")
