"""Repeating sections (issue 15) on a 360 px phone in real Chromium: the shipped layered process audit, two
stations added with names, items answered in each station separately (one offline, synced once), the
progress counting each station, completion, and the report listing each station under its name."""

from pathlib import Path

import pytest

from auditapp.audits.models import Response
from auditapp.events.models import Event
from auditapp.extensions import db

from .support.accounts import PASSWORD
from .support.audits import items_of, plan_audit_of
from .support.browser import eventually, fits_screen, log_in_page, phone_context, screenshot, signed_in_phone
from .support.photos import jpeg

pytestmark = pytest.mark.browser

LPA = Path(__file__).resolve().parent.parent / "checklists" / "layered-process-audit.yaml"


@pytest.fixture
def lpa_audit(app, make_user):
    lead = make_user("auditor")
    return plan_audit_of(app, LPA, make_user("quality_lead"), lead, "Line 4 layered audit"), lead


def stored(audit) -> dict:
    db.session.expire_all()
    return {
        (r.item.key, r.copy): r.result for r in db.session.scalars(db.select(Response).filter_by(audit_id=audit.id))
    }


def test_two_stations_added_answered_separately_counted_completed_and_reported(app, live_server, browser, lpa_audit):
    audit, lead = lpa_audit
    items = items_of(audit)
    with signed_in_phone(browser, live_server.url, lead.email, PASSWORD, f"/audits/{audit.id}") as (context, page):
        assert page.text_content("#progress .progress-count") == "0/9 answered"

        def item(key, copy=1):
            return f"#item-{items[key].id}" + (f"-c{copy}" if copy != 1 else "")

        # Two stations added, the first with a name; each comes as its own section, the form moves after it.
        page.fill("form.add-copy input[name=name]", "Press line")
        page.tap("form.add-copy button:has-text('Add station')")
        page.wait_for_selector("h2:has-text('Station 2 – Press line')")
        assert page.text_content("#progress .progress-count") == "0/15 answered"
        page.tap("form.add-copy button:has-text('Add station')")
        page.wait_for_selector("h2:has-text('Station 3')")
        assert page.text_content("#progress .progress-count") == "0/21 answered"
        assert page.locator("form.add-copy").count() == 1

        # The same question answered differently in each station.
        page.tap(f"{item('lpa-st-guards')} button[value=yes]")
        page.wait_for_selector(f"{item('lpa-st-guards')}.r-conform")
        page.tap(f"{item('lpa-st-guards', 2)} button[value=no]")
        page.wait_for_selector(f"{item('lpa-st-guards', 2)}.r-major_nc")
        page.tap(f"{item('lpa-st-first-off', 3)} button[value=yes]")
        page.wait_for_selector(f"{item('lpa-st-first-off', 3)}.r-conform")
        assert page.text_content("#progress .progress-count") == "3/21 answered"
        assert page.locator(f"{item('lpa-st-guards')}.r-conform").count() == 1  # station 1 kept its answer
        assert fits_screen(page)
        screenshot(page, "repeating-sections-360")

        # Offline: an answer in station 3 waits on the phone, on station 3's item, and is sent once.
        page.tap("[data-offline-urls]")
        page.wait_for_selector("[data-offline-urls][data-ready=true]")
        context.set_offline(True)
        page.tap(f"{item('lpa-st-defect-tags', 3)} button[value=yes]")
        page.wait_for_selector(f"{item('lpa-st-defect-tags', 3)}.queued.r-conform")
        assert page.locator(f"{item('lpa-st-defect-tags')}.queued").count() == 0
        context.set_offline(False)
        page.evaluate("() => window.dispatchEvent(new Event('online'))")
        page.wait_for_function("() => document.getElementById('sync-badge').hidden === true", timeout=20000)
        assert stored(audit) == {
            ("lpa-st-guards", 1): "conform",
            ("lpa-st-guards", 2): "major_nc",
            ("lpa-st-first-off", 3): "conform",
            ("lpa-st-defect-tags", 3): "conform",
        }
        answered = db.session.scalars(
            db.select(Event).filter_by(action="answered", item_id=items["lpa-st-defect-tags"].id)
        ).all()
        assert [e.changes.get("copy") for e in answered] == [3]

        # Completing: the blocker names the station; once the finding is written, the rest is not audited.
        page.goto(f"{live_server.url}/audits/{audit.id}/complete")
        assert "Station 2 – Press line: LPA-S4" in page.text_content("#blockers")
        assert fits_screen(page)
        page.goto(f"{live_server.url}/audits/{audit.id}")
        finding = f"{item('lpa-st-guards', 2)} [data-finding]"
        page.wait_for_selector(finding)
        page.fill(f"{finding} [name=statement]", "Light curtain bypassed with tape")
        page.locator(f"{finding} [name=why_major_reason]").first.check()
        page.fill(f"{finding} [name=evidence]", "Seen at 09:40")
        page.tap(f"{finding} button[type=submit]")
        page.wait_for_selector(f"{item('lpa-st-guards', 2)} .nc-ref")  # the NC raised from station 2's finding
        page.set_input_files(  # the checklist wants a photo of a major finding at the guards: station 2's own
            f"{item('lpa-st-guards', 2)} input[type=file]",
            files=[{"name": "guard.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}],
        )
        page.wait_for_selector(f"{item('lpa-st-guards', 2)} .photos img")
        assert page.locator(f"{item('lpa-st-guards')} .photos img").count() == 0
        page.goto(f"{live_server.url}/audits/{audit.id}/complete")
        page.fill("#f-conclusion", "Station 2 stopped until the curtain was repaired.")
        page.check("input[name=confirm_unanswered]")
        page.tap("button:has-text('Complete audit')")
        page.wait_for_url(f"**/audits/{audit.id}/report")
        report = page.text_content(".report")
        assert report.index("Station 1") < report.index("Station 2 – Press line") < report.index("Station 3")
        assert "Station 2 – Press line: " in page.text_content(".report-finding")
        assert fits_screen(page)
        screenshot(page, "repeating-sections-report-360")
        for width in (768, 1024, 1280):  # the screens touched fit the other widths too
            page.set_viewport_size({"width": width, "height": 900})
            for url in (f"/audits/{audit.id}", f"/audits/{audit.id}/report"):
                page.goto(live_server.url + url)
                assert fits_screen(page), (width, url)


def test_a_station_added_folds_like_the_others(app, live_server, browser, lpa_audit):
    """checklist.js makes each section's heading a fold toggle when the page loads; a copy added since
    (swapped in by htmx) got none until the page was loaded again."""
    audit, lead = lpa_audit
    context = phone_context(browser, 360, 740)
    page = context.new_page()
    try:
        log_in_page(page, live_server.url, lead.email, PASSWORD)
        page.goto(f"{live_server.url}/audits/{audit.id}")
        page.tap("form.add-copy button:has-text('Add station')")
        page.wait_for_selector("h2:has-text('Station 2')")
        added = page.locator("section.section:has(h2:has-text('Station 2'))")
        toggle = added.locator("h2 > button.sec-toggle")
        assert toggle.count() == 1 and toggle.get_attribute("aria-expanded") == "true"
        assert "Station 2" in toggle.inner_text()
        toggle.tap()
        assert toggle.get_attribute("aria-expanded") == "false" and added.locator(".items").is_hidden()
        assert page.locator("section.section h2 > button.sec-toggle").count() == 3  # Line, Station 1, Station 2
        assert fits_screen(page)
        screenshot(page, "station-added-folded-360")
        toggle.tap()
        assert added.locator(".items").is_visible()
    finally:
        context.close()


def test_the_page_kept_for_offline_use_has_the_station_added_since(app, live_server, browser, lpa_audit):
    """The audit's page kept by the service worker was the one from before "Add station": reopened with no
    network it lacked the new station, and answers queued for it did not show."""
    audit, lead = lpa_audit
    guards = items_of(audit)["lpa-st-guards"]
    with signed_in_phone(browser, live_server.url, lead.email, PASSWORD, f"/audits/{audit.id}") as (context, page):
        page.wait_for_selector("body[data-page-kept]", state="attached")
        page.tap("form.add-copy button:has-text('Add station')")
        page.wait_for_selector("h2:has-text('Station 2')")
        kept = f"""() => caches.match(location.pathname).then(r => r ? r.text() : '')
                    .then(t => t.includes('id="section-{guards.section_id}-2"'))"""
        eventually(page, kept, timeout=10)

        context.set_offline(True)
        page.tap(f"#item-{guards.id}-c2 button[value=yes]")
        page.wait_for_selector(f"#item-{guards.id}-c2.queued")
        page.reload()
        assert "No connection" not in page.content()
        page.wait_for_selector(f"#item-{guards.id}-c2.queued")  # the new station, with its answer waiting
        assert page.locator(f"#section-{guards.section_id}-2 h2").inner_text().startswith("Station 2")
        assert fits_screen(page)
