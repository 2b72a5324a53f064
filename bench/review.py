"""Time the management review pack and the clause coverage map with 100,000 responses, 20,000
findings and 10,000 nonconformities, and count SQL queries per page at a tenth of that and at full
size, to show the figures come from SQL aggregates (a constant, small number of queries).

Runs in-process with Flask's test client on a temporary SQLite database (set AUDITAPP_DATABASE_URL
to a PostgreSQL URL to measure there; that database is wiped). Baseline in the same run: a trivial
endpoint (/health, public), so the ratios survive a noisy machine.

    .venv/bin/python bench/review.py [--responses 100000] [--repeat 7]
"""

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
from sqlalchemy import event, insert, select, text, update  # noqa: E402

from auditapp import create_app  # noqa: E402
from auditapp.accounts import services as accounts  # noqa: E402
from auditapp.audits.models import Audit, Response  # noqa: E402
from auditapp.capa.models import CorrectiveAction, Nonconformity  # noqa: E402
from auditapp.checklists import services as checklists  # noqa: E402
from auditapp.checklists.models import ChecklistItem  # noqa: E402
from auditapp.extensions import db  # noqa: E402
from auditapp.findings.models import Finding  # noqa: E402
from auditapp.improvements.models import Improvement  # noqa: E402
from auditapp.reports import coverage  # noqa: E402
from auditapp.review import services as review  # noqa: E402
from bench.nc_log import timed  # noqa: E402

PASSWORD = "bench password 123"
# Per audit of the 94-item ISO checklist: 19 findings (about 20,000 for 100,000 answers), 10 of them
# nonconformities (about 10,000), each with two actions; the rest observations and OFIs.
GRADES = (["minor_nc", "observation", "minor_nc", "ofi", "major_nc", "observation", "minor_nc", "ofi"] * 3)[:19]
NC_STATUSES = ["open", "contained", "cause_identified", "actions_planned", "actions_done", "closed"]


def seed(
    first: int, last: int, version_id: int, items: list, lead: int, owners: list, areas: list, now: datetime
) -> None:
    """Bulk-insert completed audits first..last-1, every item answered (benchmark data, no events)."""
    audits, responses, findings, ncs, actions, improvements = [], [], [], [], [], []
    for a in range(first, last):
        completed = now - timedelta(days=a % 360, hours=a % 7)
        audits.append(
            {
                "id": a + 1,
                "number": f"AUD-B-{a + 1:05d}",
                "title": f"Audit {a}",
                "checklist_version_id": version_id,
                "area_id": areas[a % len(areas)],
                "criteria": "",
                "planned_date": completed.date(),
                "lead_auditor_id": owners[a % len(owners)],
                "auditee": "",
                "status": "in_progress",
                "impartiality_override": "",
                "conclusion": "Done",
                "created_by_id": lead,
                "created_at": completed,
                "started_at": completed,
            }
        )
        for i, item in enumerate(items):
            grade = GRADES[i] if i < len(GRADES) else None
            rid = str(uuid.UUID(int=a * 1000 + i))
            responses.append(
                {
                    "id": rid,
                    "audit_id": a + 1,
                    "item_id": item.id,
                    "result": grade or "conform",
                    "note": "",
                    "revision": 1,
                    "note_revision": 0,
                    "answered_by_id": lead,
                    "answered_at": completed,
                }
            )
            if grade is None:
                continue
            fid = str(uuid.UUID(int=10**12 + a * 1000 + i))
            findings.append(
                {
                    "id": fid,
                    "audit_id": a + 1,
                    "item_id": item.id,
                    "response_id": rid,
                    "clause": item.clause,
                    "grade": grade,
                    "status": "open",
                    "statement": "Found",
                    "requirement": "",
                    "evidence": "Seen",
                    "why_major": "",
                    "created_by_id": lead,
                    "created_at": completed,
                    "updated_at": completed,
                }
            )
            if grade in ("minor_nc", "major_nc"):
                nc_id = len(ncs) + first * 10 + 1
                ncs.append(
                    {
                        "id": nc_id,
                        "number": f"NC-B-{nc_id:06d}",
                        "finding_id": fid,
                        "audit_id": a + 1,
                        "source": "internal_audit",
                        "clause": item.clause,
                        "area_id": areas[a % len(areas)],
                        "severity": grade.removesuffix("_nc"),
                        "status": "open",
                        "title": "Found",
                        "description": "Found",
                        "containment": "",
                        "why_steps": [],
                        "cause_category": "",
                        "verification_result": "",
                        "verification_evidence": "",
                        "verification_count": 1 + (nc_id % 4 == 0),
                        "withdrawn_reason": "",
                        "raised_by_id": lead,
                        "raised_at": completed,
                    }
                )
                for k in range(2):
                    actions.append(
                        {
                            "nonconformity_id": nc_id,
                            "origin": "nonconformity",
                            "description": "Fix",
                            "owner_id": owners[(nc_id + k) % len(owners)],
                            "status": "done" if k == 0 else "open",
                            "completion_note": "",
                            "due_date": completed.date() + timedelta(days=30 + nc_id % 90),
                            "created_at": completed,
                        }
                    )
            else:
                improvements.append(
                    {
                        "finding_id": fid,
                        "audit_id": a + 1,
                        "kind": grade,
                        "clause": item.clause,
                        "area_id": areas[a % len(areas)],
                        "description": "Could be better",
                        "status": "new",
                        "action_description": "",
                        "action_note": "",
                        "decision_note": "",
                        "created_at": completed,
                    }
                )
    for model, rows in (
        (Audit, audits),
        (Response, responses),
        (Finding, findings),
        (Nonconformity, ncs),
        (CorrectiveAction, actions),
        (Improvement, improvements),
    ):
        for chunk in range(0, len(rows), 5000):
            db.session.execute(insert(model), rows[chunk : chunk + 5000])
    # Completed and closed last: the database refuses changes under a completed audit or closed NC.
    db.session.execute(
        update(Audit), [{"id": a["id"], "status": "completed", "completed_at": a["started_at"]} for a in audits]
    )
    db.session.execute(
        update(Nonconformity),
        [
            {
                "id": nc["id"],
                "status": NC_STATUSES[nc["id"] % len(NC_STATUSES)],
                "closed_at": nc["raised_at"] + timedelta(days=nc["id"] % 60 + 1)
                if NC_STATUSES[nc["id"] % len(NC_STATUSES)] == "closed"
                else None,
            }
            for nc in ncs
        ],
    )
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
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
                "CHECKLIST_DIR": str(ROOT / "checklists"),
            }
        )
        now = datetime.now().replace(microsecond=0)
        with app.app_context():
            if url.startswith("postgresql"):
                with db.engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            flask_migrate.upgrade()
            lead_user = accounts.create_user(None, "lead@example.com", "Lead", "quality_lead", PASSWORD)
            owners = [
                accounts.create_user(None, f"s{i}@example.com", f"Supervisor {i}", "supervisor", PASSWORD).id
                for i in range(20)
            ]
            areas = [accounts.create_area(None, f"Area {i}", "", owners[i]).id for i in range(20)]
            db.session.commit()
            checklists.sync_directory(ROOT / "checklists")
            version = checklists.get_checklist("iso9001-2015").latest
            items = db.session.execute(
                select(ChecklistItem.id, ChecklistItem.clause)
                .where(ChecklistItem.version_id == version.id)
                .order_by(ChecklistItem.position)
            ).all()
            pack = review.prepare(lead_user, (now - timedelta(days=365)).date(), now.date())
            db.session.commit()
            pack_id, lead, version_id = pack.id, lead_user.id, version.id
            engine = db.engine
        counter: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda *a: counter.append(a[2]))
        client = app.test_client()
        client.post("/login", data={"email": "lead@example.com", "password": PASSWORD})
        pages = {
            "trivial /health": "/health",
            "management review pack": f"/reviews/{pack_id}",
            "clause coverage map": "/reports/coverage",
        }
        total_audits = -(-args.responses // len(items))
        sizes = [total_audits // 10, total_audits]
        rows, seeded = [], 0
        for size in sizes:
            t = time.perf_counter()
            with app.app_context():
                seed(seeded, size, version_id, items, lead, owners, areas, now)
                # Bulk-inserted audits never went through completion: fill the coverage map's summary
                # as migration 0014 does for audits completed before it (timed, it is a one-off).
                t_rebuild = time.perf_counter()
                coverage.rebuild_all()
                db.session.commit()
                rebuild_s = time.perf_counter() - t_rebuild
                counts = {
                    m.__tablename__: db.session.scalar(select(db.func.count()).select_from(m))
                    for m in (Response, Finding, Nonconformity, CorrectiveAction)
                }
            print(
                f"seeded {size:,} audits in {time.perf_counter() - t:.1f} s: "
                + ", ".join(f"{n:,} {name}" for name, n in counts.items())
                + f"; coverage summary rebuilt in {rebuild_s:.2f} s",
                flush=True,
            )
            seeded = size
            for name, page in pages.items():
                ms, queries = timed(client, page, args.repeat, counter)
                rows.append((counts["responses"], name, ms, queries))
        with app.app_context():
            db.engine.dispose()
    base = {r: ms for r, n, ms, _ in rows if n.startswith("trivial")}
    print(
        f"\nmanagement review benchmark ({'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}), "
        f"median of {args.repeat}, pack period 12 months, as of {date.today()}"
    )
    print(f"{'responses':>10} {'page':<26}{'ms':>9}{'x trivial':>11}{'queries':>9}")
    for responses, name, ms, queries in rows:
        print(f"{responses:>10,} {name:<26}{ms:>9.1f}{ms / base[responses]:>11.1f}{queries:>9}")
    small, large = rows[0][0], rows[-1][0]
    for name in pages:
        q_small = next(q for r, n, _, q in rows if r == small and n == name)
        q_large = next(q for r, n, _, q in rows if r == large and n == name)
        verdict = "constant" if q_small == q_large else "GROWS"
        print(f"queries for {name!r}: {q_small} at {small:,} responses -> {q_large} at {large:,}: {verdict}")
    for name in pages:
        if name.startswith("trivial"):
            continue
        ms_small = next(ms for r, n, ms, _ in rows if r == small and n == name)
        ms_large = next(ms for r, n, ms, _ in rows if r == large and n == name)
        print(
            f"time for {name!r}: {ms_small:.1f} ms at {small:,} responses -> {ms_large:.1f} ms at {large:,}: "
            f"{ms_large / ms_small:.2f}x for {large / small:.1f}x the data"
        )


if __name__ == "__main__":
    main()
