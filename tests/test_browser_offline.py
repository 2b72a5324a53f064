"""Offline on the shop floor, in real Chromium with its service worker: nothing lost, nothing doubled."""
import pytest

from auditapp.audits.models import Response
from auditapp.events.models import Event
from auditapp.extensions import db

from .audit_support import items_of
from .browser_support import log_in, screenshot
from .conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def offline_phone(browser):
    context = browser.new_context(viewport={"width": 412, "height": 839}, is_mobile=True, has_touch=True)
    page = context.new_page()
    yield context, page
    context.close()


def _controlled(page):
    """Wait until the service worker is active and controls the page (a first visit needs a reload)."""
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("() => navigator.serviceWorker.controller !== null"):
        page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def _answers(audit):
    db.session.expire_all()
    return {r.item.key: (r.result, r.note) for r in db.session.scalars(db.select(Response).filter_by(audit_id=audit.id))}


def test_answers_made_offline_survive_a_reload_and_sync_once(app, live_server, offline_phone, plan, make_user):
    context, page = offline_phone
    lead = make_user("auditor")
    audit = plan(lead=lead)
    items = items_of(audit)
    log_in(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    _controlled(page)
    page.tap("[data-offline-urls]")
    page.wait_for_selector("[data-offline-urls][data-ready=true]")
    assert "Available offline" in page.inner_text(".offline-status")

    context.set_offline(True)
    keys = ["8.5.2-traceability", "8.5.4-storage", "8.7-segregation"]
    for key in keys:
        page.tap(f"#item-{items[key].id} button[value=conform]")
        page.wait_for_selector(f"#item-{items[key].id}.queued")
    page.tap(f"#item-{items['8.7-segregation'].id} button[value=observation]")  # changed again, offline
    page.wait_for_function("() => document.querySelector('#sync-badge [data-count]').textContent === '4'")
    note = page.locator(f"#note-{items['8.5.4-storage'].id}")
    note.fill("Pallets off the floor")
    page.wait_for_function("() => document.querySelector('#sync-badge [data-count]').textContent === '5'")
    assert "Saved on this device" in page.inner_text(f"#item-{items['8.5.4-storage'].id}")
    assert _answers(audit) == {}  # nothing reached the server

    page.reload()  # still offline: the service worker serves the page, the outbox replays onto it
    page.wait_for_selector(f"#item-{items['8.7-segregation'].id}.queued")
    pressed = page.get_attribute(f"#item-{items['8.7-segregation'].id} button[value=observation]", "aria-pressed")
    assert pressed == "true"
    assert page.input_value(f"#note-{items['8.5.4-storage'].id}") == "Pallets off the floor"
    screenshot(page, "offline-audit-reloaded")

    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    page.wait_for_function("() => document.getElementById('sync-badge').hidden === true", timeout=20000)
    assert _answers(audit) == {
        "8.5.2-traceability": ("conform", ""), "8.5.4-storage": ("conform", "Pallets off the floor"),
        "8.7-segregation": ("observation", ""),
    }
    answered = db.session.scalar(db.select(db.func.count(Event.id)).filter_by(entity_type="response", action="answered"))
    assert answered == 4  # each queued change applied exactly once, in order
    page.evaluate("() => window.auditappOutbox.flush()")  # a second sender finds nothing left to send
    assert db.session.scalar(db.select(db.func.count(Event.id)).filter_by(entity_type="response", action="answered")) == 4


def test_logout_is_refused_while_changes_wait(app, live_server, offline_phone, plan, make_user):
    context, page = offline_phone
    lead = make_user("auditor")
    audit = plan(lead=lead)
    item = items_of(audit)["8.5.2-traceability"]
    log_in(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    _controlled(page)
    context.set_offline(True)
    page.tap(f"#item-{item.id} button[value=conform]")
    page.wait_for_selector(f"#item-{item.id}.queued")
    messages = []
    page.on("dialog", lambda d: (messages.append(d.message), d.dismiss()))
    page.tap(".logout button")
    page.wait_for_timeout(300)
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
    assert b"const SHELL_CACHE = \"shell-" in sw.data
