"""Draining the offline outbox on an emulated phone: 200 queued changes (190 answers, 10 photos) sent in
batches (as shipped) and one change per request (the outbox before batching), same run, same link.

One run seeds a temporary SQLite instance (bench/answer.py's seed: the lead auditor and planner, plus
ISO 9001 audits of 94 items, one per drain), serves it with gunicorn (deploy/gunicorn.conf.py through
bench/proxy.py's start_gunicorn) behind bench/phonelink.py's shaping proxy (150 ms, 1.6 Mbit/s down,
750 kbit/s up; the page and its service worker share the link), and drives Debian's Chromium in a
phone-shaped context with 4x CPU on the page (bench/phone_load.py's Phone). For each drain, in a fresh
context on an audit of its own: log in, open My audits, wait for the service worker, put the 200 changes
into the IndexedDB outbox the way the page keeps them (photos as JPEG blobs, by default at the size the
outbox keeps them: long edge 2048 px, quality 85, bench/photos.py's phone-like content), then time
window.auditappOutbox.flush() (batched) or .drainOneByOne() (each change alone, acknowledged before the
next). Printed per way, medians of --runs (the two ways alternate which goes first): seconds, bytes up
the link (counted by the proxy) and the link's floor for them (computed: bytes / uplink rate + one round
trip); then the ratio batched/one-by-one, the server's part of the batched drain (the batches'
Server-Timing), what the server stored (every change applied exactly once),
and the goal (batched <= 5 s). A shared machine: run it briefly.

    .venv/bin/python bench/sync.py [--runs 1] [--photo-edge 2048] [--photos 10]

The photos dominate on this uplink: ten photos as the outbox keeps them (2048 px, ~870 KiB each with
this content) need ~95 s of the 750 kbit/s link whatever the outbox does; --photo-edge 640 or
--photos 0 show the part that batching removes (one round trip and one request per change).
"""

import argparse
import base64
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.answer import PYTHON, ROOT, SEED
from bench.phone_load import CPU_SLOWDOWN, DOWN_BPS, LATENCY_MS, UP_BPS, Phone
from bench.phonelink import ShapedLink
from bench.photos import phone_jpeg
from bench.proxy import start_warm_gunicorn
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

CHANGES, PHOTOS = 200, 10  # PHOTOS: --photos; the rest of the 200 are answers
GOAL_SECONDS = 5.0
WAYS = {"one by one": "drainOneByOne", "batched": "flush"}
# Audits planned for tomorrow: today's audits are fetched for offline use at every page start, which
# would share the link with the drain.
PLAN = r"""
import json, sys
from datetime import date, timedelta
from auditapp import create_app
from auditapp.accounts import services as accounts
from auditapp.audits import services as audits
from auditapp.checklists import services as checklists
from auditapp.extensions import db
app = create_app()
with app.app_context():
    out = []
    for n in range(int(sys.argv[1])):
        audit = audits.plan_audit(accounts.find_user("plan@example.com"),
                                  checklist_id=checklists.get_checklist("iso9001-2015").id, title=f"Sync {n}",
                                  planned_date=date.today() + timedelta(days=1),
                                  lead_auditor_id=accounts.find_user("bench@example.com").id)
        db.session.commit()
        out.append({"audit": audit.id, "items": [i.id for i in audit.checklist_version.items]})
    print(json.dumps(out))
"""
STORED = r"""
import json, sys
from auditapp import create_app
from auditapp.audits.models import Response
from auditapp.core.changes import AppliedChange
from auditapp.events.models import Event
from auditapp.extensions import db
from auditapp.photos.models import Photo
app = create_app()
with app.app_context():
    count = lambda model, *where: db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))
    print(json.dumps({a: {"answers applied": count(Event, Event.audit_id == a, Event.action == "answered"),
                          "items answered": count(Response, Response.audit_id == a),
                          "photos": count(Photo, Photo.audit_id == a)} for a in map(int, sys.argv[1:])}
                     | {"change ids": count(AppliedChange)}))
"""
FILL_OUTBOX = """async ([changes, photos]) => {
  const blobs = photos.map((b) => new Blob([Uint8Array.from(atob(b), (c) => c.charCodeAt(0))], {type: 'image/jpeg'}));
  const db = await new Promise((ok, no) => { const r = indexedDB.open('auditapp', 1);
    r.onupgradeneeded = () => r.result.createObjectStore('outbox', {keyPath: 'seq', autoIncrement: true});
    r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  await new Promise((ok) => { const t = db.transaction('outbox', 'readwrite');
    for (const c of changes) {
      const fields = c.fields.slice();
      if (c.photo !== undefined) fields.push(['photo', new File([blobs[c.photo]], 'p.jpg', {type: 'image/jpeg'})]);
      t.objectStore('outbox').add({path: c.path, changeId: crypto.randomUUID(), queuedAt: new Date().toISOString(),
                                   fields, problem: null});
    }
    t.oncomplete = ok; });
  db.close();
  return (await window.auditappOutbox.all()).length;
}"""
DRAIN = """async (how) => {
  const start = performance.now();
  await window.auditappOutbox[how]();
  const took = performance.now() - start;
  const server = performance.getEntriesByType('resource').filter((e) => e.startTime >= start)
    .flatMap((e) => e.serverTiming || []).filter((t) => t.name === 'outbox').reduce((sum, t) => sum + t.duration, 0);
  return [took, (await window.auditappOutbox.all()).length, server];
}"""


def photos_b64(edge: int, count: int) -> list[str]:
    """`count` different phone-like JPEGs at the size the outbox keeps them (as keep.js: long edge, q 0.85)."""
    source = Image.open(io.BytesIO(phone_jpeg()))
    source.draft("RGB", (edge, edge))
    source = source.convert("RGB")
    source.thumbnail((edge, edge))
    out = []
    for n in range(count):
        image = source.copy()
        ImageDraw.Draw(image).rectangle((20 * n, 20 * n, 20 * n + 60, 20 * n + 60), fill=(25 * n, 255 - 25 * n, 90))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        out.append(base64.b64encode(buffer.getvalue()).decode())
    return out


def changes_for(audit_id: int, item_ids: list[int], photos: int) -> list[dict]:
    """Answers that each apply (the right base revision), then the photos: 200 changes in a fixed order."""
    revisions, out = {}, []
    for n in range(CHANGES - photos):
        item = item_ids[n % len(item_ids)]
        base = revisions.get(item, 0)
        result = "conform" if base % 2 == 0 else "ofi"
        out.append(
            {
                "path": f"/audits/{audit_id}/items/{item}/answer",
                "fields": [["result", result], ["base_revision", str(base)]],
            }
        )
        revisions[item] = base + 1
    for n in range(photos):
        out.append({"path": f"/audits/{audit_id}/photos", "fields": [["item_id", str(item_ids[n])]], "photo": n})
    return out


def run_script(env: dict, script: str, *args: str) -> dict | list:
    done = subprocess.run([PYTHON, "-c", script, *args], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def drain(browser, base: str, link: ShapedLink, how: str, audit: dict, photos: list[str]) -> dict:
    phone = Phone(browser)
    try:
        phone.log_in(base)
        phone.page.goto(f"{base}/audits/mine", wait_until="load")
        phone.page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")  # its shell is cached by then
        queued = phone.page.evaluate(FILL_OUTBOX, [changes_for(audit["audit"], audit["items"], len(photos)), photos])
        assert queued == CHANGES, queued
        time.sleep(1)  # anything the page start still sends has left the link
        up, down = link.up.bytes, link.down.bytes
        took, left, server = phone.page.evaluate(DRAIN, how)
        return {
            "seconds": took / 1000,
            "left": left,
            "up": link.up.bytes - up,
            "down": link.down.bytes - down,
            "server": server / 1000,
        }
    finally:
        phone.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--photo-edge", type=int, default=2048, help="long edge of the queued photos, px")
    parser.add_argument("--photos", type=int, default=PHOTOS, help="how many of the 200 changes are photos")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    photos = photos_b64(args.photo_edge, args.photos)
    photo_bytes = sum(len(base64.b64decode(p)) for p in photos)
    results: dict[str, list[dict]] = {way: [] for way in WAYS}
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "AUDITAPP_INSTANCE_PATH": str(Path(folder) / "instance"), "AUDITAPP_SECRET_KEY": "bench"}
        env.pop("AUDITAPP_DATABASE_URL", None)
        env["AUDITAPP_ACCESS_LOG"] = ""
        run_script(env, SEED)
        audits = run_script(env, PLAN, str(len(WAYS) * args.runs))
        server, port = start_warm_gunicorn(env)
        link = None
        try:
            link = ShapedLink(port, LATENCY_MS, DOWN_BPS, UP_BPS)
            base = f"http://127.0.0.1:{link.port}"
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                planned = iter(audits)
                used = {way: [] for way in WAYS}
                for n in range(args.runs):
                    for way in list(WAYS)[:: 1 if n % 2 == 0 else -1]:
                        audit = next(planned)
                        used[way].append(audit["audit"])
                        results[way].append(drain(browser, base, link, WAYS[way], audit, photos))
                browser.close()
        finally:
            if link:
                link.close()
            server.terminate()
            server.wait(timeout=10)
        stored = run_script(env, STORED, *(str(a["audit"]) for a in audits))
    report(results, used, stored, args, photo_bytes)


def report(results: dict, used: dict, stored: dict, args, photo_bytes: int) -> None:
    answers = CHANGES - args.photos

    def med(way: str, key: str) -> float:
        return statistics.median(r[key] for r in results[way])

    print(
        f"outbox drain on an emulated phone: {CHANGES} queued changes ({answers} answers, {args.photos} photos "
        f"of {args.photo_edge} px, {photo_bytes / max(args.photos, 1) / 1024:.0f} KiB each); {LATENCY_MS} ms, "
        f"{DOWN_BPS * 8 / 1e6:.1f} Mbit/s down, {UP_BPS * 8 / 1000:.0f} kbit/s up (bench/phonelink.py), "
        f"{CPU_SLOWDOWN}x CPU; gunicorn, SQLite; Chromium; medians of {args.runs} run(s)"
    )
    print(f"{'way':<14}{'seconds':>9}{'KiB up':>9}{'link floor s':>14}{'x floor':>9}{'left':>6}")
    for way in WAYS:
        floor = med(way, "up") / UP_BPS + LATENCY_MS / 1000
        print(
            f"{way:<14}{med(way, 'seconds'):>9.2f}{med(way, 'up') / 1024:>9.0f}{floor:>14.2f}"
            f"{med(way, 'seconds') / floor:>9.2f}{med(way, 'left'):>6.0f}"
        )
    ratio = statistics.median(
        b["seconds"] / o["seconds"] for b, o in zip(results["batched"], results["one by one"], strict=True)
    )
    batched = med("batched", "seconds")
    print(f"ratio batched/one-by-one: {ratio:.3f} (same run, same link)")
    print(
        f"batched: the server took {med('batched', 'server'):.2f} s of it (Server-Timing of the batches); "
        f"the rest is the link and the page"
    )
    once = all(
        stored[str(a)] == {"answers applied": answers, "items answered": 94, "photos": args.photos}
        for audits in used.values()
        for a in audits
    ) and stored["change ids"] == CHANGES * sum(len(a) for a in used.values())
    print(f"stored: {json.dumps(stored)}; every change applied exactly once: {'yes' if once else 'NO'}")
    print(
        f"goal: batched drain <= {GOAL_SECONDS:.0f} s: {'met' if batched <= GOAL_SECONDS else 'NOT met'} "
        f"({batched:.2f} s; the photos alone need {photo_bytes / UP_BPS:.1f} s of uplink)"
    )


if __name__ == "__main__":
    main()
