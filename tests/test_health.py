"""/health and /ready: public, unthrottled answers for load balancers that reveal nothing but which check failed."""

import json

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from auditapp import create_app
from auditapp.extensions import db, migrate

from .support.app import base_config

NOTHING_ELSE = {"status", "failed"}


def _answer(response):
    body = json.loads(response.data)
    assert set(body) <= NOTHING_ELSE, body
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    return body


def test_health_answers_anyone(client):
    response = client.get("/health")
    assert response.status_code == 200 and _answer(response) == {"status": "ok"}


def test_ready_answers_anyone_when_everything_is_there(client):
    response = client.get("/ready")
    assert response.status_code == 200 and _answer(response) == {"status": "ok"}


@pytest.fixture
def older_revision(app):
    """The database stamped one migration behind the code (restored after: PostgreSQL is shared)."""
    script = ScriptDirectory(str(migrate.directory))
    (head,) = script.get_heads()
    before = script.get_revision(head).down_revision
    db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": before})
    db.session.commit()
    yield before
    db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    db.session.commit()


def test_ready_refuses_a_database_behind_the_code(client, older_revision):
    response = client.get("/ready")
    assert response.status_code == 503
    assert _answer(response) == {"status": "unavailable", "failed": ["migrations"]}
    assert older_revision.encode() not in response.data


def test_ready_refuses_a_database_never_migrated(client, app):
    (version,) = db.session.execute(text("SELECT version_num FROM alembic_version")).scalars()
    db.session.execute(text("DELETE FROM alembic_version"))
    db.session.commit()
    try:
        response = client.get("/ready")
    finally:
        db.session.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version})
        db.session.commit()
    assert response.status_code == 503 and _answer(response)["failed"] == ["migrations"]


def test_ready_refuses_unreachable_photo_storage(database_url, tmp_path):
    not_a_folder = tmp_path / "photos-is-a-file"
    not_a_folder.write_text("")
    app = create_app({**base_config(tmp_path, database_url), "PHOTO_DIR": str(not_a_folder)})
    response = app.test_client().get("/ready")
    with app.app_context():
        db.engine.dispose()
    assert response.status_code == 503
    assert _answer(response) == {"status": "unavailable", "failed": ["photos"]}
    assert str(tmp_path).encode() not in response.data


def test_ready_refuses_an_unreachable_database(tmp_path):
    missing = tmp_path / "no-such-folder" / "auditapp.sqlite3"
    app = create_app(base_config(tmp_path, f"sqlite:///{missing}"))
    response = app.test_client().get("/ready")
    assert response.status_code == 503
    assert _answer(response) == {"status": "unavailable", "failed": ["database"]}
    assert b"sqlite" not in response.data.lower() and b"no-such-folder" not in response.data
    with app.app_context():
        db.engine.dispose()


def test_health_and_ready_need_no_login_but_other_pages_do(client):
    assert client.get("/health").status_code == 200
    assert client.get("/audits/").status_code == 302


def test_ready_keeps_its_verdict_briefly_so_a_flood_of_probes_costs_one_check(database_url, tmp_path):
    photos = tmp_path / "photos"
    app = create_app({**base_config(tmp_path, database_url), "PHOTO_DIR": str(photos), "READY_CACHE_SECONDS": 60})
    client = app.test_client()
    assert client.get("/ready").status_code == 200
    photos.rename(tmp_path / "moved")
    photos.write_text("a file where the photo folder was")
    assert client.get("/ready").status_code == 200  # the kept verdict: no check ran
    app.config["READY_CACHE_SECONDS"] = 0
    assert _answer(client.get("/ready")) == {"status": "unavailable", "failed": ["photos"]}
    with app.app_context():
        db.engine.dispose()
