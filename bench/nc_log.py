"""Time the nonconformity log and detail pages at 1,000 and 10,000 nonconformities (3 actions each),
and count SQL queries per page to show they stay constant as the data grows (no N+1).

Runs in-process with Flask's test client on a temporary SQLite database (set AUDITAPP_DATABASE_URL
to a PostgreSQL URL to measure there; that database is wiped). Baseline in the same run: a trivial
endpoint (/health, public), so the ratios survive a noisy machine.

    .venv/bin/python bench/nc_log.py [--sizes 1000 10000] [--repeat 15]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import flask_migrate
from sqlalchemy import event, insert, text, update

from auditapp import create_app
from auditapp.accounts import services as accounts
from auditapp.capa.models import CorrectiveAction, Nonconformity
from auditapp.extensions import db

PASSWORD = "bench password 123"
STATUSES = ["open", "contained", "cause_identified", "actions_planned", "actions_done", "closed"]


def seed(total: int, start: int, lead, owners, areas) -> None:
    """Bulk-insert nonconformities start..total-1 with three actions each (benchmark data, no events)."""
    rng_base = datetime(2026, 1, 1)
    ncs, actions = [], []
    for i in range(start, total):
        ncs.append(
            {
                "id": i + 1,
                "number": f"NC-2026-{i + 1:05d}",
                "source": "internal_audit",
                "clause": f"8.{i % 7 + 1}.{i % 5 + 1}",
                "area_id": areas[i % len(areas)],
                "severity": "major" if i % 9 == 0 else "minor",
                "status": "open",
                "title": f"Finding {i} on the line",
                "description": f"Finding {i}: labels missing on rack {i % 40}",
                "containment": "",
                "why_steps": [],
                "cause_category": "",
                "verification_result": "",
                "verification_evidence": "",
                "verification_count": 0,
                "withdrawn_reason": "",
                "raised_by_id": lead,
                "raised_at": rng_base + timedelta(minutes=i),
            }
        )
        for k in range(3):
            actions.append(
                {
                    "nonconformity_id": i + 1,
                    "description": f"Action {k} for {i}",
                    "owner_id": owners[(i + k) % len(owners)],
                    "status": "done" if k == 0 else "open",
                    "due_date": date(2026, 1, 1) + timedelta(days=i % 400),
                    "completion_note": "",
                    "completed_at": rng_base if k == 0 else None,
                    "created_at": rng_base,
                }
            )
    for chunk in range(0, len(ncs), 2000):
        db.session.execute(insert(Nonconformity), ncs[chunk : chunk + 2000])
    for chunk in range(0, len(actions), 6000):
        db.session.execute(insert(CorrectiveAction), actions[chunk : chunk + 6000])
    # Statuses last: the database refuses actions on a closed nonconformity.
    db.session.execute(
        update(Nonconformity), [{"id": nc["id"], "status": STATUSES[(nc["id"] - 1) % len(STATUSES)]} for nc in ncs]
    )
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))  # as autovacuum would after a bulk load


def timed(client, url, repeat, counter):
    """(median ms, queries per request) for GET url."""
    client.get(url)  # warm
    times, queries = [], []
    for _ in range(repeat):
        counter.clear()
        t = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        queries.append(len(counter))
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times), max(queries)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("AUDITAPP_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite3"
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": "bench",
                "INSTANCE_PATH": tmp,
                "WTF_CSRF_ENABLED": False,
                "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            }
        )
        with app.app_context():
            if url.startswith("postgresql"):
                with db.engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            flask_migrate.upgrade()
            lead = accounts.create_user(None, "lead@example.com", "Lead", "quality_lead", PASSWORD).id
            owners = [
                accounts.create_user(None, f"s{i}@example.com", f"Supervisor {i}", "supervisor", PASSWORD).id
                for i in range(20)
            ]
            areas = [accounts.create_area(None, f"Area {i}", "", owners[i]).id for i in range(20)]
            db.session.commit()
            engine = db.engine
        counter: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda *a: counter.append(a[2]))
        # Requests run outside any app context of ours, so each gets its own, as in production.
        client = app.test_client()
        client.post("/login", data={"email": "lead@example.com", "password": PASSWORD})
        seeded, rows = 0, []
        pages = {
            "trivial /health": "/health",
            "log, first page": "/nc/",
            "log, filtered + search": f"/nc/?status=actions_planned&severity=minor&area={areas[3]}&q=rack&sort=oldest",
            "log, overdue, page 3": "/nc/?overdue=1&page=3",
            "detail page": "/nc/{mid}",
        }
        for size in args.sizes:
            with app.app_context():
                seed(size, seeded, lead, owners, areas)
            seeded = size
            for name, page in pages.items():
                ms, queries = timed(client, page.format(mid=size // 2), args.repeat, counter)
                rows.append((size, name, ms, queries))
        with app.app_context():
            db.engine.dispose()
    base = {size: next(ms for s, n, ms, _ in rows if s == size and n.startswith("trivial")) for size in args.sizes}
    print(
        f"nonconformity log benchmark ({'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}), "
        f"3 actions per nonconformity, median of {args.repeat}"
    )
    print(f"{'NCs':>7} {'page':<26}{'ms':>8}{'x trivial':>11}{'queries':>9}")
    for size, name, ms, queries in rows:
        print(f"{size:>7} {name:<26}{ms:>8.1f}{ms / base[size]:>11.1f}{queries:>9}")
    small, large = args.sizes[0], args.sizes[-1]
    for name in pages:
        q_small = next(q for s, n, _, q in rows if s == small and n == name)
        q_large = next(q for s, n, _, q in rows if s == large and n == name)
        verdict = "constant" if q_small == q_large else "GROWS"
        print(f"queries for {name!r}: {q_small} at {small:,} -> {q_large:,} at {large:,}: {verdict}")


if __name__ == "__main__":
    main()
