"""Drain an outbox of 200 queued changes (190 answers, 10 photos) against a local server, in real
Chromium, and compare with the same changes sent online one by one from the same page.

Both runs use the same endpoints, the same server (Werkzeug threaded, temporary SQLite) and a fresh
audit each; the outbox run adds what offline costs: IndexedDB reads and deletes, and one
acknowledgement per change. Loopback only; bounded.

    .venv/bin/python bench/sync.py
"""

import base64
import io
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import flask_migrate
from PIL import Image
from playwright.sync_api import sync_playwright

from auditapp import create_app
from auditapp.accounts import services as accounts
from auditapp.audits import services as audits
from auditapp.audits.models import Response
from auditapp.checklists import services as checklists
from auditapp.extensions import db
from auditapp.photos.models import Photo
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, LiveServer

PASSWORD = "bench password 123"
ANSWERS, PHOTOS = 190, 10


def photo_b64(n: int) -> str:
    """A phone-like 1600x1200 JPEG (noisy, so it does not compress to nothing)."""
    image = Image.effect_noise((1600, 1200), 40 + n).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return base64.b64encode(out.getvalue()).decode()


def changes_for(audit_id: int, item_ids: list[int]) -> list[dict]:
    """190 answers that each apply (the right base revision) and 10 photos, in a fixed order."""
    revisions, out = {}, []
    for n in range(ANSWERS):
        item = item_ids[n % len(item_ids)]
        base = revisions.get(item, 0)
        out.append(
            {
                "path": f"/audits/{audit_id}/items/{item}/answer",
                "fields": [["result", "conform" if base % 2 == 0 else "ofi"], ["base_revision", str(base)]],
            }
        )
        revisions[item] = base + 1
    for n in range(PHOTOS):
        out.append({"path": f"/audits/{audit_id}/photos", "fields": [["item_id", str(item_ids[n])]], "photo": n})
    return out


SEND_ONLINE = """async ([changes, photos]) => {
  const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
  const blobs = photos.map((b) => new Blob([Uint8Array.from(atob(b), (c) => c.charCodeAt(0))], {type: 'image/jpeg'}));
  const start = performance.now();
  for (const c of changes) {
    const body = new FormData();
    c.fields.forEach(([k, v]) => body.append(k, v));
    if (c.photo !== undefined) body.append('photo', blobs[c.photo], 'p.jpg');
    const r = await fetch(c.path, {method: 'POST', body, headers: {'X-CSRFToken': token, 'HX-Request': 'true',
                                   'X-Change-Id': crypto.randomUUID()}});
    if (!r.ok) throw new Error(c.path + ' ' + r.status);
  }
  return performance.now() - start;
}"""

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
}"""

DRAIN = """async () => {
  const start = performance.now();
  await window.auditappOutbox.flush();
  const left = (await window.auditappOutbox.all()).length;
  return [performance.now() - start, left];
}"""


def main():
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3",
                "SECRET_KEY": "bench",
                "INSTANCE_PATH": tmp,
                "PHOTO_DIR": f"{tmp}/photos",
                "CHECKLIST_DIR": str(Path(__file__).resolve().parent.parent / "checklists"),
                "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            }
        )
        with app.app_context():
            flask_migrate.upgrade()
            checklists.sync_directory(Path(app.config["CHECKLIST_DIR"]))
            lead = accounts.create_user(None, "lead@example.com", "Lead", "auditor", PASSWORD)
            planner = accounts.create_user(None, "plan@example.com", "Planner", "quality_lead", PASSWORD)
            db.session.commit()
            iso = checklists.get_checklist("iso9001-2015")
            runs = []
            for title in ("online", "outbox"):
                audit = audits.plan_audit(
                    planner, checklist_id=iso.id, title=title, planned_date=date.today(), lead_auditor_id=lead.id
                )
                db.session.commit()
                runs.append((audit.id, [i.id for i in audit.checklist_version.items]))
        photos = [photo_b64(n) for n in range(PHOTOS)]
        with LiveServer(app) as server, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"{server.url}/login")
            page.fill("#f-email", "lead@example.com")
            page.fill("#f-password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/audits/mine")
            online_ms = page.evaluate(SEND_ONLINE, [changes_for(*runs[0]), photos])
            page.evaluate(FILL_OUTBOX, [changes_for(*runs[1]), photos])
            outbox_ms, left = page.evaluate(DRAIN)
            browser.close()
        with app.app_context():
            counts = [
                (
                    db.session.scalar(db.select(db.func.count(Response.id)).filter_by(audit_id=a)),
                    db.session.scalar(db.select(db.func.count(Photo.id)).filter_by(audit_id=a)),
                )
                for a, _ in runs
            ]
            db.engine.dispose()
    total = ANSWERS + PHOTOS
    print(
        f"sync benchmark: {total} changes ({ANSWERS} answers, {PHOTOS} photos of ~1600x1200), Chromium, "
        "Werkzeug threaded server, SQLite, loopback"
    )
    print(f"{'run':<34}{'seconds':>9}{'changes/s':>11}")
    print(f"{'online, one by one (baseline)':<34}{online_ms / 1000:>9.2f}{total / (online_ms / 1000):>11.0f}")
    print(f"{'outbox drained after reconnect':<34}{outbox_ms / 1000:>9.2f}{total / (outbox_ms / 1000):>11.0f}")
    print(
        f"ratio outbox/online: {outbox_ms / online_ms:.2f}; left in the outbox: {left}; "
        f"stored (responses, photos) online={counts[0]} outbox={counts[1]}"
    )


if __name__ == "__main__":
    main()
