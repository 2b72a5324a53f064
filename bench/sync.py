"""Draining the offline outbox on an emulated phone: 200 queued changes (190 answers, 10 photos taken
between them) sent three ways in one run, on one link: this checkout's order (every change without a
photo first, then the photos: static/js/offline/logic.js sendingOrder), the old order (the reference
revision's outbox: batches in queue order), and one change per request (the reference's drainOneByOne:
the outbox before batching).

One run serves two temporary SQLite instances with gunicorn (deploy/gunicorn.conf.py through
bench/proxy.py's start_gunicorn), this checkout and the reference revision (a git worktree, as
bench/phone_load.py --reference does), each seeded by its own code (bench/answer.py's seed: the lead
auditor and planner, plus ISO 9001 audits of 94 items, one per drain), each behind its own
bench/phonelink.py shaping proxy (150 ms, 1.6 Mbit/s down, 750 kbit/s up; the page and its service
worker share the link), and drives Debian's Chromium in a phone-shaped context with 4x CPU on the page
(bench/phone_load.py's Phone). For each drain, in a fresh context on an audit of its own: log in, open
My audits, wait for the service worker, put the 200 changes into the IndexedDB outbox the way the page
keeps them (photos as JPEG blobs, by default at the size the outbox keeps them: long edge 2048 px,
quality 85, bench/photos.py's phone-like content; by default each photo right after the answer of its
item, spread over the morning: --photos-at end puts them last), then time window.auditappOutbox.flush()
(batched) or .drainOneByOne(), and poll the outbox every 100 ms for the moment no change without a
photo is left in it (the answers acknowledged). Printed per way, medians of --runs (the ways rotate
which goes first): seconds until the answers are acknowledged and until everything is, bytes up the
link (counted by the proxy) and the link's floor for them; the uplink floor of the photo bytes alone;
the ratios of this checkout's order to the old order and to one by one (same run, same link); what the
servers stored (every change applied exactly once). A shared machine: run it briefly.

    .venv/bin/python bench/sync.py [--runs 1] [--photo-edge 2048] [--photos 10] [--photos-at between|end]
                                   [--reference REV]

The photos dominate on this uplink: ten photos as the outbox keeps them (2048 px, ~870 KiB each with
this content) need ~95 s of the 750 kbit/s link whatever the outbox does; what the order changes is
when the answers are on the server.
"""

import argparse
import base64
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.answer import PYTHON, ROOT, SEED, free_port
from bench.phone_load import CPU_SLOWDOWN, DOWN_BPS, LATENCY_MS, UP_BPS, Phone, reference_checkout
from bench.phonelink import ShapedLink
from bench.photos import phone_jpeg
from bench.proxy import start_gunicorn, wait_for
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

CHANGES, PHOTOS = 200, 10  # PHOTOS: --photos; the rest of the 200 are answers
GOAL_SECONDS = 5.0
# The outbox before this checkout's order: main when the order changed (batches in queue order).
REFERENCE = "84c74b2"
# way -> (which server's code, the outbox function the page runs)
WAYS = {
    "one by one": ("reference", "drainOneByOne"),
    "old order": ("reference", "flush"),
    "new order": ("new", "flush"),
}
POLL_MS = 100
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
DRAIN = """async ([how, pollMs]) => {
  if (navigator.onLine) throw new Error('the page could start its own drain');
  const start = performance.now();
  const photoless = (entries) => entries.filter((e) => !e.fields.some((f) => f[1] instanceof Blob)).length;
  let answered = null, draining = true;
  const watch = (async () => {
    while (draining && answered === null) {
      if (photoless(await window.auditappOutbox.all()) === 0) answered = performance.now() - start;
      else await new Promise((ok) => setTimeout(ok, pollMs));
    }
  })();
  await window.auditappOutbox[how]();
  const took = performance.now() - start;
  draining = false;
  await watch;
  const server = performance.getEntriesByType('resource').filter((e) => e.startTime >= start)
    .flatMap((e) => e.serverTiming || []).filter((t) => t.name === 'outbox').reduce((sum, t) => sum + t.duration, 0);
  const left = await window.auditappOutbox.all();
  return [took, left.length, server, answered === null && photoless(left) === 0 ? took : answered];
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


def changes_for(audit_id: int, item_ids: list[int], photos: int, at: str = "between") -> list[dict]:
    """Answers that each apply (the right base revision) and the photos, 200 changes in a fixed order: by
    default the k-th photo right after the answer of its item, the photos spread evenly over the answers
    (a photo taken while walking round); at="end": all photos after the answers."""
    revisions, answers = {}, []
    for n in range(CHANGES - photos):
        item = item_ids[n % len(item_ids)]
        base = revisions.get(item, 0)
        result = "conform" if base % 2 == 0 else "ofi"
        answers.append(
            {
                "path": f"/audits/{audit_id}/items/{item}/answer",
                "fields": [["result", result], ["base_revision", str(base)]],
            }
        )
        revisions[item] = base + 1
    if at == "end":
        shots = [(len(answers), item_ids[n], n) for n in range(photos)]
    else:
        every = len(answers) // (photos + 1) if photos else 0
        shots = [((k + 1) * every, item_ids[((k + 1) * every - 1) % len(item_ids)], k) for k in range(photos)]
    out = []
    for n, answer in enumerate(answers + [None]):
        for after, item, k in shots:
            if after == n:
                out.append({"path": f"/audits/{audit_id}/photos", "fields": [["item_id", str(item)]], "photo": k})
        if answer:
            out.append(answer)
    assert len(out) == CHANGES
    return out


def run_script(env: dict, script: str, *args: str, root: Path = ROOT) -> dict | list:
    done = subprocess.run([PYTHON, "-c", script, *args], env=env, cwd=root, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def drain(browser, base: str, link: ShapedLink, how: str, changes: list[dict], photos: list[str]) -> dict:
    phone = Phone(browser)
    try:
        phone.log_in(base)
        phone.page.goto(f"{base}/audits/mine", wait_until="load")
        phone.page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")  # its shell is cached by then
        # The page's own senders (every 20 s while online, the online event) must not start the drain before
        # it is timed: the proxy reads ahead of the link, so bytes sent before the start would go uncounted.
        phone.page.evaluate("() => Object.defineProperty(navigator, 'onLine', { get: () => false })")
        queued = phone.page.evaluate(FILL_OUTBOX, [changes, photos])
        assert queued == CHANGES, queued
        time.sleep(1)  # anything the page start still sends has left the link
        up, down = link.up.bytes, link.down.bytes
        took, left, server, answered = phone.page.evaluate(DRAIN, [how, POLL_MS])
        return {
            "seconds": took / 1000,
            "answered": answered / 1000,
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
    parser.add_argument(
        "--photos-at", choices=["between", "end"], default="between", help="where the photos are queued"
    )
    parser.add_argument("--reference", default=REFERENCE, help="the git revision whose outbox is the old order")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    photos = photos_b64(args.photo_edge, args.photos)
    photo_bytes = sum(len(base64.b64decode(p)) for p in photos)
    results: dict[str, list[dict]] = {way: [] for way in WAYS}
    used: dict[str, list[int]] = {way: [] for way in WAYS}
    with tempfile.TemporaryDirectory() as folder, reference_checkout(args.reference) as ref:
        roots = {"new": ROOT, "reference": ref}
        envs, audits, servers, links = {}, {}, [], {}
        try:
            for n, (name, root) in enumerate(roots.items()):
                env = {**os.environ, "AUDITAPP_INSTANCE_PATH": str(Path(folder) / f"instance-{n}")}
                env |= {"AUDITAPP_SECRET_KEY": "bench", "AUDITAPP_ACCESS_LOG": "", "PYTHONPATH": str(root)}
                env.pop("AUDITAPP_DATABASE_URL", None)
                envs[name] = env
                run_script(env, SEED, root=root)
                ways = sum(1 for server, _ in WAYS.values() if server == name)
                audits[name] = iter(run_script(env, PLAN, str(ways * args.runs), root=root))
                port = free_port()
                servers.append(start_gunicorn(port, env, root=root))
                wait_for(lambda p=port: socket.create_connection(("127.0.0.1", p), 0.2).close() is None, "gunicorn")
                for _ in range(8):  # each worker process loads the app on its first requests, not in a run
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/login").read()
                links[name] = ShapedLink(port, LATENCY_MS, DOWN_BPS, UP_BPS)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                for n in range(args.runs):
                    ways = list(WAYS)
                    for way in ways[n % len(ways) :] + ways[: n % len(ways)]:
                        name, how = WAYS[way]
                        audit = next(audits[name])
                        used[way].append(audit["audit"])
                        changes = changes_for(audit["audit"], audit["items"], len(photos), args.photos_at)
                        link = links[name]
                        results[way].append(drain(browser, f"http://127.0.0.1:{link.port}", link, how, changes, photos))
                browser.close()
        finally:
            for link in links.values():
                link.close()
            for server in servers:
                server.terminate()
                server.wait(timeout=10)
        stored = {
            name: run_script(
                envs[name], STORED, *(str(a) for way in WAYS if WAYS[way][0] == name for a in used[way]), root=root
            )
            for name, root in roots.items()
        }
    report(results, used, stored, args, photo_bytes)


def report(results: dict, used: dict, stored: dict, args, photo_bytes: int) -> None:
    answers = CHANGES - args.photos

    def med(way: str, key: str) -> float:
        return statistics.median(r[key] for r in results[way])

    def ratio(way: str, reference: str, key: str) -> float:
        return statistics.median(a[key] / b[key] for a, b in zip(results[way], results[reference], strict=True))

    print(
        f"outbox drain on an emulated phone: {CHANGES} queued changes ({answers} answers, {args.photos} photos "
        f"of {args.photo_edge} px, {photo_bytes / max(args.photos, 1) / 1024:.0f} KiB each, queued "
        f"{'between the answers' if args.photos_at == 'between' else 'after the answers'}); {LATENCY_MS} ms, "
        f"{DOWN_BPS * 8 / 1e6:.1f} Mbit/s down, {UP_BPS * 8 / 1000:.0f} kbit/s up (bench/phonelink.py), "
        f"{CPU_SLOWDOWN}x CPU; gunicorn, SQLite; Chromium; medians of {args.runs} run(s); old order and one by "
        f"one: the outbox of {args.reference}, served by its own code"
    )
    print(
        f"{'way':<12}{'answers s':>11}{'all s':>9}{'server s':>10}{'KiB up':>9}{'link floor s':>14}{'x floor':>9}"
        f"{'left':>6}"
    )
    for way in WAYS:
        floor = med(way, "up") / UP_BPS + LATENCY_MS / 1000
        print(
            f"{way:<12}{med(way, 'answered'):>11.2f}{med(way, 'seconds'):>9.2f}{med(way, 'server'):>10.2f}"
            f"{med(way, 'up') / 1024:>9.0f}{floor:>14.2f}{med(way, 'seconds') / floor:>9.2f}{med(way, 'left'):>6.0f}"
        )
    photo_floor = photo_bytes / UP_BPS
    print(
        f"answers s: until no change without a photo is left on the phone (polled every {POLL_MS} ms); "
        f"all s: until the drain ends; server s: the server's own time in the batches (their Server-Timing; "
        f"0 one by one)"
    )
    print(f"uplink floor of the photo bytes alone: {photo_floor:.2f} s ({photo_bytes / 1024:.0f} KiB)")
    for reference in ("old order", "one by one"):
        print(
            f"new order / {reference}: answers {ratio('new order', reference, 'answered'):.3f}, "
            f"all {ratio('new order', reference, 'seconds'):.3f} (same run, same link)"
        )
    if photo_floor:
        print(f"new order: all / photo floor {med('new order', 'seconds') / photo_floor:.2f}")
    once = True
    for name, counts in stored.items():
        for way in WAYS:
            if WAYS[way][0] != name:
                continue
            for a in used[way]:
                items = len({c["path"] for c in changes_for(a, list(range(1, 95)), 0)})
                if counts[str(a)] != {
                    "answers applied": answers,
                    "items answered": min(items, 94),
                    "photos": args.photos,
                }:
                    once = False
        ways = sum(len(used[w]) for w in WAYS if WAYS[w][0] == name)
        once = once and counts["change ids"] == CHANGES * ways
    print(f"stored: {json.dumps(stored)}; every change applied exactly once: {'yes' if once else 'NO'}")
    answered = med("new order", "answered")
    print(
        f"goal: answers on the server <= {GOAL_SECONDS:.0f} s: {'met' if answered <= GOAL_SECONDS else 'NOT met'} "
        f"({answered:.2f} s); everything: {med('new order', 'seconds'):.2f} s against the photos' uplink floor "
        f"{photo_floor:.1f} s (the literal goal, all 200 in <= {GOAL_SECONDS:.0f} s, is below that floor)"
    )


if __name__ == "__main__":
    main()
