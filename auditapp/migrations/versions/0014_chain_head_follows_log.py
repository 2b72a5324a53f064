"""The event log's head follows the log: each entry inserted moves event_chain_head to itself (a trigger), so
writing an entry is one statement after the head is locked and read, not two.

Revision ID: 0014
Revises: 0013
"""
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION events_move_head() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              UPDATE event_chain_head SET last_seq = NEW.seq, last_hash = NEW.hash WHERE id = 1;
              RETURN NULL;
            END $$""")
        op.execute("CREATE TRIGGER events_move_head AFTER INSERT ON events "
                   "FOR EACH ROW EXECUTE FUNCTION events_move_head()")
    else:
        op.execute("CREATE TRIGGER events_move_head AFTER INSERT ON events "
                   "BEGIN UPDATE event_chain_head SET last_seq = NEW.seq, last_hash = NEW.hash WHERE id = 1; END")


def downgrade():
    op.execute("DROP TRIGGER IF EXISTS events_move_head" + (" ON events" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS events_move_head()")
