"""Offline from the first minute (issue 14), in real Chromium with its service worker: a new phone keeps
today's and started audits after the first login; offline progress counts; no stale label after a sync;
the device's time of an offline answer is kept; the badge's Export button is readable; logging out
deletes the kept pages."""

from datetime import timedelta

import pytest

from auditapp.audits import recording
from auditapp.audits.models import Audit
from auditapp.core.timeutil import utcnow
from auditapp.events.models import Event
from auditapp.extensions import db

from .support.accounts import PASSWORD
from .support.audits import items_of
from .support.browser import ARTIFACTS, controlled, fits_screen, log_in_page, phone_context, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def fresh_phone(browser):
    context = phone_context(browser, 412, 839)
    page = context.new_page()
    yield context, page
    context.close()


def _planned_yesterday(audit) -> None:
    db.session.execute(db.update(Audit).where(Audit.id == audit.id).values(created_at=utcnow() - timedelta(days=1)))
    db.session.commit()


def _badge_hidden(page, timeout=20000) -> None:
    page.wait_for_function("() => document.getElementById('sync-badge').hidden === true", timeout=timeout)


def _reconnect(context, page) -> None:
    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")


def test_first_login_on_a_new_phone_keeps_today_s_and_started_audits_offline(
    app, live_server, fresh_phone, plan, make_user
):
    context, page = fresh_phone
    lead = make_user("auditor")
    today = plan(lead=lead, title="Today's walk")
    started = plan(lead=lead, planned=today.planned_date - timedelta(days=2), title="Started walk")
    trace = items_of(started)["8.5.2-traceability"]
    recording.record_answer(lead, started, trace, "conform", 0)
    db.session.commit()

    log_in_page(page, live_server.url, lead.email, PASSWORD)  # the first page ever: no worker controls it yet
    assert page.url.endswith("/audits/mine")
    page.wait_for_selector("body[data-auto-offline-ready=true]", timeout=20000)  # no tap, no reload

    context.set_offline(True)
    page.goto(f"{live_server.url}/audits/{today.id}")
    assert "Today's walk" in page.inner_text("h1") and "No connection" not in page.content()
    page.goto(f"{live_server.url}/audits/{started.id}")  # never visited; it has answers (in progress)
    assert "Started walk" in page.inner_text("h1")
    assert page.get_attribute(f"#item-{trace.id} button[value=conform]", "aria-pressed") == "true"
    page.goto(f"{live_server.url}/audits/mine")
    assert "My audits" in page.inner_text("h1")
    screenshot(page, "first-login-then-offline")


def test_offline_progress_counts_and_no_item_keeps_a_stale_label_after_sync(
    app, live_server, fresh_phone, plan, make_user
):
    context, page = fresh_phone
    lead = make_user("auditor")
    audit = plan(lead=lead)
    items = items_of(audit)
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    controlled(page)
    # Opened before the worker controlled it (straight after the first login): fetched again through it.
    page.wait_for_selector("body[data-page-kept]", state="attached")
    applicable = int(page.inner_text("#progress .progress-count").split("/")[1].split()[0])

    context.set_offline(True)
    taps = [
        ("8.5.2-traceability", "conform"),
        ("8.5.4-storage", "conform"),
        ("8.7-segregation", "na"),
        ("7.1.5-gauges", "conform"),
    ]
    for key, result in taps:
        page.tap(f"#item-{items[key].id} button[value={result}]")
        page.wait_for_selector(f"#item-{items[key].id}.queued")
    # D8: the progress counts what waits on the device (3 answered, 1 N/A out of the applicable items).
    assert page.inner_text("#progress .progress-count") == f"3/{applicable - 1} answered"
    assert "1 N/A" in page.inner_text("#progress")
    page.tap(f"#item-{items['8.5.4-storage'].id} button[value=ofi]")  # changed again: still 3 answered
    page.wait_for_function("() => document.querySelector('#sync-badge [data-count]').textContent === '5'")
    assert page.inner_text("#progress .progress-count") == f"3/{applicable - 1} answered"
    page.reload()  # still offline: the kept page, with the kept changes counted again on it
    page.wait_for_selector(f"#item-{items['7.1.5-gauges'].id}.queued")
    assert page.inner_text("#progress .progress-count") == f"3/{applicable - 1} answered"
    assert "1 N/A" in page.inner_text("#progress")

    _reconnect(context, page)
    _badge_hidden(page)
    # D10: every item is fetched again, none keeps "Saved on this device" or the dashed border.
    page.wait_for_function(
        "() => !document.querySelector('.item.queued, [data-offline-state]')", timeout=10000, polling=200
    )
    page.wait_for_function(
        "n => document.querySelector('#progress .progress-count').textContent.trim().startsWith('3/' + n)",
        arg=applicable - 1,
    )
    assert page.locator(".item.queued").count() == 0 and page.locator("[data-offline-state]").count() == 0
    screenshot(page, "offline-after-sync-no-stale-label")


def test_an_audit_the_worker_took_over_while_it_loaded_is_kept_too(app, live_server, fresh_phone, plan, make_user):
    """The CI failure of the test above, made certain: the audit opened straight after the first login
    loads while the worker installs, and the worker takes control (clients.claim) before the page's
    scripts run (a loaded machine, a slow phone). The controller is set then, though the worker never
    saw the page load: it was said kept (body[data-page-kept]) and opened offline as "No connection"."""
    context, page = fresh_phone
    lead = make_user("auditor")
    audit = plan(lead=lead)
    item = items_of(audit)["7.1.5-gauges"]
    install, scripts, holding = [], [], []
    # A shell file: the worker's install waits for it; then the page's scripts wait while it takes control.
    context.route("**/static/offline.html*", lambda route: install.append(route))
    context.route(
        "**/assets/page.js*",
        lambda route: scripts.append(route) if holding and not route.request.service_worker else route.continue_(),
    )
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    while not install:
        page.wait_for_timeout(50)
    holding.append(True)
    page.goto(f"{live_server.url}/audits/{audit.id}", wait_until="commit")  # no worker answers it
    while not scripts:
        page.wait_for_timeout(50)
    assert page.evaluate("() => navigator.serviceWorker.controller") is None
    for route in install:
        route.continue_()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")  # claimed, scripts not run yet
    for route in scripts:
        route.continue_()
    page.wait_for_selector("body[data-page-kept]", state="attached")

    context.set_offline(True)
    page.reload()
    assert "No connection" not in page.content()
    assert page.locator(f"#item-{item.id} button[value=conform]").count() == 1


@pytest.mark.parametrize("via", ["batch", "one by one"])
def test_an_answer_made_offline_keeps_the_device_s_time(app, live_server, fresh_phone, plan, make_user, via):
    context, page = fresh_phone
    sent = []
    if via == "one by one":  # a server that does not take batches: the outbox sends each change alone
        context.route("**/outbox/batch", lambda route: (sent.append("batch"), route.fulfill(status=404, body="no")))
    lead = make_user("auditor")
    audit = plan(lead=lead)
    _planned_yesterday(audit)
    item = items_of(audit)["8.5.2-traceability"]
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    controlled(page)

    context.set_offline(True)
    # The tap happens 47 minutes before the sync: the page's clock is moved back for the tap.
    page.evaluate(
        """() => {
      const Real = Date, shift = -47 * 60 * 1000;
      window.RealDate = Real;
      window.Date = class extends Real {
        constructor(...a) { if (a.length) super(...a); else super(Real.now() + shift); }
        static now() { return Real.now() + shift; }
      };
    }"""
    )
    page.tap(f"#item-{item.id} button[value=conform]")
    page.wait_for_selector(f"#item-{item.id}.queued")
    page.evaluate("() => { window.Date = window.RealDate; }")
    _reconnect(context, page)
    _badge_hidden(page)

    assert sent == (["batch"] if via == "one by one" else [])
    db.session.expire_all()
    event = db.session.scalars(db.select(Event).filter_by(entity_type="response", action="answered")).one()
    assert event.observed_at is not None
    delay = event.occurred_at - event.observed_at
    assert timedelta(minutes=46) < delay < timedelta(minutes=49)
    page.goto(f"{live_server.url}/audits/{audit.id}/items/{item.id}/history")
    note = page.inner_text("[data-observed]")
    assert note == f"recorded offline {event.observed_at:%H:%M}, received {event.occurred_at:%H:%M}"
    assert fits_screen(page)  # 412 px
    page.set_viewport_size({"width": 360, "height": 740})
    assert fits_screen(page)
    screenshot(page, "history-recorded-offline")


def _contrast_of(page, selector: str) -> float:
    """WCAG contrast of an element's text on its first opaque background (itself or an ancestor)."""
    return page.evaluate(
        """sel => {
      const rgb = s => s.match(/[\\d.]+/g).map(Number);
      const lum = c => { const v = c.slice(0, 3).map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
                         return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
      const el = document.querySelector(sel);
      let bg = null;
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length < 4 || c[3] > 0) { bg = c; break; }
      }
      bg = bg || [255, 255, 255];
      const fg = rgb(getComputedStyle(el).color), a = lum(fg), b = lum(bg);
      return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    }""",
        selector,
    )


def test_the_waiting_badge_s_export_button_is_readable(app, live_server, fresh_phone, plan, make_user):
    context, page = fresh_phone
    lead = make_user("auditor")
    audit = plan(lead=lead)
    item = items_of(audit)["8.5.2-traceability"]
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    controlled(page)
    context.set_offline(True)
    page.tap(f"#item-{item.id} button[value=conform]")
    page.wait_for_selector("#sync-badge:not([hidden]) [data-export-outbox]")
    assert _contrast_of(page, "[data-export-outbox]") >= 4.5  # D12: it was 1.1:1
    assert _contrast_of(page, "#sync-badge") >= 4.5
    page.locator(".topbar").screenshot(path=str(ARTIFACTS / "offline-badge-export.png"))
    _reconnect(context, page)
    _badge_hidden(page)


@pytest.mark.parametrize("when", ["once kept", "at once"])
def test_logging_out_deletes_the_kept_audit_pages(app, live_server, fresh_phone, plan, make_user, when):
    context, page = fresh_phone
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    if when == "once kept":
        page.wait_for_selector("body[data-auto-offline-ready=true]", timeout=20000)
        kept = "() => caches.open('pages-v1').then(c => c.keys()).then(k => k.map(r => new URL(r.url).pathname))"
        assert f"/audits/{audit.id}" in page.evaluate(kept)
    # "at once": the pages being kept just after logging in must not land after the deletion.

    page.tap(".logout button")
    page.wait_for_url(lambda url: url.endswith("/login"))
    page.wait_for_timeout(500)  # anything still on its way to the cache would be there by now
    assert page.evaluate("() => caches.keys().then(n => n.filter(x => x.startsWith('pages-')))") == []
    context.set_offline(True)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    assert "No connection" in page.content()  # the next person on this phone cannot read it offline
