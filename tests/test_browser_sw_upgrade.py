"""A new release's service worker fetches the kept audit pages again, so they match its scripts."""

import time

import pytest

from .support.accounts import PASSWORD
from .support.browser import controlled, log_in_page, phone_context

pytestmark = pytest.mark.browser

KEPT_BODY = "() => caches.open('pages-v1').then((c) => c.match(location.pathname)).then((r) => r ? r.text() : '')"


def _kept_page_becomes(page, text, timeout=20):
    """Wait until the kept copy of this page contains text (wait_for_function does not await promises)."""
    deadline = time.monotonic() + timeout
    while text not in page.evaluate(KEPT_BODY):
        assert time.monotonic() < deadline, f"the kept page never contained {text!r}"
        page.wait_for_timeout(100)


def test_pages_kept_by_an_older_version_are_fetched_again_after_an_upgrade(app, live_server, browser, plan, make_user):
    context = phone_context(browser, 412, 839)
    page = context.new_page()
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    controlled(page)
    # clients.claim() may take control without a reload; a page is kept only when the worker fetched it.
    page.reload()
    _kept_page_becomes(page, "data-outbox-routes")
    # As a release ago: the kept copy names scripts and markup this version no longer has.
    page.evaluate("""() => caches.open('pages-v1').then((c) => c.put(location.pathname,
        new Response('<p>kept by the old version</p>', {headers: {'Content-Type': 'text/html; charset=utf-8'}})))""")
    _kept_page_becomes(page, "kept by the old version")
    app.config["RELEASE"] = "next-release"
    page.evaluate("() => navigator.serviceWorker.getRegistration().then((r) => r.update())")
    _kept_page_becomes(page, "data-outbox-routes")
    context.set_offline(True)
    page.reload()  # offline, the audit opens with this version's page and scripts
    page.wait_for_selector("[data-outbox-badge]", state="attached")
    assert page.evaluate("() => typeof window.auditappOutbox.flush") == "function"
    context.close()
