"""Writing a checklist in the browser, in Chromium on a 360 px phone, end to end (issue 15): open the editor
from the Checklists page, type a mistake, see it live with its line, jump to the line and fix it, watch the
preview follow, publish, and plan an audit that gets the new version while the older audit keeps its own."""

import re
from datetime import date

import pytest

from auditapp.audits.models import Audit
from auditapp.extensions import db

from .support.accounts import PASSWORD
from .support.audits import WALK
from .support.browser import fits_screen, log_in_page, phone_context, screenshot

pytestmark = pytest.mark.browser

GAUGE_LINE = 14  # "photo: required_on_nc" of the gauge item in WALK, once the editor raised the version


def _targets_fit(page, where):
    for target in page.locator(
        "main button:visible, main .editor-actions a:visible, main .problem-line:visible, main summary:visible"
    ).all():
        assert target.bounding_box()["height"] >= 44, (where, target.inner_text())


def test_an_author_edits_publishes_and_a_new_audit_uses_the_new_version(app, live_server, browser, plan, make_user):
    old_audit = plan(title="Started on version 1")
    lead = make_user("quality_lead", name="Quinn Lead")
    assert WALK.splitlines()[GAUGE_LINE - 1].strip() == "photo: required_on_nc"
    context = phone_context(browser, 360, 740)
    page = context.new_page()
    refused = []  # what the strict CSP refused (an inline script or style), as Chromium reports it
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    log_in_page(page, live_server.url, lead.email, PASSWORD)

    page.goto(live_server.url + "/checklists/")
    page.get_by_role("link", name="Edit Floor walk").click()
    page.wait_for_url("**/checklists/walk/edit")
    area = page.locator("textarea[data-editor]")
    assert "version: 2" in area.input_value()
    assert fits_screen(page)
    _targets_fit(page, "editor")

    # A mistake, typed: the problem comes back live with its line.
    broken = area.input_value().replace("photo: required_on_nc", "photo: sometimes")
    area.fill(broken)
    problem = page.locator(f'#editor-problems a[data-line="{GAUGE_LINE}"]')
    problem.wait_for()
    assert '"sometimes"' in page.inner_text("#editor-problems")
    assert "come back once the problems are fixed" in page.inner_text("#editor-preview")
    assert fits_screen(page)
    _targets_fit(page, "problems")
    screenshot(page, "checklist-editor-problem-360")

    # The problem's link puts the caret on its line (the line selected), so typing replaces it.
    problem.click()
    assert (
        page.evaluate(
            "() => { const a = document.querySelector('textarea[data-editor]');"
            " return a.value.slice(0, a.selectionStart).split('\\n').length; }"
        )
        == GAUGE_LINE
    )
    assert page.inner_text("#editor-caret").startswith(f"Line {GAUGE_LINE},")
    page.keyboard.type("        photo: required_on_nc")
    page.locator("#editor-problems h2", has_text="No problems").wait_for()
    # ... and a reworded question: the preview and the comparison follow.
    area.fill(
        area.input_value().replace("Are gauges within calibration?", "Are gauges and torque wrenches calibrated?")
    )
    page.locator("#editor-preview", has_text="Are gauges and torque wrenches calibrated?").wait_for()
    assert "1 reworded" in page.inner_text("#editor-compare")
    assert "Publishing makes version 2 of walk" in page.inner_text("#editor-outcome")
    assert fits_screen(page)
    screenshot(page, "checklist-editor-preview-360")

    page.get_by_role("button", name="Publish").click()
    page.wait_for_url("**/checklists/walk/v2")
    assert "Published Floor walk, version 2" in page.inner_text("#flashes")
    assert "Are gauges and torque wrenches calibrated?" in page.inner_text("main")

    # A new audit gets version 2; the audit started before keeps version 1.
    page.goto(live_server.url + "/audits/new")
    page.select_option("#f-checklist_id", label="Floor walk (v2)")
    page.fill("#f-title", "After the change")
    page.fill("#f-planned_date", date.today().isoformat())
    lead_option = page.locator("#f-lead_auditor_id option", has_text="Quinn Lead").get_attribute("value")
    page.select_option("#f-lead_auditor_id", value=lead_option)
    page.get_by_role("button", name=re.compile("Plan")).click()
    page.wait_for_url(re.compile(r"/audits/\d+$"))
    assert "Are gauges and torque wrenches calibrated?" in page.inner_text("main")
    new_id = int(page.url.rsplit("/", 1)[1])
    page.goto(f"{live_server.url}/audits/{old_audit.id}")
    assert "Are gauges within calibration?" in page.inner_text("main")
    context.close()
    assert refused == []
    db.session.expire_all()
    assert db.session.get(Audit, new_id).checklist_version.number == 2
    assert db.session.get(Audit, old_audit.id).checklist_version.number == 1


@pytest.mark.parametrize("width", [360, 768, 1024, 1280])
def test_the_editor_and_the_users_page_fit_every_width(app, live_server, browser, walk, make_user, width):
    lead = make_user("quality_lead")
    make_user("auditor", name="Ada Author With A Rather Long Name")
    context = phone_context(browser, width, 900, scale=1 if width > 768 else 2)
    page = context.new_page()
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    for path in ["/checklists/", "/checklists/walk/edit", "/checklists/new", "/admin/users"]:
        page.goto(live_server.url + path)
        assert fits_screen(page), (width, path)
        _targets_fit(page, (width, path))
    page.goto(live_server.url + "/checklists/walk/edit")
    area = page.locator("textarea[data-editor]")
    area.fill(area.input_value().replace("title: Support", "title: [Support"))
    page.locator("#editor-problems a[data-line]").first.wait_for()
    assert fits_screen(page), (width, "problems")
    _targets_fit(page, (width, "problems"))
    screenshot(page, f"checklist-editor-{width}")
    context.close()


def test_text_not_published_is_offered_back_when_the_editor_opens_again(app, live_server, browser, walk, make_user):
    lead = make_user("quality_lead")
    context = phone_context(browser, 360, 740)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "leave the page with unpublished changes?"
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(live_server.url + "/checklists/walk/edit")
    area = page.locator("textarea[data-editor]")
    typed = area.input_value().replace("Check three gauge labels.", "Check five gauge labels.")
    area.fill(typed)
    page.wait_for_function("() => Object.values(sessionStorage).some((v) => v.includes('Check five'))")
    page.goto(live_server.url + "/checklists/")
    page.goto(live_server.url + "/checklists/walk/edit")
    assert "Check five" not in area.input_value()
    page.get_by_role("button", name="Put it back").click()
    assert area.input_value() == typed
    page.locator("#editor-preview", has_text="Check five gauge labels.").wait_for()
    assert fits_screen(page)
    context.close()
