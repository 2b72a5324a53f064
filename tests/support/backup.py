"""Backups in tests: a second, empty database and instance to restore into; an instance with data in it;
what a database holds (rows per table, photos readable with their hash); clients answering over real HTTP."""

import hashlib
import http.client
import os
import re
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import create_engine, func, inspect, make_url, select, text

from auditapp import create_app
from auditapp.audits import completion, recording
from auditapp.extensions import db
from auditapp.ops.databases import BackupError, pg_tool
from auditapp.photos.models import Photo
from auditapp.photos.storage import FolderStore, photo_store

from .accounts import PASSWORD, log_in
from .app import base_config
from .audits import answer, items_of
from .photos import jpeg, upload
from .ports import free_ports

POSTGRES_URL = os.environ.get("AUDITAPP_TEST_DATABASE_URL")


def needs_postgresql_tools() -> None:
    """On PostgreSQL, backups need pg_dump and pg_restore: skip without them (fail on CI, which installs them)."""
    if not POSTGRES_URL:
        return
    try:
        pg_tool("pg_dump"), pg_tool("pg_restore")
    except BackupError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@contextmanager
def empty_database(folder: Path):
    """The URL of a new, empty database: a SQLite file in `folder`, or a PostgreSQL database dropped after."""
    if not POSTGRES_URL:
        yield f"sqlite:///{folder / 'restored.sqlite3'}"
        return
    name = f"auditapp_restore_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@contextmanager
def instance_app(folder: Path, database_url: str, **config):
    """Another instance of the app: its own instance folder and photo folder, on `database_url`."""
    app = create_app({**base_config(folder, database_url), **config})
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


S3_SETTINGS = ("PHOTO_STORAGE", "S3_BUCKET", "S3_ENDPOINT_URL", "S3_REGION", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")


def use_store(app, settings: dict) -> None:
    """Point the app at other photo store settings (the store is built once per app, on first use)."""
    app.config.update(settings)
    app.extensions.pop("auditapp.photo_store", None)


def empty_store_like(app) -> dict:
    """Settings of a new, empty photo store of the kind `app` uses: a new prefix of the same bucket for S3 (a
    folder needs none: every instance_app has its own photo folder)."""
    if app.config.get("PHOTO_STORAGE") != "s3":
        return {}
    return {**{key: app.config[key] for key in S3_SETTINGS}, "S3_PREFIX": f"restored-{uuid.uuid4().hex[:12]}/photos/"}


def unreachable(config) -> dict:
    """The S3 settings of `config` with the endpoint moved to a port where nothing listens, tried once."""
    return {
        **{key: config[key] for key in S3_SETTINGS},
        "S3_PREFIX": config["S3_PREFIX"],
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{free_ports(1)[0]}",
        "S3_MAX_ATTEMPTS": 1,
    }


def invoke(app, *args, input=None):
    """Run a `flask` command of `app` as the command line does; returns click's result."""
    # In its own app context: Flask's commands run in whichever app's context is current.
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args), input=input)


def rows_per_table(app) -> dict[str, int]:
    with app.app_context():
        names = inspect(db.engine).get_table_names()
        with db.engine.connect() as conn:
            counts = {name: conn.scalar(text(f'SELECT count(*) FROM "{name}"')) for name in names}
        db.engine.dispose()
    return counts


def photo_problems(app) -> list[str]:
    """Every photo row's file and thumbnail, read through the store: what is missing or not its hash."""
    with app.app_context():
        store, problems = photo_store(), []
        for sha in db.session.scalars(select(Photo.sha256).distinct()):
            data = store.read(sha)
            if data is None or hashlib.sha256(data).hexdigest() != sha or store.read(sha, thumbnail=True) is None:
                problems.append(sha)
        db.session.remove()
        db.engine.dispose()
    return problems


def photo_count(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count(Photo.id)))
        db.session.remove()
        db.engine.dispose()
    return count


def fill_instance(runner, client, plan, make_user) -> None:
    """Demo data (audits, a nonconformity being worked, a review), plus a completed audit with photos."""
    assert runner.invoke(args=["demo"]).exit_code == 0
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    items = items_of(audit)
    gauges, training = items["7.1.5-gauges"], items["7.2-training"]
    photo = jpeg(color=(10, 200, 10))
    assert upload(client, audit, gauges, ("a.jpg", photo), ("b.jpg", jpeg(color=(0, 90, 200)))).status_code == 200
    assert upload(client, audit, gauges, ("again.jpg", photo)).status_code == 200  # the same file twice
    assert answer(client, audit, gauges, "conform").status_code == 200
    recording.record_answer(lead, audit, training, "minor_nc", 0)
    recording.record_item_finding(
        lead, audit, training, {"statement": "Two operators untrained.", "requirement": "7.2", "evidence": "Matrix."}
    )
    db.session.commit()
    completion.complete_audit(lead, audit, "One minor nonconformity.", confirm_unanswered=True)
    db.session.commit()


class AnsweringClient:
    """One logged-in session over a keep-alive HTTP connection, sending answers as the audit screen does."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def request(self, method, path, body=None, headers=None, content_type="application/x-www-form-urlencoded"):
        headers = {**(headers or {}), "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = content_type
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, data

    def log_in(self, email, password=PASSWORD):
        _status, page = self.request("GET", "/login")
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
        body = urlencode({"csrf_token": token, "email": email, "password": password})
        assert self.request("POST", "/login", body)[0] == 302
        _status, page = self.request("GET", "/audits/mine")
        self.csrf = re.search(rb'"X-CSRFToken": "([^"]+)"', page).group(1).decode()

    def answer(self, audit_id, item_id, result, base_revision):
        return self.request(
            "POST",
            f"/audits/{audit_id}/items/{item_id}/answer",
            urlencode({"result": result, "base_revision": base_revision}),
            {"HX-Request": "true", "X-CSRFToken": self.csrf, "X-Change-Id": str(uuid.uuid4())},
        )[0]

    def upload(self, audit_id, item_id, photo: bytes):
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="item_id"\r\n\r\n{item_id}\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="p.jpg"\r\n'
                "Content-Type: image/jpeg\r\n\r\n"
            ).encode()
            + photo
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.request(
            "POST",
            f"/audits/{audit_id}/photos",
            body,
            {"HX-Request": "true", "X-CSRFToken": self.csrf},
            content_type=f"multipart/form-data; boundary={boundary}",
        )[0]

    def close(self):
        self.conn.close()


class RemovedWhileRead(FolderStore):
    """The app's photo folder, where someone removes one photo (through the app) just as a backup reads it."""

    def __init__(self, folder, sha256, remove):
        super().__init__(folder)
        self.sha256, self.remove_photo = sha256, remove

    def read(self, sha256, thumbnail=False):
        if sha256 == self.sha256:
            self.sha256 = None
            self.remove_photo(sha256)
        return super().read(sha256, thumbnail)
