"""Offline on the shop floor, in real Chromium with its service worker: nothing lost, nothing doubled."""

import pytest

from auditapp.audits.models import Response
from auditapp.events.models import Event
from auditapp.extensions import db

from .support.accounts import PASSWORD, log_in
from .support.audits import items_of
from .support.browser import controlled, eventually, fits_screen, log_in_page, phone_context, screenshot
from .support.offline import answer_offline_reload_and_sync, answers_of

pytestmark = pytest.mark.browser


@pytest.fixture
def offline_phone(browser):
    context = phone_context(browser, 412, 839)
    page = context.new_page()
    yield context, page
    context.close()


def test_answers_made_offline_survive_a_reload_and_sync_once(app, live_server, offline_phone, plan, make_user):
    context, page = offline_phone
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    answer_offline_reload_and_sync(context, page, live_server.url, audit)


def test_logout_is_refused_while_changes_wait(app, live_server, offline_phone, plan, make_user):
    context, page = offline_phone
    lead = make_user("auditor")
    audit = plan(lead=lead)
    item = items_of(audit)["8.5.2-traceability"]
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    controlled(page)
    context.set_offline(True)
    page.tap(f"#item-{item.id} button[value=conform]")
    page.wait_for_selector(f"#item-{item.id}.queued")
    messages = []
    page.on("dialog", lambda d: (messages.append(d.message), d.dismiss()))
    page.tap(".logout button")
    for _ in range(100):  # the refusal may come once the outbox is read: waited for, not a fixed 300 ms
        if messages:
            break
        page.wait_for_timeout(100)
    assert messages and "still waiting on this device" in messages[0]
    assert page.url.endswith(f"/audits/{audit.id}")


def test_manifest_and_service_worker_are_served_for_installing(client):
    manifest = client.get("/manifest.webmanifest")
    assert manifest.status_code == 200 and manifest.json["display"] == "standalone"
    assert manifest.json["start_url"] == "/audits/mine"
    assert {i["sizes"] for i in manifest.json["icons"]} == {"192x192", "512x512"}
    sw = client.get("/sw.js")
    assert sw.status_code == 200 and sw.mimetype == "text/javascript"
    assert sw.headers["Cache-Control"] == "no-cache" and sw.headers["Service-Worker-Allowed"] == "/"
    assert b'const SHELL_CACHE = "shell-' in sw.data


def _badge(page):
    return page.evaluate(
        "() => document.getElementById('sync-badge').hidden ? 0 : "
        "Number(document.querySelector('#sync-badge [data-count]').textContent)"
    )


def _offline_answers(context, page, live_server, audit, items, keys, result="conform"):
    page.goto(f"{live_server.url}/audits/{audit.id}")
    controlled(page)
    context.set_offline(True)
    for key in keys:
        page.tap(f"#item-{items[key].id} button[value={result}]")
        page.wait_for_selector(f"#item-{items[key].id}.queued")


def test_a_conflict_is_shown_with_both_values_and_resolved_by_the_auditor(
    app, live_server, offline_phone, plan, make_user
):
    context, page = offline_phone
    lead, member = make_user("auditor"), make_user("auditor", name="Mo Member")
    audit = plan(lead=lead, team=[member])
    items = items_of(audit)
    item = items["8.7-segregation"]
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    _offline_answers(context, page, live_server, audit, items, ["8.7-segregation"])
    other = app.test_client()  # meanwhile, online, another auditor answers the same item
    log_in(other, member)
    assert (
        other.post(
            f"/audits/{audit.id}/items/{item.id}/answer",
            data={"result": "major_nc", "base_revision": 0},
            headers={"HX-Request": "true"},
        ).status_code
        == 200
    )
    context.set_offline(False)
    page.evaluate("() => window.auditappOutbox.flush()")
    problem = page.wait_for_selector(f"#item-{item.id} .sync-problem", timeout=20000)
    text = problem.inner_text()
    assert "Mo Member changed this item meanwhile" in text and "Major NC" in text and "Conform" in text
    assert page.get_attribute(f"#item-{item.id} button[value=major_nc]", "aria-pressed") == "true"  # theirs shown
    assert answers_of(audit)["8.7-segregation"][0] == "major_nc"  # nothing overwritten silently
    page.tap(f"#item-{item.id} button[value=conform]")  # the auditor decides: mine, knowingly
    page.wait_for_function(
        f"() => document.querySelector('#item-{item.id} button[value=conform]').getAttribute('aria-pressed') === 'true'"
    )
    page.wait_for_function("() => document.getElementById('sync-badge').hidden === true")
    assert answers_of(audit)["8.7-segregation"][0] == "conform"


def test_flapping_network_and_a_server_restart_lose_and_double_nothing(
    app, live_server, offline_phone, plan, make_user
):
    context, page = offline_phone
    lead = make_user("auditor")
    audit = plan(lead=lead)
    items = items_of(audit)
    keys = list(items)
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    _offline_answers(context, page, live_server, audit, items, keys)
    for key in keys:  # and change every one again, still offline: 10 changes in order
        page.tap(f"#item-{items[key].id} button[value=ofi]")
    page.wait_for_function("() => document.querySelector('#sync-badge [data-count]').textContent === '10'")
    for _ in range(3):  # the network comes and goes while the outbox drains
        context.set_offline(False)
        page.evaluate("() => { window.dispatchEvent(new Event('online')); }")
        page.wait_for_timeout(40)
        context.set_offline(True)
        page.wait_for_timeout(40)
    live_server.restart()  # and the server restarts in the middle of it
    context.set_offline(False)
    page.evaluate("() => window.auditappOutbox.flush()")
    page.wait_for_function("() => document.getElementById('sync-badge').hidden === true", timeout=20000)
    assert {k: v[0] for k, v in answers_of(audit).items()} == dict.fromkeys(keys, "ofi")
    answered = db.session.scalar(
        db.select(db.func.count(Event.id)).filter_by(entity_type="response", action="answered")
    )
    assert answered == 10


def test_a_batch_whose_answer_is_lost_is_sent_again_and_applied_once(app, live_server, offline_phone, plan, make_user):
    context, page = offline_phone
    lead = make_user("auditor")
    audit = plan(lead=lead)
    items = items_of(audit)
    keys = list(items)
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    _offline_answers(context, page, live_server, audit, items, keys)
    applied = []

    def lose_the_answer(route):
        applied.append(route.fetch().status)  # the server applies the batch...
        route.abort("connectionreset")  # ...and the connection drops before its answer arrives

    page.route("**/outbox/batch", lose_the_answer)
    context.set_offline(False)
    page.evaluate("() => window.auditappOutbox.flush()")
    assert applied and applied[0] == 200 and _badge(page) == len(keys)  # not acknowledged: all still kept
    assert {k: v[0] for k, v in answers_of(audit).items()} == dict.fromkeys(keys, "conform")
    page.unroute("**/outbox/batch")
    page.evaluate("() => window.auditappOutbox.flush()")
    page.wait_for_function("() => document.getElementById('sync-badge').hidden === true", timeout=20000)
    answered = db.session.scalar(
        db.select(db.func.count(Event.id)).filter_by(entity_type="response", action="answered")
    )
    assert answered == len(keys)


def test_a_new_service_worker_version_keeps_the_waiting_changes(app, live_server, offline_phone, plan, make_user):
    context, page = offline_phone
    lead = make_user("auditor")
    audit = plan(lead=lead)
    items = items_of(audit)
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    _offline_answers(context, page, live_server, audit, items, ["8.5.2-traceability", "8.7-segregation"])
    old_shell = [k for k in page.evaluate("() => caches.keys()") if k.startswith("shell-")]
    app.config["RELEASE"] = "next-release"  # a new version is deployed while changes wait
    for blocked in ("**/answer", "**/outbox/batch"):  # the changes cannot get through yet, in a batch or alone
        page.route(blocked, lambda route: route.abort())
    context.set_offline(False)
    page.evaluate("() => navigator.serviceWorker.getRegistration().then((r) => r.update())")
    eventually(
        page,
        f"() => caches.keys().then((keys) => keys.some((k) => k.startsWith('shell-') "
        f"&& k !== {old_shell[0]!r}) && !keys.includes({old_shell[0]!r}))",
    )
    assert _badge(page) == 2
    page.unroute("**/answer")
    page.unroute("**/outbox/batch")
    page.evaluate("() => window.auditappOutbox.flush()")
    page.wait_for_function("() => document.getElementById('sync-badge').hidden === true", timeout=20000)
    assert {k: v[0] for k, v in answers_of(audit).items()} == {
        "8.5.2-traceability": "conform",
        "8.7-segregation": "conform",
    }


def test_ten_answers_two_findings_two_photos_offline_arrive_once(
    app, live_server, offline_phone, make_user, shipped_checklists
):
    """Issue scenario 1 on the shipped floor-walk checklist: everything made offline arrives, once."""
    from datetime import date
    from io import BytesIO

    from PIL import Image

    from auditapp.audits import services as audits
    from auditapp.checklists import services as checklists
    from auditapp.findings.models import Finding
    from auditapp.photos.models import Photo

    checklists.sync_directory(shipped_checklists)
    walk = checklists.get_checklist("production-floor-walk")
    lead = make_user("auditor")
    audit = audits.plan_audit(
        make_user("quality_lead"),
        checklist_id=walk.id,
        title="Floor walk",
        planned_date=date.today(),
        lead_auditor_id=lead.id,
    )
    db.session.commit()
    items = list(audit.checklist_version.items)
    context, page = offline_phone
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    controlled(page)
    page.tap("[data-offline-urls]")
    page.wait_for_selector("[data-offline-urls][data-ready=true]")
    context.set_offline(True)

    for item in items[:8]:
        page.tap(f"#item-{item.id} button[value=conform]")
        page.wait_for_selector(f"#item-{item.id}.queued")
    findings = items[8:10]
    for n, item in enumerate(findings):
        page.tap(f"#item-{item.id} button[value=minor_nc]")
        page.wait_for_selector(f"#item-{item.id} .finding-form", state="visible")  # opens offline too
        page.fill(f"#statement-{item.id}", f"Offline finding {n}")
        page.fill(f"#evidence-{item.id}", f"Seen at station {n}")
        page.tap(f"#item-{item.id} .finding-form button[type=submit]")
        out = BytesIO()
        Image.new("RGB", (4000, 3000), (n * 90, 40, 40)).save(out, "JPEG")  # a 12 MP phone photo
        page.set_input_files(
            f"#item-{item.id} input[type=file]",
            files=[{"name": f"p{n}.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}],
        )
        page.wait_for_selector(f"#item-{item.id} img.queued-photo")
    page.wait_for_function("() => document.querySelector('#sync-badge [data-count]').textContent === '14'")
    sizes = page.evaluate("""() => window.auditappOutbox.all().then((entries) => Promise.all(entries
        .flatMap((e) => e.fields).filter((f) => f[1] instanceof Blob)
        .map((f) => createImageBitmap(f[1]).then((b) => [b.width, b.height, f[1].type]))))""")
    assert sizes == [[2048, 1536, "image/jpeg"]] * 2  # downscaled on the device before queueing

    page.reload()  # offline: all of it is still on the screen
    for item in findings:
        page.wait_for_selector(f"#item-{item.id} img.queued-photo")
        assert page.get_attribute(f"#item-{item.id} button[value=minor_nc]", "aria-pressed") == "true"
    assert db.session.scalar(db.select(db.func.count(Response.id)).filter_by(audit_id=audit.id)) == 0

    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    context.set_offline(False)
    page.evaluate("() => window.auditappOutbox.flush()")
    page.wait_for_function("() => document.getElementById('sync-badge').hidden === true", timeout=30000)
    page.evaluate("() => window.auditappOutbox.flush()")  # a second sender: nothing left, nothing doubled
    # The 14 changes went in one batch (a flush that started first may have sent part of them).
    assert 1 <= len(posts) <= 2 and all(url.endswith("/outbox/batch") for url in posts), posts
    db.session.expire_all()
    results = [r.result for r in db.session.scalars(db.select(Response).filter_by(audit_id=audit.id))]
    assert sorted(results) == ["conform"] * 8 + ["minor_nc"] * 2
    statements = sorted(f.statement for f in db.session.scalars(db.select(Finding).filter_by(audit_id=audit.id)))
    assert statements == ["Offline finding 0", "Offline finding 1"]
    photos = db.session.scalars(db.select(Photo).filter_by(audit_id=audit.id)).all()
    assert len(photos) == 2 and all(p.finding_id for p in photos)
    screenshot(page, "offline-synced")


def test_online_the_worker_answers_a_page_with_its_navigation_preload(app, live_server, offline_phone, plan, make_user):
    """The page is asked for while the worker starts (navigation preload), not after: the server sees
    the preload's header on the navigation, and the page is the audit, kept for offline use as before."""
    context, page = offline_phone
    lead = make_user("auditor")
    audit = plan(lead=lead)
    seen = []
    wsgi = app.wsgi_app

    def record(environ, start_response):
        seen.append((environ["PATH_INFO"], environ.get("HTTP_SERVICE_WORKER_NAVIGATION_PRELOAD")))
        return wsgi(environ, start_response)

    app.wsgi_app = record
    try:
        log_in_page(page, live_server.url, lead.email, PASSWORD)
        page.goto(f"{live_server.url}/audits/{audit.id}")
        controlled(page)
        assert page.evaluate("() => navigator.serviceWorker.ready.then((r) => r.navigationPreload.getState())") == {
            "enabled": True,
            "headerValue": "true",
        }
        seen.clear()
        page.reload()
        page.wait_for_selector("[data-checklist=tools] [data-next-unanswered]")
        assert (f"/audits/{audit.id}", "true") in seen
        context.set_offline(True)
        page.reload()  # the copy the worker kept from the preload's answer
        assert page.locator(f"#item-{items_of(audit)['8.5.2-traceability'].id}").count() == 1
    finally:
        context.set_offline(False)
        app.wsgi_app = wsgi


STAGES = """() => {
  window.seenStages = [];
  const badge = document.getElementById('sync-badge');
  new MutationObserver(() => {
    const stage = badge.querySelector('[data-stage]'), text = stage ? stage.textContent : '';
    if (window.seenStages[window.seenStages.length - 1] !== text) window.seenStages.push(text);
  }).observe(badge, { subtree: true, childList: true, characterData: true });
}"""


def test_answers_queued_between_photos_reach_the_server_before_the_photos(
    app, live_server, offline_phone, plan, make_user
):
    """The outbox sends every change without a photo first (static/js/offline/logic.js sendingOrder), the
    photos after, each change applied once, and the badge says the two stages."""
    from io import BytesIO

    from PIL import Image

    from auditapp.photos.models import Photo

    context, page = offline_phone
    lead = make_user("auditor")
    audit = plan(lead=lead)
    items = items_of(audit)
    first, second, third = (items[k] for k in ("8.5.2-traceability", "8.5.4-storage", "8.7-segregation"))
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    controlled(page)
    context.set_offline(True)

    def photo_on(item, n):
        out = BytesIO()
        Image.new("RGB", (4000, 3000), (n * 90, 60, 40)).save(out, "JPEG")
        page.set_input_files(
            f"#item-{item.id} input[type=file]",
            files=[{"name": f"shot{n}.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}],
        )
        page.wait_for_selector(f"#item-{item.id} img.queued-photo")

    page.tap(f"#item-{first.id} button[value=conform]")  # answer, photo, answer, photo, answer, note
    page.wait_for_selector(f"#item-{first.id}.queued")
    photo_on(first, 0)
    page.tap(f"#item-{second.id} button[value=conform]")
    page.wait_for_function("() => document.querySelector('#sync-badge [data-count]').textContent === '3'")
    photo_on(second, 1)
    page.tap(f"#item-{third.id} button[value=ofi]")
    page.wait_for_function("() => document.querySelector('#sync-badge [data-count]').textContent === '5'")
    page.locator(f"#note-{first.id}").fill("Labels checked after the photo")
    page.wait_for_function("() => document.querySelector('#sync-badge [data-count]').textContent === '6'")
    # Offline the badge says how much of what waits is photos.
    assert "2 photos (" in page.inner_text("#sync-badge")
    longest = " · Answers sent · 10 photos uploading (18.5 MB left), 12 changes after them"
    shown = page.evaluate("() => document.querySelector('#sync-badge [data-stage]').textContent")
    page.evaluate(f"() => {{ document.querySelector('#sync-badge [data-stage]').textContent = {longest!r}; }}")
    for width in (1280, 1024, 768, 360):
        page.set_viewport_size({"width": width, "height": 800})
        assert fits_screen(page), width
    screenshot(page, "outbox-stage-badge-360")
    page.set_viewport_size({"width": 412, "height": 839})
    page.evaluate(f"() => {{ document.querySelector('#sync-badge [data-stage]').textContent = {shown!r}; }}")

    page.evaluate(STAGES)
    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    page.wait_for_function("() => document.getElementById('sync-badge').hidden === true", timeout=30000)
    page.evaluate("() => window.auditappOutbox.flush()")  # a second sender: nothing left, nothing doubled

    stages = page.evaluate("() => window.seenStages")
    sending = next(n for n, s in enumerate(stages) if s.startswith(" · Sending answers first, then 2 photos ("))
    uploading = next(n for n, s in enumerate(stages) if s.startswith(" · Answers sent · 2 photos uploading ("))
    assert sending < uploading, stages

    db.session.expire_all()
    assert answers_of(audit) == {
        "8.5.2-traceability": ("conform", "Labels checked after the photo"),
        "8.5.4-storage": ("conform", ""),
        "8.7-segregation": ("ofi", ""),
    }
    log = db.session.scalars(db.select(Event).filter_by(audit_id=audit.id).order_by(Event.id)).all()
    kinds = [(e.entity_type, e.action) for e in log if e.entity_type in ("response", "photo")]
    photos_at = [n for n, k in enumerate(kinds) if k == ("photo", "added")]
    # Each change applied once; the photos, queued between the answers, arrived after all of them.
    assert kinds.count(("response", "answered")) == 3 and len(photos_at) == 2, kinds
    assert photos_at == [len(kinds) - 2, len(kinds) - 1], kinds
    photos = db.session.scalars(db.select(Photo).filter_by(audit_id=audit.id)).all()
    assert sorted(p.item_id for p in photos) == sorted([first.id, second.id])
    page.wait_for_selector(f"#item-{second.id} [data-photo-strip] img:not(.queued-photo)", timeout=10000)
