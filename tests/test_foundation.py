"""The factory, configuration, migrations and command-line tools."""

import json
import os
import stat
from pathlib import Path

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from auditapp import create_app
from auditapp.accounts.models import Area, User
from auditapp.checklists.models import ChecklistVersion
from auditapp.config import database_engine_options
from auditapp.extensions import db

from .support.app import base_config


def test_migrations_build_exactly_the_models(app):
    """Alembic's autogenerate finds nothing to add: the schema is the migrations' output."""
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert diff == []
    assert "alembic_version" in inspect(db.engine).get_table_names()


def test_migrations_go_down_and_up_again(tmp_path):
    app = create_app(base_config(tmp_path, f"sqlite:///{tmp_path / 'updown.sqlite3'}"))
    with app.app_context():
        flask_migrate.upgrade()
        flask_migrate.downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        flask_migrate.upgrade()
        assert "users" in inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(app):
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    for name in ["AUDITAPP_SECRET_KEY", "AUDITAPP_DATABASE_URL"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUDITAPP_INSTANCE_PATH", str(tmp_path / "inst"))
    first = create_app()
    second = create_app()
    key_file = tmp_path / "inst" / "secret_key"
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key_file.read_text()
    assert len(first.config["SECRET_KEY"]) == 64
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_secret_key_from_environment_still_creates_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITAPP_INSTANCE_PATH", str(tmp_path / "fresh"))
    monkeypatch.setenv("AUDITAPP_SECRET_KEY", "given")
    monkeypatch.delenv("AUDITAPP_DATABASE_URL", raising=False)
    create_app()
    assert (tmp_path / "fresh").is_dir()


def test_environment_settings_and_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITAPP_INSTANCE_PATH", str(tmp_path / "inst"))
    monkeypatch.setenv("AUDITAPP_MAX_UPLOAD_MB", "7")
    monkeypatch.setenv("AUDITAPP_SECRET_KEY", "from-env")
    monkeypatch.delenv("AUDITAPP_DATABASE_URL", raising=False)
    monkeypatch.delenv("AUDITAPP_PHOTO_DIR", raising=False)
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["MAX_CONTENT_LENGTH"] == 7 * 1024 * 1024
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'inst' / 'auditapp.sqlite3'}"
    assert app.config["PHOTO_DIR"] == str(tmp_path / "inst" / "photos")
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None
    assert not (tmp_path / "inst" / "secret_key").exists()


def test_users_create_command_prompts_for_the_password(runner, app):
    result = runner.invoke(
        args=["users", "create", "Lead@Example.com", "--role", "quality_lead"],
        input="a long password here\na long password here\n",
    )
    assert result.exit_code == 0, result.output
    assert "created lead@example.com (Quality lead)" in result.output
    user = db.session.scalar(db.select(User).filter_by(email="lead@example.com"))
    assert user.role == "quality_lead" and user.check_password("a long password here")


def test_users_create_command_refuses_bad_input(runner, app):
    result = runner.invoke(args=["users", "create", "x@example.com", "--role", "auditor", "--password", "short"])
    assert result.exit_code == 1 and "password" in result.output
    result = runner.invoke(
        args=["users", "create", "x@example.com", "--role", "boss", "--password", "long enough pass"]
    )
    assert result.exit_code == 2
    runner.invoke(args=["users", "create", "x@example.com", "--role", "auditor", "--password", "long enough pass"])
    result = runner.invoke(
        args=["users", "create", "x@example.com", "--role", "auditor", "--password", "long enough pass"]
    )
    assert result.exit_code == 1 and "already exists" in result.output


def test_demo_is_idempotent_and_prints_working_passwords(runner, app, shipped_checklists):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0
    assert db.session.scalar(db.select(db.func.count(User.id))) == 4
    assert db.session.scalar(db.select(db.func.count(Area.id))) == 2
    assert db.session.scalar(db.select(db.func.count(ChecklistVersion.id))) == 7  # the shipped checklists
    creds = json.loads(Path(app.instance_path, "demo-credentials.json").read_text())
    for email, password in creds.items():
        assert f"{email}" in second.output and password in second.output
        assert db.session.scalar(db.select(User).filter_by(email=email)).check_password(password)
    roles = {u.role for u in db.session.scalars(db.select(User))}
    assert roles == {"auditor", "supervisor", "quality_lead", "admin"}
    # Something to look at: today's audit, and a completed one whose nonconformity is being worked on.
    from auditapp.audits.models import Audit
    from auditapp.capa.models import Nonconformity
    from auditapp.events.services import verify_chain

    assert sorted(a.status for a in db.session.scalars(db.select(Audit))) == ["completed", "planned"]
    assert db.session.scalar(db.select(Nonconformity)).status == "actions_planned"
    assert verify_chain()[1] is None


def test_demo_credentials_file_lost_means_new_passwords_that_work(runner, app, shipped_checklists):
    runner.invoke(args=["demo"])
    os.remove(os.path.join(app.instance_path, "demo-credentials.json"))
    result = runner.invoke(args=["demo"])
    creds = json.loads(Path(app.instance_path, "demo-credentials.json").read_text())
    user = db.session.scalar(db.select(User).filter_by(email="auditor@example.com"))
    db.session.refresh(user)
    assert user.check_password(creds["auditor@example.com"]) and creds["auditor@example.com"] in result.output


def test_nothing_runs_at_import_time(tmp_path):
    import importlib

    import auditapp

    before = set(os.listdir(tmp_path))
    importlib.reload(auditapp)
    assert set(os.listdir(tmp_path)) == before


def test_a_database_server_gets_a_bounded_pool_and_timeouts(app, monkeypatch):
    """PostgreSQL: pool size and timeouts from the environment, a statement timeout on every connection;
    SQLite: SQLAlchemy's own defaults (one file, no server)."""
    assert database_engine_options("sqlite:///x.sqlite3") == {}
    monkeypatch.setenv("AUDITAPP_DB_POOL_SIZE", "3")
    monkeypatch.setenv("AUDITAPP_DB_STATEMENT_TIMEOUT_MS", "4000")
    options = database_engine_options("postgresql+psycopg://u@db.example.internal/auditapp?sslmode=verify-full")
    assert options["pool_size"] == 3 and options["pool_pre_ping"] is True
    assert options["connect_args"] == {"connect_timeout": 5, "options": "-c statement_timeout=4000"}
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # The test app's engine was built with the defaults: every connection carries the timeout.
        assert db.engine.pool.size() == 5
        assert db.session.execute(db.text("SHOW statement_timeout")).scalar() == "30s"
