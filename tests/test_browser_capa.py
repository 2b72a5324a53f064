"""The corrective-action loop on a phone: a supervisor completes an action with a photo;
a quality lead verifies effectiveness and closes the nonconformity."""

from datetime import date, timedelta
from io import BytesIO

import pytest
from PIL import Image

from auditapp.capa import services as capa
from auditapp.capa.models import Nonconformity
from auditapp.extensions import db
from auditapp.photos.models import Photo

from .support.accounts import PASSWORD, make_area
from .support.browser import fits_screen, log_in_page, phone_context, screenshot
from .support.capa import raise_nc

pytestmark = pytest.mark.browser


def _jpeg() -> bytes:
    out = BytesIO()
    Image.new("RGB", (900, 1200), (20, 150, 60)).save(out, "JPEG")
    return out.getvalue()


def test_supervisor_completes_an_action_then_a_quality_lead_verifies_and_closes(
    app, live_server, phone, browser, make_user
):
    lead, verifier = make_user("quality_lead"), make_user("quality_lead", name="Vera Verifier")
    supervisor = make_user("supervisor", name="Sam Supervisor")
    nc = raise_nc(lead, make_area("Assembly", supervisor), description="Torque wrench out of calibration")
    capa.record_containment(lead, nc, "Wrench quarantined")
    capa.identify_cause(lead, nc, ["No recall system"], "measurement")
    capa.add_action(lead, nc, "Set up a calibration recall", supervisor.id, date.today() - timedelta(days=1))
    db.session.commit()

    log_in_page(phone, live_server.url, supervisor.email, PASSWORD)
    assert phone.url.endswith("/nc/actions/mine")
    card = phone.locator(".action-card").first
    assert "overdue" in card.inner_text()
    phone.evaluate("window.__sameDocument = true")
    card.locator("textarea").fill("Recall list in the ERP; wrench recalibrated, cert 4411")
    card.locator("input[type=file]").set_input_files(
        files=[{"name": "cert.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}]
    )
    card.locator("button[type=submit]").tap()
    phone.wait_for_selector(".action-card >> text=Done")
    assert phone.evaluate("window.__sameDocument") is True
    assert fits_screen(phone)
    screenshot(phone, "my-actions-done")

    context = phone_context(browser)
    page = context.new_page()
    log_in_page(page, live_server.url, verifier.email, PASSWORD)
    page.goto(f"{live_server.url}/nc/{nc.id}")
    assert page.locator("#actions .photos img").count() == 1
    page.check("input[value=effective]")
    page.fill("#f-evidence", "No out-of-date gauges in 3 weekly checks")
    page.tap("#verification button[type=submit]")
    page.wait_for_selector("text=Verification recorded")
    page.tap("#verification button[type=submit]")  # Close
    page.wait_for_selector(f"text={nc.number} is closed.")
    assert fits_screen(page)
    screenshot(page, "nc-closed")
    context.close()

    db.session.expire_all()
    nc = db.session.get(Nonconformity, nc.id)
    assert nc.status == "closed" and nc.verified_by_id == verifier.id
    assert db.session.scalar(db.select(db.func.count(Photo.id)).filter(Photo.action_id.is_not(None))) == 1


def test_log_is_cards_on_a_phone_and_a_table_on_a_desktop(app, live_server, phone, browser, make_user):
    lead = make_user("quality_lead")
    for i in range(3):
        raise_nc(lead, description=f"Defect {i}")
    log_in_page(phone, live_server.url, lead.email, PASSWORD)
    phone.goto(f"{live_server.url}/nc/")
    assert phone.locator(".nc-table thead").is_hidden()
    assert fits_screen(phone)
    phone.locator("input[type=search]").press_sequentially("Defect 1")
    phone.wait_for_function("() => document.querySelectorAll('.nc-row').length === 1")
    assert "q=Defect+1" in phone.url or "q=Defect%201" in phone.url  # the search is in the URL
    screenshot(phone, "nc-log-phone")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/nc/")
    assert page.locator(".nc-table thead").is_visible()
    context.close()
