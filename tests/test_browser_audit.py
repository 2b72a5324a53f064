"""The field audit on a phone, in real Chromium: taps, a finding and a photo, with no page reload."""

import re
from io import BytesIO

import pytest
from PIL import Image

from auditapp.audits.models import Response
from auditapp.extensions import db
from auditapp.findings.models import Finding
from auditapp.photos.models import Photo

from .support.accounts import PASSWORD
from .support.audits import items_of
from .support.browser import fits_screen, log_in_page, phone_context, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def pixel(browser):
    """A Pixel-7-like phone: 412 px wide, touch, mobile."""
    context = phone_context(browser, 412, 839, 2.625)
    yield context.new_page()
    context.close()


def _photo_bytes() -> bytes:
    out = BytesIO()
    Image.new("RGB", (1200, 900), (30, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def test_auditor_records_an_audit_on_a_phone_without_reloading(app, live_server, pixel, plan, make_user):
    lead = make_user("auditor", name="Alex Auditor")
    audit = plan(lead=lead)
    items = items_of(audit)
    page = pixel
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    assert page.url.endswith("/audits/mine")
    page.tap(f"#audit-{audit.id} a.audit-link")
    page.wait_for_url(f"**/audits/{audit.id}")
    page.evaluate("window.__sameDocument = true")
    assert "0/5 answered" in page.inner_text("#progress")

    for key in ("8.5.2-traceability", "8.5.4-storage", "8.7-segregation"):
        item = items[key]
        page.tap(f"#item-{item.id} button[value=conform]")
        page.wait_for_selector(f"#item-{item.id}.r-conform")
    page.wait_for_function("() => document.querySelector('#progress').innerText.includes('3/5')")

    gauges = items["7.1.5-gauges"]
    page.tap(f"#item-{gauges.id} button[value=minor_nc]")
    page.wait_for_selector(f"#item-{gauges.id} .finding-form")
    page.fill(f"#statement-{gauges.id}", "Gauge G-17 is past its calibration date.")
    page.tap(f"#item-{gauges.id} .finding-form button[type=submit]")
    page.wait_for_selector(f"#item-{gauges.id} .finding-form >> text=Record the objective evidence")
    assert page.input_value(f"#statement-{gauges.id}") == "Gauge G-17 is past its calibration date."
    page.fill(f"#evidence-{gauges.id}", "Label on G-17 shows due 2026-10-01.")
    page.tap(f"#item-{gauges.id} .finding-form button[type=submit]")
    page.wait_for_selector(f"#item-{gauges.id} >> text=Edit finding")

    page.set_input_files(
        f"#item-{gauges.id} input[type=file]",
        files=[{"name": "gauge.jpg", "mimeType": "image/jpeg", "buffer": _photo_bytes()}],
    )
    thumb = page.wait_for_selector(f"#item-{gauges.id} .photos img")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb)
    page.wait_for_function("() => document.querySelector('#progress').innerText.includes('4/5')")

    note = page.locator(f"#note-{items['8.5.4-storage'].id}")
    note.fill("Pallets stored off the floor.")
    page.wait_for_selector(f"#item-{items['8.5.4-storage'].id} .save-state.saved")

    assert page.evaluate("window.__sameDocument") is True  # every change swapped in place
    assert fits_screen(page)
    screenshot(page, "audit-screen-phone")

    db.session.expire_all()
    results = {r.item.key: r.result for r in db.session.scalars(db.select(Response).filter_by(audit_id=audit.id))}
    assert results == {
        "8.5.2-traceability": "conform",
        "8.5.4-storage": "conform",
        "8.7-segregation": "conform",
        "7.1.5-gauges": "minor_nc",
    }
    finding = db.session.scalar(db.select(Finding).filter_by(audit_id=audit.id))
    assert finding.evidence == "Label on G-17 shows due 2026-10-01."
    assert db.session.scalar(db.select(db.func.count(Photo.id))) == 1
    storage = db.session.scalar(db.select(Response).filter_by(audit_id=audit.id, item_id=items["8.5.4-storage"].id))
    assert storage.note == "Pallets stored off the floor."


def test_an_online_photo_upload_sends_the_photo_downscaled_in_the_page(app, live_server, pixel, plan, make_user):
    """A 12 MP photo leaves the phone at the size the server keeps (long edge 2048 px), online too."""
    lead = make_user("auditor")
    audit = plan(lead=lead)
    gauges = items_of(audit)["7.1.5-gauges"]
    out = BytesIO()
    Image.effect_noise((4000, 3000), 60).convert("RGB").save(out, "JPEG", quality=90)  # grainy, like a phone's
    full = out.getvalue()
    page = pixel
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    sent = []
    page.on("request", lambda r: sent.append(len(r.post_data_buffer or b"")) if r.url.endswith("/photos") else None)
    page.set_input_files(
        f"#item-{gauges.id} input[type=file]", files=[{"name": "big.jpg", "mimeType": "image/jpeg", "buffer": full}]
    )
    page.wait_for_selector(f"#item-{gauges.id} .photos img")

    db.session.expire_all()
    photo = db.session.scalar(db.select(Photo).filter_by(audit_id=audit.id))
    assert (photo.original_width, photo.original_height) == (2048, 1536)  # what arrived, not 4000x3000
    assert len(sent) == 1 and sent[0] < len(full) / 2


def test_results_are_big_enough_to_tap(app, live_server, browser, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    context = phone_context(browser)
    page = context.new_page()
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    for button in page.locator(".results button").all():
        box = button.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44
    assert fits_screen(page)
    screenshot(page, "audit-screen-360")
    context.close()


def test_report_prints_on_a4(app, live_server, browser, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    context = browser.new_context()
    page = context.new_page()
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}/report")
    page.emulate_media(media="print")
    assert page.locator("nav.mainnav").is_hidden() and page.locator(".topbar").is_hidden()
    pdf = page.pdf(prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF")
    # A4 is 595 x 842 points; the print stylesheet's @page rule sets it.
    boxes = re.findall(rb"/MediaBox ?\[0 0 ([0-9.]+) ([0-9.]+)\]", pdf)
    assert boxes and all(abs(float(w) - 595) < 1 and abs(float(h) - 842) < 1 for w, h in boxes), boxes
    context.close()
