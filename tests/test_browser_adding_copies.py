"""Adding a copy of a repeating section (issue 15) on a 360 px phone in real Chromium: offline it is refused in
place (the name typed and the answers waiting on the device are kept; no copy is made), and once online the new
copy gets its chip in the section list and its items are scored on the phone, offline too."""

import pytest

from auditapp.audits.models import SectionCopy
from auditapp.extensions import db

from .support.accounts import PASSWORD
from .support.audits import items_of
from .support.browser import controlled, fits_screen, log_in_page, phone_context, screenshot
from .support.cell_walk import plan_cell_walk

pytestmark = pytest.mark.browser


@pytest.fixture
def cell_audit(app, make_user):
    """The cell walk planned, not logged in: (audit, its lead auditor); the browser logs in itself."""
    return plan_cell_walk(app, make_user)


def copies_made(audit) -> int:
    db.session.expire_all()
    return db.session.scalar(db.select(db.func.count()).select_from(SectionCopy).filter_by(audit_id=audit.id))


def test_a_station_added_offline_is_refused_in_place_and_one_added_online_is_listed_and_scored(
    app, live_server, browser, cell_audit
):
    audit, lead = cell_audit
    items = items_of(audit)
    sid = next(s.id for s in audit.checklist_version.sections if s.repeat)
    context = phone_context(browser, 360, 740)
    page = context.new_page()

    def item(key, copy=1):
        return f"#item-{items[key].id}" + (f"-c{copy}" if copy != 1 else "")

    try:
        log_in_page(page, live_server.url, lead.email, PASSWORD)
        page.goto(f"{live_server.url}/audits/{audit.id}")
        controlled(page)
        page.tap("[data-offline-urls]")
        page.wait_for_selector("[data-offline-urls][data-ready=true]")

        # Offline: an answer waits on the device; adding a station is refused where it was asked, name kept.
        context.set_offline(True)
        page.tap(f"{item('guard')} button[value=yes]")
        page.wait_for_selector(f"{item('guard')}.queued.r-conform")
        page.fill("form.add-copy input[name=name]", "Press line")
        page.tap("form.add-copy button:has-text('Add station')")
        alert = page.wait_for_selector("form.add-copy [role=alert]")
        assert alert.text_content() == (
            "Adding a station needs the network: try again when online. "
            "Answers in the stations already here are kept on this device."
        )
        assert page.input_value("form.add-copy input[name=name]") == "Press line"
        assert "could not be reached" not in page.text_content("#flashes")
        assert page.locator(f"{item('guard')}.queued.r-conform").count() == 1
        page.tap("form.add-copy button:has-text('Add station')")  # asked again: still one message
        page.wait_for_timeout(300)
        assert page.locator("form.add-copy [role=alert]").count() == 1
        assert fits_screen(page)
        screenshot(page, "adding-a-station-offline-360")
        assert copies_made(audit) == 0

        # Online again: the waiting answer is sent, the station added with the name kept in the box.
        context.set_offline(False)
        page.evaluate("() => window.dispatchEvent(new Event('online'))")
        page.wait_for_function("() => document.getElementById('sync-badge').hidden === true", timeout=20000)
        page.tap("form.add-copy button:has-text('Add station')")
        page.wait_for_selector("h2:has-text('Station 2 – Press line')")
        assert page.locator("form.add-copy [role=alert]").count() == 0
        assert copies_made(audit) == 1

        # Its chip follows station 1's in the section list, with its counter and score.
        chips = page.locator(".section-jump a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
        assert chips == [f"#section-{s.id}" for s in audit.checklist_version.sections] + [f"#section-{sid}-2"]
        assert page.text_content(f"#sec-{sid}-2") == "0/2"
        assert page.text_content(f"#scr-{sid}-2") == "–"
        assert page.text_content("#progress [data-score] strong") == "100 %"

        # Answered offline at once: the phone counts and scores station 2 (a major NC: 0 of 2 points).
        context.set_offline(True)
        page.tap(f"{item('guard', 2)} button[value=no]")
        page.wait_for_selector(f"{item('guard', 2)}.queued.r-major_nc")
        assert page.text_content(f"#sec-{sid}-2") == "1/3"  # "why open" is asked now
        assert page.text_content(f"#scr-{sid}-2") == "0 %"
        assert page.text_content(f"#scr-{sid}") == "100 %"
        assert page.text_content("#progress [data-score] strong") == "50 %"  # two stations of weight 3
        assert fits_screen(page)

        # The item's own page (no JavaScript needed) names its station.
        context.set_offline(False)
        page.goto(f"{live_server.url}/audits/{audit.id}/items/{items['guard'].id}/copies/2")
        assert page.text_content("h1.copy-heading") == "Station 2 – Press line"
        for width in (360, 768, 1024, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            assert fits_screen(page), width
    finally:
        context.close()
