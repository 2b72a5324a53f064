"""The management review pack in a real phone-sized Chromium: it fits, its charts draw, and a
decision recorded with a tracked action swaps in place without losing the typed-in inputs."""

from datetime import date, timedelta

import pytest

from auditapp.capa.models import CorrectiveAction
from auditapp.extensions import db
from auditapp.improvements.models import Improvement
from auditapp.review import services

from .support.accounts import PASSWORD, make_area
from .support.browser import fits_screen, log_in_page, screenshot

pytestmark = pytest.mark.browser


def test_review_pack_on_a_phone(app, live_server, phone, make_user):
    lead, owner = make_user("quality_lead"), make_user("supervisor", name="Sam Supervisor")
    # Wide content the pack must still fit: a previous review's actions and register entries.
    earlier = services.prepare(lead, date.today() - timedelta(days=730), date.today() - timedelta(days=366))
    services.add_decision(
        lead,
        earlier,
        "resource_need",
        "Replace the worn torque wrenches on line 2",
        {
            "description": "Order four calibrated torque wrenches for line 2",
            "owner_id": owner.id,
            "due_date": date.today() - timedelta(days=10),
        },
    )
    services.record_meeting(
        lead, earlier, date.today() - timedelta(days=360), "CEO, quality lead", "Effective", date.today()
    )
    db.session.add(
        Improvement(
            kind="ofi",
            clause="7.1.5.1",
            area=make_area("Final assembly and packing"),
            description="Shadow boards at every station would show missing tools at a glance",
            status="new",
        )
    )
    review = services.prepare(lead, date.today() - timedelta(days=365), date.today())
    db.session.commit()
    log_in_page(phone, live_server.url, lead.email, PASSWORD)
    phone.goto(f"{live_server.url}/reviews/{review.id}")
    assert "Order four calibrated torque wrenches" in phone.inner_text("#previous")
    assert "Shadow boards" in phone.inner_text("#improvement")
    assert fits_screen(phone)
    for chart in phone.locator("svg.chart").all():
        box = chart.bounding_box()
        assert 0 < box["width"] <= 360 and box["height"] > 20
    # Typed-in input, then a decision through htmx: the page is not reloaded, the text stays.
    phone.fill("#in-customer", "Two complaints, both answered within a week")
    phone.evaluate("() => { window.__notReloaded = true; }")
    phone.select_option("#d-output", "resource_need")
    phone.fill("#d-text", "Buy a second torque tester")
    phone.select_option("select[name=action_owner_id]", str(owner.id))
    phone.fill("input[name=action_due_date]", (date.today() + timedelta(days=30)).isoformat())
    phone.tap("#decisions button[type=submit]")
    phone.wait_for_selector("ol.decisions >> text=Buy a second torque tester")
    assert phone.evaluate("() => window.__notReloaded") is True
    assert phone.input_value("#in-customer") == "Two complaints, both answered within a week"
    screenshot(phone, "review-pack-360")
    phone.tap("#inputs-form button[type=submit]")
    phone.wait_for_selector("text=Inputs saved.")
    assert phone.input_value("#in-customer") == "Two complaints, both answered within a week"
    action = db.session.scalar(db.select(CorrectiveAction).filter_by(origin="management_review"))
    assert action is not None and action.owner_id == owner.id


def test_typed_in_inputs_save_themselves_and_leaving_before_asks(app, live_server, browser, make_user):
    """D15: the typed 9.3.2 inputs were lost when the quality lead went elsewhere without pressing Save."""
    lead = make_user("quality_lead")
    review = services.prepare(lead, date.today() - timedelta(days=365), date.today())
    db.session.commit()
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    dialogs: list[str] = []

    def stay(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/reviews/{review.id}")
    page.click("#in-issues")
    page.keyboard.type("Energy prices up by a third")
    page.wait_for_selector("#saved-issues .saved")  # "Saved hh:mm UTC", no button pressed
    db.session.expire_all()
    assert db.session.get(type(review), review.id).inputs == {"issues": "Energy prices up by a third"}
    assert "Saved" in page.inner_text("#saved-issues")
    # The sticky bar is gone: no heading sits under a bar.
    assert page.evaluate("getComputedStyle(document.getElementById('inputs-form')).position") != "sticky"

    # Typed and off at once, before it could be saved: the browser asks, and staying keeps the text.
    page.click("#in-customer")
    page.keyboard.type("Two complaints")
    page.click("nav.mainnav a[href='/nc/']")
    page.wait_for_function("() => !document.querySelector('[data-autosave][data-dirty]')")
    assert dialogs == ["beforeunload"] and page.url.endswith(f"/reviews/{review.id}")
    # Saved now: leaving asks nothing, and coming back shows both.
    page.click("nav.mainnav a[href='/nc/']")
    page.wait_for_url(f"{live_server.url}/nc/")
    page.goto(f"{live_server.url}/reviews/{review.id}")  # from the server, not the browser's history
    assert page.input_value("#in-issues") == "Energy prices up by a third"
    assert page.input_value("#in-customer") == "Two complaints"
    assert dialogs == ["beforeunload"]
    context.close()
