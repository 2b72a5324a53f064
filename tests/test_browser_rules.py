"""Evidence rules, finding rules and procedure links (issue 15) in Chromium on a 360 px phone: the item
says what it needs before it is graded, a recorded deviation opens no finding form, the procedure link
is under the guidance and opens safely, and a completion blocker's link moves to its item."""

import pytest

from .support.accounts import PASSWORD
from .support.audits import items_of
from .support.browser import fits_screen, log_in_page, phone_context, screenshot
from .support.rules import plan_rules_walk

pytestmark = pytest.mark.browser


def test_rules_on_the_audit_screen_and_completion_at_360px(app, live_server, phone, make_user):
    lead = make_user("auditor")
    audit = plan_rules_walk(app, make_user("quality_lead"), lead)
    by_key = items_of(audit)
    board, bins, aisles = (f"#item-{by_key[k].id}" for k in ("board", "bins", "aisles"))
    page = phone
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")

    # Before grading, each item says what it will need.
    assert page.locator(f"{board} .needs").inner_text() == "Photo needed unless N/A"
    assert page.locator(f"{bins} .needs").inner_text() == "Photo needed if Minor NC · Note needed if Minor NC"
    assert page.locator(f"{aisles} .needs").inner_text() == "Note needed if Observation"
    assert page.locator(f"{aisles} .needs").is_visible()

    # The procedure is under the item's guidance, loaded when opened; a new tab, no opener.
    page.tap(f"{bins} details[data-guidance] summary")
    page.wait_for_selector(f"{bins} details[data-guidance][data-loaded=true]")
    link = page.locator(f"{bins} .procedures a")
    assert link.is_visible() and link.inner_text() == "Bin labels"
    assert link.get_attribute("href") == "https://intranet.example/bins"
    assert link.get_attribute("rel") == "noopener noreferrer" and link.get_attribute("target") == "_blank"
    assert link.bounding_box()["height"] >= 44

    # A minor result is a recorded deviation here (required_for: [major_nc]): no finding form opens.
    page.tap(f"{bins} button[value=minor_nc]")
    page.wait_for_selector(f"{bins}.r-minor_nc .deviation")
    assert page.locator(f"{bins} .finding-form").count() == 0
    assert "Recorded deviation: no finding needed." in page.inner_text(f"{bins} .deviation")
    page.tap(f"{aisles} button[value=observation]")
    page.wait_for_selector(f"{aisles}.r-observation")
    assert fits_screen(page)
    screenshot(page, "rules-audit-360")

    # Completing: the blockers name the items; a blocker's link moves to its item.
    page.goto(f"{live_server.url}/audits/{audit.id}/complete")
    blockers = page.locator("#blockers li a")
    assert blockers.all_inner_texts() == [
        "R-2 “Are the bins labelled?”: Minor NC here needs a photo and a note.",
        "R-3 “Are aisles clear?”: Observation here needs a note.",
    ]
    assert fits_screen(page)
    screenshot(page, "rules-complete-360")
    blockers.nth(1).tap()
    page.wait_for_url(f"**/audits/{audit.id}#item-{by_key['aisles'].id}")
    page.wait_for_selector(f"{aisles}", state="visible")
    assert page.locator(aisles).is_visible()
    box = page.locator(f"{aisles} h3").bounding_box()
    assert 0 <= box["y"] < page.viewport_size["height"]  # scrolled to the item


@pytest.mark.parametrize("width", [360, 768, 1024, 1280])
def test_screens_with_rules_fit_every_width_with_44px_targets(app, live_server, browser, make_user, width):
    """The audit screen with hints, a deviation and an open guidance; the completion page with blockers;
    the report with recorded deviations and procedures; the checklist preview with the rules."""
    lead = make_user("quality_lead")
    audit = plan_rules_walk(app, make_user("quality_lead"), lead)
    by_key = items_of(audit)
    context = phone_context(browser, width, 900, scale=1 if width > 768 else 2)
    page = context.new_page()
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    bins = f"#item-{by_key['bins'].id}"
    page.tap(f"{bins} button[value=minor_nc]")
    page.wait_for_selector(f"{bins}.r-minor_nc .deviation")
    page.fill(f"#note-{by_key['bins'].id}", "Two bins without labels at station 3, a long note to wrap.")
    page.wait_for_selector(f"{bins} .save-state.saved")
    page.tap(f"{bins} details[data-guidance] summary")
    page.wait_for_selector(f"{bins} details[data-guidance][data-loaded=true]")
    for path in ("", "/complete", "/report"):
        if path:
            page.goto(f"{live_server.url}/audits/{audit.id}{path}")
        assert fits_screen(page), (width, path)
        screenshot(page, f"rules-audit{path.replace('/', '-')}-{width}")
        for button in page.locator("main button:visible").all():
            assert button.bounding_box()["height"] >= 44, (width, path)
    assert "Recorded deviations (1)" in page.inner_text("main")
    page.goto(f"{live_server.url}/checklists/rules-walk/v1")
    assert fits_screen(page) and "Written findings needed for: Major NC." in page.inner_text("main")
    screenshot(page, f"rules-preview-{width}")
    context.close()
