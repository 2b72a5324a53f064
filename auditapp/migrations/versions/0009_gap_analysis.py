"""Gap analysis: an audit's kind (internal audit or gap analysis) and the category of a gap finding.

Plain ADD COLUMN on purpose: a batch rebuild on SQLite would drop the read-only triggers of 0002
on audits and findings.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 19:41:40.879564

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('audits', sa.Column('kind', sa.String(length=20), server_default='internal', nullable=False))
    op.add_column('findings', sa.Column('gap_category', sa.String(length=20), nullable=True))


def downgrade():
    # DROP COLUMN without a rebuild (SQLite 3.35+), so the triggers of 0002 stay in place.
    op.drop_column('findings', 'gap_category')
    op.drop_column('audits', 'kind')
