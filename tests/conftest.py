"""Fixtures: a migrated database (SQLite, or PostgreSQL when AUDITAPP_TEST_DATABASE_URL is set),
an app per test, clients per role that send CSRF tokens like the browser does.

Helpers shared by test modules live in tests/support/; the fixtures defined there are registered
below. Test modules import from tests/support/, never from this file."""

import os
import shutil
from pathlib import Path

import flask_migrate
import pytest
from sqlalchemy import create_engine, text

from auditapp import create_app
from auditapp.accounts import services as accounts
from auditapp.extensions import db

# Helpers in tests/support/ assert too; rewrite them like test modules for readable failures.
pytest.register_assert_rewrite("tests.support")

from .support.accounts import PASSWORD, log_in  # noqa: E402
from .support.app import CSRFClient, base_config  # noqa: E402
from .support.cell_walk import plan_cell_walk  # noqa: E402

# Fixtures defined beside their helpers, registered here once for every test module.
pytest_plugins = ["tests.support.audits", "tests.support.browser", "tests.support.s3"]

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = Path(__file__).parent / "resources"
SHIPPED_CHECKLISTS = ROOT / "checklists"
POSTGRES_URL = os.environ.get("AUDITAPP_TEST_DATABASE_URL")


def pytest_report_header(config):
    return f"auditapp database: {'PostgreSQL ' + POSTGRES_URL if POSTGRES_URL else 'SQLite (temporary file)'}"


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory):
    """A database built by the migrations, once per test run (for SQLite: a template file)."""
    if POSTGRES_URL:
        engine = create_engine(POSTGRES_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        url = POSTGRES_URL
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'template.sqlite3'}"
    app = create_app(base_config(tmp_path_factory.mktemp("migrate"), url))
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    return url


@pytest.fixture
def database_url(migrated_database, tmp_path):
    """A clean migrated database for one test: a copy of the SQLite template, or PostgreSQL emptied after."""
    if POSTGRES_URL:
        yield migrated_database
        _empty_postgresql(migrated_database)
        return
    copy = tmp_path / "test.sqlite3"
    shutil.copy(migrated_database.removeprefix("sqlite:///"), copy)
    yield f"sqlite:///{copy}"


def _empty_postgresql(url):
    """Empty every table; the append-only triggers are bypassed in replica mode (tests only)."""
    engine = create_engine(url)
    tables = ", ".join(t.name for t in db.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(
            text("INSERT INTO event_chain_head (id, last_seq, last_hash) VALUES (1, 0, :genesis)"),
            {"genesis": "0" * 64},
        )
    engine.dispose()


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(base_config(tmp_path, database_url))
    app.test_client_class = CSRFClient
    (tmp_path / "checklists").mkdir()
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Create a user with a role; returns the User."""
    counter = iter(range(1, 10_000))

    def make(role="auditor", email=None, name=None, password=PASSWORD):
        n = next(counter)
        user = accounts.create_user(
            None, email or f"{role}{n}@example.com", name or f"{role.title()} {n}", role, password
        )
        db.session.commit()
        return user

    return make


@pytest.fixture
def login(client, make_user):
    """login("quality_lead") -> the logged-in user, on the shared `client`."""

    def do(role="auditor"):
        return log_in(client, make_user(role))

    return do


@pytest.fixture
def htmx_headers():
    return {"HX-Request": "true"}


@pytest.fixture
def shipped_checklists(app, tmp_path):
    """The shipped checklist files, copied into this test's checklist folder."""
    for path in SHIPPED_CHECKLISTS.glob("*.yaml"):
        shutil.copy(path, tmp_path / "checklists" / path.name)
    return tmp_path / "checklists"


@pytest.fixture
def cell_audit(app, client, make_user):
    """A planned audit of the cell walk (tests/support/cell_walk.py: scoring, a conditional item, a repeating
    station section), `client` logged in as its lead auditor."""
    audit, lead = plan_cell_walk(app, make_user)
    log_in(client, lead)
    return audit
