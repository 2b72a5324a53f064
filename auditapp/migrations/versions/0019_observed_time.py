"""A change made offline keeps the time the auditor made it: events.observed_at (the device's time, when
accepted) and events.observed_note (why the device's time was not used), beside occurred_at (when the
server recorded it). Both nullable: entries written before, and changes made online, have neither, and
their hashes are unchanged (events/services.py hashes the two only when set).

Revision ID: 0019
Revises: 0018
"""
from alembic import op
import sqlalchemy as sa

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no table copy on SQLite): the log's triggers and rows stay as they are.
    op.add_column("events", sa.Column("observed_at", sa.DateTime(), nullable=True))
    op.add_column("events", sa.Column("observed_note", sa.String(length=200), nullable=True))


def downgrade():
    op.drop_column("events", "observed_note")
    op.drop_column("events", "observed_at")
