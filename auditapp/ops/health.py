"""/health (the process answers) and /ready (it can serve: database, migrations, photo storage).

Both are public, unthrottled and say nothing but which check failed: no versions, paths or error text,
since anyone who can reach the app can ask. The reason for a failure goes to the app's log.
"""

import time
from collections.abc import Callable
from functools import lru_cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import text

from ..extensions import db, limiter, migrate
from ..photos.storage import photo_store

bp = Blueprint("ops", __name__)
# Answers about this moment: no browser or proxy may keep one.
NO_STORE = {"Cache-Control": "no-store"}


@bp.get("/health")
def health() -> tuple[Response, int, dict[str, str]]:
    """The process is up and answering; nothing else is checked."""
    return jsonify(status="ok"), 200, NO_STORE


@bp.get("/ready")
def ready() -> tuple[Response, int, dict[str, str]]:
    """200 when every dependency answers; 503 naming the checks that failed.

    The verdict is kept for READY_CACHE_SECONDS per process: a flood of probes costs no more than one."""
    cached = current_app.extensions.get("auditapp.ready")
    if cached and time.monotonic() - cached[0] < current_app.config["READY_CACHE_SECONDS"]:
        failed = cached[1]
    else:
        failed = _failed_checks()
        current_app.extensions["auditapp.ready"] = (time.monotonic(), failed)
    if failed:
        return jsonify(status="unavailable", failed=failed), 503, NO_STORE
    return jsonify(status="ok"), 200, NO_STORE


def _failed_checks() -> list[str]:
    failed = [name for name, check in _checks() if not _passes(name, check)]
    if "database" in failed:  # with no database there is nothing to compare the migrations with
        failed = [name for name in failed if name != "migrations"]
    return failed


def _checks() -> list[tuple[str, Callable[[], bool]]]:
    return [("database", database_answers), ("migrations", migrations_current), ("photos", photo_storage_works)]


def _passes(name: str, check: Callable[[], bool]) -> bool:
    try:
        if check():
            return True
        current_app.logger.warning("ready: the %s check failed", name)
    except Exception as exc:  # any failure means "not ready", never a 500
        current_app.logger.warning("ready: the %s check failed (%s)", name, type(exc).__name__)
    return False


def database_answers() -> bool:
    """A trivial query on a connection of the pool."""
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT 1")).scalar() == 1


def migrations_current() -> bool:
    """The database is at the head of the migrations shipped with this code (`flask db upgrade` was run)."""
    with db.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current == expected_heads(str(migrate.directory))


@lru_cache(maxsize=4)
def expected_heads(directory: str) -> frozenset[str]:
    """The newest revisions in the migrations folder (read once: the code does not change while it runs)."""
    return frozenset(ScriptDirectory(directory).get_heads())


def photo_storage_works() -> bool:
    """The photo store (a folder, or object storage) can be written and read; it raises when not."""
    photo_store().check()
    return True


limiter.exempt(bp)  # load balancers ask every few seconds, from one address
