"""Report PDFs: time and size against the same report as HTML, and what rendering PDFs does to taps.

One run seeds a temporary SQLite instance with the 94-item ISO 9001 audit, all answered, 10 minor
NC findings with one 12 MP phone photo each (bench/photos.py's generator), completed; and an open
audit to tap answers into. It starts gunicorn as deployed (deploy/gunicorn.conf.py: 2 workers x 4
threads), logs in and measures, interleaved so both sides see the same machine:
  - GET /audits/<id>/report (HTML, the reference) and /audits/<id>/report.pdf: median time, bytes,
    both rendered (the kept PDF deleted before each request) and as kept (a completed audit's PDF is
    rendered once, then served while its content is unchanged);
  - the first download after completing the audit (reopened and completed again through the app, so
    the background preparation runs as in use): once the preparation is done (the kept row is there),
    and at once after the completion (the download waits for the render under way, or renders its own
    when it lands on the other worker), each against the HTML report fetched in the same cycle;
  - answer saves one after another (taps) while idle, then while two clients keep PDFs rendering:
    p50/p99 and the ratio busy/idle (503 answers to PDF requests are counted: the bound at work).
Nothing leaves 127.0.0.1. The machine may be shared: read the ratios, not the times.

    .venv/bin/python bench/pdf.py [--runs 5] [--taps 600] [--rounds 3]
"""

import argparse
import json
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from io import BytesIO
from pathlib import Path
from urllib.parse import urlencode

from pypdf import PdfReader

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.answer import PYTHON, ROOT, Client, free_port
from bench.proxy import start_gunicorn

SEED = r"""
import json, sys
from datetime import date
from io import BytesIO
from pathlib import Path
sys.path.insert(0, ".")
from bench.photos import phone_jpeg
from auditapp import create_app
from auditapp.accounts import services as accounts
from auditapp.audits import services as audits
from auditapp.audits import recording
from auditapp.audits.completion import complete_audit
from auditapp.checklists import services as checklists
from auditapp.extensions import db
from auditapp.photos.pipeline import process_photo
import flask_migrate
app = create_app()
with app.app_context():
    flask_migrate.upgrade()
    checklists.sync_directory(Path(app.config["CHECKLIST_DIR"]))
    lead = accounts.create_user(None, "bench@example.com", "Bench Lead", "auditor", "bench password 123")
    planner = accounts.create_user(None, "plan@example.com", "Planner", "quality_lead", "bench password 123")
    db.session.commit()
    iso = checklists.get_checklist("iso9001-2015").id
    when = date.today()
    report = audits.plan_audit(planner, checklist_id=iso, title="Report", planned_date=when, lead_auditor_id=lead.id)
    tap = audits.plan_audit(planner, checklist_id=iso, title="Taps", planned_date=when, lead_auditor_id=lead.id)
    db.session.commit()
    items = list(report.checklist_version.items)
    for n, item in enumerate(items):
        recording.record_answer(lead, report, item, "minor_nc" if n % 9 == 4 and n < 94 else "conform", 0)
    db.session.commit()
    graded = [item for n, item in enumerate(items) if n % 9 == 4][:10]
    for n, item in enumerate(graded):
        finding = {"statement": f"Gauge {n} overdue for calibration", "evidence": f"Label due 2026-0{n % 9 + 1}",
                   "requirement": "7.1.5.2 requires calibration at specified intervals"}
        recording.record_item_finding(lead, report, item, finding)
        recording.add_item_photos(lead, report, item, [process_photo(BytesIO(phone_jpeg()))])
        db.session.commit()
    complete_audit(lead, report, "The system is effective, with ten minor nonconformities.", True)
    db.session.commit()
    print(json.dumps({"report": report.id, "photos": len(graded), "items": len(items),
                      "tap_audit": tap.id, "tap_items": [i.id for i in tap.checklist_version.items]}))
"""


def timed(client: Client, path: str) -> tuple[float, int, int]:
    start = time.perf_counter()
    status, body = client.request("GET", path)
    client.last = body  # type: ignore[attr-defined]
    return (time.perf_counter() - start) * 1000, status, len(body)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def forget_kept_pdfs(instance: str) -> None:
    """Delete the kept PDFs, so the next download renders (what the first download of a report costs)."""
    with sqlite3.connect(Path(instance) / "auditapp.sqlite3", timeout=30) as conn:
        conn.execute("DELETE FROM kept_pdfs")


def kept_report(instance: str, audit: int) -> bool:
    with sqlite3.connect(Path(instance) / "auditapp.sqlite3", timeout=30) as conn:
        row = conn.execute("SELECT 1 FROM kept_pdfs WHERE name = ?", (f"audit-report-{audit}",)).fetchone()
    return row is not None


def wait_until(done, what: str, seconds: float = 300) -> None:
    deadline = time.time() + seconds
    while not done():
        if time.time() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def tree_ticks(root: int) -> int:
    """CPU ticks used so far by `root` and its descendants (gunicorn, its workers, their renderers)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid], ticks[pid] = int(fields[1]), int(fields[11]) + int(fields[12])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += ticks.get(pid, 0)
        todo += [child for child, parent in parents.items() if parent == pid]
    return total


def wait_quiet(root: int, window: float = 1.5, seconds: float = 300) -> None:
    """Until the server's processes use (almost) no CPU for `window` s: no render left from the last cycle."""
    deadline = time.time() + seconds
    before = tree_ticks(root)
    while time.time() < deadline:
        time.sleep(window)
        now = tree_ticks(root)
        if now - before <= 2:
            return
        before = now
    raise TimeoutError("the server stayed busy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--taps", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3, help="idle and busy tap rounds, alternating")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "AUDITAPP_INSTANCE_PATH": tmp, "AUDITAPP_SECRET_KEY": "bench"}
        env.pop("AUDITAPP_DATABASE_URL", None)
        done = subprocess.run([PYTHON, "-c", SEED], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
        seeded = json.loads(done.stdout.strip().splitlines()[-1])
        port = free_port()
        server = start_gunicorn(port, env)
        try:
            deadline = time.time() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.1)
            report = f"/audits/{seeded['report']}/report"
            client = Client(port)
            client.login("bench@example.com", "bench password 123")
            first_pdf_ms = timed(client, report + ".pdf")[0]  # starts a renderer, makes the print copies
            for _ in range(2):  # warm-up
                timed(client, report)
                forget_kept_pdfs(tmp)
                timed(client, report + ".pdf")
            html_ms, pdf_ms, kept_ms, html_bytes, pdf_bytes = [], [], [], 0, 0
            for _ in range(args.runs):
                ms, status, html_bytes = timed(client, report)
                assert status == 200, status
                html_ms.append(ms)
                forget_kept_pdfs(tmp)
                ms, status, pdf_bytes = timed(client, report + ".pdf")
                pdf_body = client.last
                assert status == 200, status
                pdf_ms.append(ms)
                ms, status, _ = timed(client, report + ".pdf")
                assert status == 200 and client.last == pdf_body, status
                kept_ms.append(ms)

            # The first download after a completion made through the app (prepared in the background).
            audit_id, cycle = seeded["report"], 0

            def recomplete() -> None:
                nonlocal cycle
                cycle += 1
                forget_kept_pdfs(tmp)
                form = {"reason": f"Bench cycle {cycle}"}
                status, _ = client.request("POST", f"/audits/{audit_id}/reopen", urlencode(form), csrf)
                assert status == 302, status
                form = {"conclusion": f"Effective, ten minor NCs (cycle {cycle}).", "confirm_unanswered": "on"}
                status, _ = client.request("POST", f"/audits/{audit_id}/complete", urlencode(form), csrf)
                assert status == 302, status

            csrf = {"X-CSRFToken": client.csrf}
            prepared_ms, prepared_html_ms, at_once_ms, at_once_html_ms = [], [], [], []
            for _ in range(args.runs):
                wait_quiet(server.pid)
                recomplete()
                wait_until(lambda: kept_report(tmp, audit_id), "the background preparation")
                prepared_html_ms.append(timed(client, report)[0])
                ms, status, _ = timed(client, report + ".pdf")
                assert status == 200 and client.last.startswith(b"%PDF"), status
                prepared_ms.append(ms)

                recomplete()
                ms, status, _ = timed(client, report + ".pdf")
                assert status == 200 and client.last.startswith(b"%PDF"), status
                at_once_ms.append(ms)
                at_once_html_ms.append(timed(client, report)[0])
                wait_quiet(server.pid)  # the preparation, if the download landed on the other worker, is done

            tap_items, revisions = seeded["tap_items"], {}

            def taps(n: int) -> list[float]:
                times = []
                for i in range(n):
                    item = tap_items[i % len(tap_items)]
                    base = revisions.get(item, 0)
                    start = time.perf_counter()
                    status, _ = client.request(
                        "POST",
                        f"/audits/{seeded['tap_audit']}/items/{item}/answer",
                        urlencode({"result": "conform" if base % 2 == 0 else "observation", "base_revision": base}),
                        {"HX-Request": "true", "X-CSRFToken": client.csrf, "X-Change-Id": str(uuid.uuid4())},
                    )
                    times.append((time.perf_counter() - start) * 1000)
                    assert status == 200, status
                    revisions[item] = base + 1
                return times

            pdf_statuses: list[int] = []

            def keep_rendering(stop: threading.Event) -> None:
                renderer = Client(port)
                renderer.login("bench@example.com", "bench password 123")
                while not stop.is_set():
                    forget_kept_pdfs(tmp)  # each request renders: the load this part measures
                    pdf_statuses.append(timed(renderer, report + ".pdf")[1])

            # Idle and busy taps alternate in rounds, so both sides see the same (shared) machine.
            idle, busy, round_ratios = [], [], []
            for _ in range(args.rounds):
                idle_round = taps(args.taps // args.rounds)
                stop = threading.Event()
                renderers = [threading.Thread(target=keep_rendering, args=(stop,)) for _ in range(2)]
                for thread in renderers:
                    thread.start()
                time.sleep(1.0)  # both PDFs are rendering before the taps start
                busy_round = taps(args.taps // args.rounds)
                stop.set()
                for thread in renderers:
                    thread.join()
                idle += idle_round
                busy += busy_round
                round_ratios.append(percentile(busy_round, 0.99) / percentile(idle_round, 0.99))
        finally:
            server.terminate()
            server.wait(timeout=30)

    html, pdf, kept = statistics.median(html_ms), statistics.median(pdf_ms), statistics.median(kept_ms)
    print(
        f"auditapp report PDF benchmark: gunicorn (deploy/gunicorn.conf.py), SQLite, loopback; "
        f"audit of {seeded['items']} items, 10 findings, {seeded['photos']} 12 MP photos; medians of {args.runs}"
    )
    print(f"{'measure':<44}{'value':>14}{'reference':>16}{'ratio':>9}")
    print(f"{'report PDF time (ref: same report as HTML)':<44}{pdf:>11.0f} ms{html:>13.1f} ms{pdf / html:>8.1f}x")
    print(
        f"{'kept report PDF time (ref: HTML)':<44}{kept:>11.1f} ms{html:>13.1f} ms{kept / html:>8.1f}x"
        "  (completed audit, downloaded again)"
    )
    # Against the same reference as the rows above (the HTML fetched in the cycles, right after a completion
    # or a render, was slower: its median is printed apart).
    cycle_html = statistics.median(prepared_html_ms + at_once_html_ms)
    for name, values, note in (
        ("first PDF download, prepared (ref: HTML)", prepared_ms, "completed, preparation done; goal <= 30x"),
        ("first PDF download at once (ref: HTML)", at_once_ms, "right after completing"),
    ):
        v = statistics.median(values)
        print(f"{name:<44}{v:>11.1f} ms{html:>13.1f} ms{v / html:>8.1f}x  ({note})")
    print(f"{'  (HTML report fetched in those cycles)':<44}{cycle_html:>11.1f} ms")
    print(
        f"{'first PDF after start (ref: HTML)':<44}{first_pdf_ms:>11.0f} ms{html:>13.1f} ms{first_pdf_ms / html:>8.1f}x"
        "  (renderer spawn, WeasyPrint import, photos' print copies made)"
    )
    print(f"{'report PDF bytes (ref: HTML bytes)':<44}{pdf_bytes:>14,}{html_bytes:>16,}{pdf_bytes / html_bytes:>8.1f}x")
    print(
        f"{'report PDF with 10 photos, bytes (goal < 2 MB)':<44}{pdf_bytes:>14,}{2_000_000:>16,}"
        f"{pdf_bytes / 2_000_000:>8.2f}x"
    )
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        b, i = percentile(busy, q), percentile(idle, q)
        print(f"{'answer ' + name + ' while 2 PDFs render (ref: idle)':<44}{b:>11.1f} ms{i:>13.1f} ms{b / i:>8.2f}x")
    ratios = ", ".join(f"{r:.2f}" for r in round_ratios)
    print(f"answer p99 busy/idle per round: {ratios}; median {statistics.median(round_ratios):.2f}x (goal <= 2)")
    # The Result column must be wide enough for its words: pypdf puts each printed line on a line of its own.
    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf_body)).pages)
    whole = len(re.findall(r"^.*\bConform$", text, re.M))
    print(f"rows whose Result reads 'Conform' on one line: {whole} of {seeded['items'] - seeded['photos']}")
    counted = {s: pdf_statuses.count(s) for s in sorted(set(pdf_statuses))}
    print(f"PDF requests during the taps: {', '.join(f'HTTP {s} x{n}' for s, n in counted.items())}")


if __name__ == "__main__":
    main()
