"""Upgrading: a database made by the oldest migration, with a row in every table, upgraded to the newest;
the rows stay and the app runs on it (on SQLite, or PostgreSQL when the suite runs there)."""

import flask_migrate
from alembic.script import ScriptDirectory
from sqlalchemy import select, text, update

from auditapp.events.models import EventChainHead
from auditapp.extensions import db

from .support.accounts import PASSWORD
from .support.app import CSRFClient
from .support.backup import empty_database, instance_app, rows_per_table
from .support.upgrade import EMAIL, fill_every_table

OLDEST = "0001"


def test_a_database_from_the_oldest_migration_with_data_in_every_table_upgrades_to_the_newest(tmp_path):
    with empty_database(tmp_path) as url, instance_app(tmp_path, url) as app:
        with app.app_context():
            flask_migrate.upgrade(revision=OLDEST)
            with db.engine.begin() as conn:
                # 0002 makes the chain head's only row: no database at 0001 ever had one (both shipped together).
                rows = fill_every_table(conn, skip={"event_chain_head"})
            before = rows_per_table(app)
            flask_migrate.upgrade(revision="0002")
            _chain_head_follows(rows["events"])
            flask_migrate.upgrade()
            head = db.session.scalar(text("SELECT version_num FROM alembic_version"))
            db.session.remove()
        after = rows_per_table(app)
        assert head == _newest_revision(app)
        assert {table: before[table] for table in rows} == dict.fromkeys(rows, 1)
        assert {table: after[table] for table in rows} == dict.fromkeys(rows, 1)
        _the_app_works(app, rows["audits"]["id"])


def _chain_head_follows(entry):
    """As the app did when it wrote the entry: the head points at the last entry of the log."""
    with db.engine.begin() as conn:
        conn.execute(update(EventChainHead).where(EventChainHead.id == 1).values(last_seq=1, last_hash=entry["hash"]))
        assert conn.scalar(select(EventChainHead.last_seq)) == 1


def _newest_revision(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        return ScriptDirectory.from_config(config).get_current_head()


def _the_app_works(app, audit_id):
    """The user inserted at the oldest revision logs in and opens pages over the upgraded rows."""
    app.test_client_class = CSRFClient
    with app.app_context():
        client = app.test_client()
        response = client.post("/login", data={"email": EMAIL, "password": PASSWORD})
        assert response.status_code == 302, response.data
        for page in ("/", f"/audits/{audit_id}", "/nc/", "/admin/users"):
            assert client.get(page, follow_redirects=True).status_code == 200, page
        db.session.remove()
