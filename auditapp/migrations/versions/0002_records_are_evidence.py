"""Records are evidence: the event log is append-only; completed audits and closed nonconformities
are read-only, enforced by the database itself so neither a bug nor a stray script can rewrite them.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

EVENTS_MESSAGE = "the event log is append-only"
CLOSED_MESSAGE = "the audit is completed: its records are read-only"
NC_MESSAGE = "the nonconformity is closed: reopen it first"
NC_DELETE_MESSAGE = "nonconformities are never deleted; withdraw them"
# Tables whose rows belong to one audit (column audit_id).
AUDIT_RECORDS = ("responses", "findings", "photos")
CLOSED_NC = "('closed', 'withdrawn')"


def upgrade():
    # The chain head exists from the start, so the first two writers never race to create it.
    op.execute("INSERT INTO event_chain_head (id, last_seq, last_hash) VALUES (1, 0, '" + "0" * 64 + "')")
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_up()
    else:
        _sqlite_up()


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_append_only ON events")
        op.execute("DROP TRIGGER IF EXISTS events_no_truncate ON events")
        op.execute("DROP TRIGGER IF EXISTS audits_completed_read_only ON audits")
        for table in AUDIT_RECORDS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_completed_read_only ON {table}")
        op.execute("DROP TRIGGER IF EXISTS nonconformities_closed_read_only ON nonconformities")
        op.execute("DROP TRIGGER IF EXISTS corrective_actions_closed_read_only ON corrective_actions")
        op.execute("DROP FUNCTION IF EXISTS nonconformities_closed_read_only()")
        op.execute("DROP FUNCTION IF EXISTS corrective_actions_closed_read_only()")
        op.execute("DROP FUNCTION IF EXISTS events_append_only()")
        op.execute("DROP FUNCTION IF EXISTS audit_records_read_only()")
        op.execute("DROP FUNCTION IF EXISTS audits_completed_read_only()")
    else:
        for name in ("events_no_update", "events_no_delete", "audits_completed_read_only",
                     "nonconformities_closed_no_update", "nonconformities_no_delete",
                     "corrective_actions_closed_no_insert", "corrective_actions_closed_no_update",
                     "corrective_actions_closed_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for table in AUDIT_RECORDS:
            for when in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_completed_no_{when}")
    op.execute("DELETE FROM event_chain_head")


def _sqlite_up():
    op.execute(f"CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
               f"BEGIN SELECT RAISE(ABORT, '{EVENTS_MESSAGE}'); END")
    op.execute(f"CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
               f"BEGIN SELECT RAISE(ABORT, '{EVENTS_MESSAGE}'); END")
    # Reopening (completed -> in progress) stays possible; editing while completed does not.
    op.execute(f"CREATE TRIGGER audits_completed_read_only BEFORE UPDATE ON audits "
               f"WHEN OLD.status = 'completed' AND NEW.status = 'completed' "
               f"BEGIN SELECT RAISE(ABORT, '{CLOSED_MESSAGE}'); END")
    for table in AUDIT_RECORDS:
        for when, row in (("insert", "NEW"), ("update", "OLD"), ("delete", "OLD")):
            op.execute(
                f"CREATE TRIGGER {table}_completed_no_{when} BEFORE {when.upper()} ON {table} "
                f"WHEN (SELECT status FROM audits WHERE id = {row}.audit_id) = 'completed' "
                f"BEGIN SELECT RAISE(ABORT, '{CLOSED_MESSAGE}'); END")
    # A closed or withdrawn nonconformity may only change status (reopen); never be deleted.
    op.execute(f"CREATE TRIGGER nonconformities_closed_no_update BEFORE UPDATE ON nonconformities "
               f"WHEN OLD.status IN {CLOSED_NC} AND NEW.status = OLD.status "
               f"BEGIN SELECT RAISE(ABORT, '{NC_MESSAGE}'); END")
    op.execute(f"CREATE TRIGGER nonconformities_no_delete BEFORE DELETE ON nonconformities "
               f"BEGIN SELECT RAISE(ABORT, '{NC_DELETE_MESSAGE}'); END")
    for when, row in (("insert", "NEW"), ("update", "OLD"), ("delete", "OLD")):
        op.execute(
            f"CREATE TRIGGER corrective_actions_closed_no_{when} BEFORE {when.upper()} ON corrective_actions "
            f"WHEN (SELECT status FROM nonconformities WHERE id = {row}.nonconformity_id) IN {CLOSED_NC} "
            f"BEGIN SELECT RAISE(ABORT, '{NC_MESSAGE}'); END")


def _postgresql_up():
    op.execute(f"""
        CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '{EVENTS_MESSAGE}'; END $$""")
    op.execute("CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
               "FOR EACH ROW EXECUTE FUNCTION events_append_only()")
    op.execute("CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events "
               "FOR EACH STATEMENT EXECUTE FUNCTION events_append_only()")
    op.execute(f"""
        CREATE FUNCTION audits_completed_read_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF OLD.status = 'completed' AND NEW.status = 'completed' THEN
            RAISE EXCEPTION '{CLOSED_MESSAGE}';
          END IF;
          RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER audits_completed_read_only BEFORE UPDATE ON audits "
               "FOR EACH ROW EXECUTE FUNCTION audits_completed_read_only()")
    op.execute(f"""
        CREATE FUNCTION audit_records_read_only() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE row_audit integer;
        BEGIN
          IF TG_OP = 'INSERT' THEN row_audit := NEW.audit_id; ELSE row_audit := OLD.audit_id; END IF;
          IF (SELECT status FROM audits WHERE id = row_audit) = 'completed' THEN
            RAISE EXCEPTION '{CLOSED_MESSAGE}';
          END IF;
          IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
          RETURN NEW;
        END $$""")
    for table in AUDIT_RECORDS:
        op.execute(f"CREATE TRIGGER {table}_completed_read_only BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION audit_records_read_only()")
    op.execute(f"""
        CREATE FUNCTION nonconformities_closed_read_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' THEN RAISE EXCEPTION '{NC_DELETE_MESSAGE}'; END IF;
          IF OLD.status IN {CLOSED_NC} AND NEW.status = OLD.status THEN RAISE EXCEPTION '{NC_MESSAGE}'; END IF;
          RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER nonconformities_closed_read_only BEFORE UPDATE OR DELETE ON nonconformities "
               "FOR EACH ROW EXECUTE FUNCTION nonconformities_closed_read_only()")
    op.execute(f"""
        CREATE FUNCTION corrective_actions_closed_read_only() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE parent integer;
        BEGIN
          IF TG_OP = 'INSERT' THEN parent := NEW.nonconformity_id; ELSE parent := OLD.nonconformity_id; END IF;
          IF (SELECT status FROM nonconformities WHERE id = parent) IN {CLOSED_NC} THEN
            RAISE EXCEPTION '{NC_MESSAGE}';
          END IF;
          IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
          RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER corrective_actions_closed_read_only BEFORE INSERT OR UPDATE OR DELETE "
               "ON corrective_actions FOR EACH ROW EXECUTE FUNCTION corrective_actions_closed_read_only()")
