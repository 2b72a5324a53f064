"""Fixtures: a migrated database (SQLite, or PostgreSQL when AUDITAPP_TEST_DATABASE_URL is set),
an app per test, clients per role that send CSRF tokens like the browser does."""
import os
import shutil
from pathlib import Path

import flask_migrate
import pytest
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, text

from auditapp import create_app
from auditapp.accounts import services as accounts
from auditapp.extensions import db

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = Path(__file__).parent / "resources"
SHIPPED_CHECKLISTS = ROOT / "checklists"
PASSWORD = "correct horse battery"
POSTGRES_URL = os.environ.get("AUDITAPP_TEST_DATABASE_URL")


def pytest_report_header(config):
    return f"auditapp database: {'PostgreSQL ' + POSTGRES_URL if POSTGRES_URL else 'SQLite (temporary file)'}"


def base_config(tmp_path: Path, database_url: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "EVENT_KEY": "test-event-key",  # as AUDITAPP_EVENT_KEY; test_event_log checks instance/event_key
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "PHOTO_DIR": str(tmp_path / "photos"),
        "CHECKLIST_DIR": str(tmp_path / "checklists"),
        # scrypt costs ~0.1 s a hash; tests create hundreds of users.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }


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
        conn.execute(text("INSERT INTO event_chain_head (id, last_seq, last_hash) VALUES (1, 0, :genesis)"),
                     {"genesis": "0" * 64})
    engine.dispose()


class CSRFClient(FlaskClient):
    """Sends X-CSRFToken on every unsafe request, as base.html's hx-headers makes browsers do.

    Pass csrf=False to send a request without it.
    """

    def open(self, *args, csrf=True, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        if csrf and method not in ("GET", "HEAD", "OPTIONS"):
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", self.csrf_token())
            kwargs["headers"] = headers
        # Each request gets its own app context (fresh `g`, own database session), as in
        # production; without this it would reuse the test's context and Flask-Login's cache.
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()  # the test's objects reload what the request committed
        return response

    def csrf_token(self) -> str:
        with self.session_transaction() as sess:
            raw = sess.setdefault("csrf_token", "0" * 40)
        return URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(raw)


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
        user = accounts.create_user(None, email or f"{role}{n}@example.com", name or f"{role.title()} {n}", role,
                                    password)
        db.session.commit()
        return user

    return make


def log_in(client, user, password=PASSWORD):
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.data
    return user


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


# Fixtures defined beside their helpers, registered here once for every test module.
from .audit_support import plan, walk  # noqa: E402,F401
from .browser_support import browser, live_server, phone  # noqa: E402,F401


def run_at_once(app, workers: int, work) -> list[Exception]:
    """Run work(n) for n in range(workers) in threads released together, each with its own app
    (own connections) on the test's database; return the exceptions they raised."""
    import threading
    from pathlib import Path
    import tempfile

    other = create_app(base_config(Path(tempfile.mkdtemp()), app.config["SQLALCHEMY_DATABASE_URI"]))
    barrier, errors = threading.Barrier(workers), []

    def run(n):
        with other.app_context():
            try:
                barrier.wait()
                work(n)
            except Exception as exc:  # noqa: BLE001  (returned to the test, which asserts on them)
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with other.app_context():
        db.engine.dispose()
    return errors
