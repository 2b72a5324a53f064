"""The app under test: its configuration, work run in threads at once, the queries a page takes."""

import tempfile
import threading
from pathlib import Path

from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import event

from auditapp import create_app
from auditapp.extensions import db


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
        # A background render per completed audit would outlive most tests; tests/test_pdf_prepared.py turns it on.
        "PDF_PREPARE": False,
    }


def run_at_once(app, workers: int, work) -> list[Exception]:
    """Run work(n) for n in range(workers) in threads released together, each with its own app
    (own connections) on the test's database; return the exceptions they raised."""
    other = create_app(base_config(Path(tempfile.mkdtemp()), app.config["SQLALCHEMY_DATABASE_URI"]))
    barrier, errors = threading.Barrier(workers), []

    def run(n):
        with other.app_context():
            try:
                barrier.wait()
                work(n)
            except Exception as exc:
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


def count_queries(client, url):
    """The number of SQL statements a GET of `url` runs (it must answer 200)."""
    statements, response = statements_of(lambda: client.get(url))
    assert response.status_code == 200
    return len(statements)


def statements_of(work):
    """(the SQL statements work() ran on the app's engine, what work() returned)."""
    seen = []
    listener = lambda *args: seen.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        result = work()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return seen, result


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
