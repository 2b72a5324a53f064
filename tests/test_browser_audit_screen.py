"""The light audit screen in real Chromium (issue 13): what it no longer carries still works.

The 94-item ISO 9001 audit, as its lead auditor: guidance fetched when opened, a finding form that
arrives with the finding grade and saves with a photo, answers; the same with htmx never loaded
(plain posts that get the page's one CSRF token as they are sent); an item on its own page with
JavaScript off; and the screen at every supported width."""

from io import BytesIO

import pytest
from PIL import Image

from auditapp.audits.models import Response
from auditapp.extensions import db
from auditapp.findings.models import Finding
from auditapp.photos.models import Photo

from .support.accounts import PASSWORD
from .support.audits import plan_iso_audit
from .support.browser import fits_screen, log_in_page, phone_context, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def iso(app, make_user, shipped_checklists):
    """(audit, its lead auditor, its items): the 94-item audit, planned for today."""
    lead = make_user("auditor")
    audit = plan_iso_audit(app, make_user("quality_lead"), lead)
    return audit, lead, list(audit.checklist_version.items)


def _jpeg() -> bytes:
    out = BytesIO()
    Image.new("RGB", (1200, 900), (200, 90, 30)).save(out, "JPEG")
    return out.getvalue()


def _results(audit):
    db.session.expire_all()
    return {r.item_id: r.result for r in db.session.scalars(db.select(Response).filter_by(audit_id=audit.id))}


def test_guidance_a_finding_with_a_photo_and_answers_on_the_light_screen(app, live_server, phone, iso):
    audit, lead, items = iso
    page = phone
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    page.evaluate("window.__sameDocument = true")
    first, graded, other = items[0], items[5], items[40]
    assert page.locator("form.finding-form").count() == 0  # none until a finding grade asks for one
    # Off-screen items skip layout only while the page loads (app.css, checklist.js): once parsed, an
    # item far down is laid out like the others, so the browser's look at every form field at
    # DOMContentLoaded is one layout of the page, not one per skipped item.
    far = f"#item-{items[-1].id}"
    assert page.evaluate(f"getComputedStyle(document.querySelector('{far}')).contentVisibility") == "visible"

    page.tap(f"#item-{first.id} details[data-guidance] summary")
    page.wait_for_selector(f"#item-{first.id} details[data-guidance][data-loaded=true]")
    assert first.guidance[:40] in page.inner_text(f"#item-{first.id} details")

    page.tap(f"#item-{graded.id} button[value=minor_nc]")
    page.wait_for_selector(f"#item-{graded.id} .finding-form", state="visible")
    assert page.get_attribute(f"#item-{graded.id} button[value=minor_nc]", "aria-pressed") == "true"
    assert page.get_attribute(f"#item-{graded.id} button[value=conform]", "aria-pressed") == "false"
    # Pre-filled as a requirement (the standard's clause), the question as what was checked (issue 14, D19).
    requirement = page.input_value(f"#requirement-{graded.id}")
    assert requirement.startswith(f"ISO 9001:2015 clause {graded.clause} (") and requirement.endswith(
        f"\nChecked: {graded.question}"
    )
    page.fill(f"#statement-{graded.id}", "The context review is six years old.")
    page.fill(f"#evidence-{graded.id}", "SWOT dated 2020 in the QMS folder.")
    page.tap(f"#item-{graded.id} .finding-form button[type=submit]")
    page.wait_for_selector(f"#item-{graded.id} >> text=Edit finding")
    page.set_input_files(
        f"#item-{graded.id} input[type=file]", files=[{"name": "swot.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}]
    )
    thumb = page.wait_for_selector(f"#item-{graded.id} .photos img")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb)

    page.tap(f"#item-{other.id} button[value=conform]")
    page.wait_for_selector(f"#item-{other.id}.r-conform")
    page.fill(f"#note-{other.id}", "Seen on the shop floor.")
    page.wait_for_selector(f"#item-{other.id} .save-state.saved")
    assert page.evaluate("window.__sameDocument") is True  # all of it swapped in place

    assert _results(audit) == {graded.id: "minor_nc", other.id: "conform"}
    finding = db.session.scalar(db.select(Finding).filter_by(audit_id=audit.id))
    assert finding.statement == "The context review is six years old." and finding.item_id == graded.id
    photo = db.session.scalar(db.select(Photo).filter_by(audit_id=audit.id))
    assert photo.item_id == graded.id and photo.finding_id == finding.id
    note = db.session.scalar(db.select(Response).filter_by(audit_id=audit.id, item_id=other.id)).note
    assert note == "Seen on the shop floor."


def test_taps_before_htmx_is_ready_post_with_the_pages_one_token(app, live_server, browser, iso):
    """htmx never loads here (its file is refused, and no service worker serves it from its cache):
    each tap is a plain post, as a tap on a slow phone before htmx is ready; app.js gives it the
    method, the URL and the page's token."""
    audit, lead, items = iso
    context = browser.new_context(service_workers="block", viewport={"width": 360, "height": 740}, has_touch=True)
    page = context.new_page()
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.route("**/vendor/htmx-*.js*", lambda route: route.abort())
    page.goto(f"{live_server.url}/audits/{audit.id}")
    assert page.evaluate("() => typeof window.htmx") == "undefined"
    item = items[3]
    with page.expect_navigation():
        page.tap(f"#item-{item.id} button[value=conform]")
    assert page.url.endswith(f"/audits/{audit.id}#item-{item.id}")
    assert page.get_attribute(f"#item-{item.id} button[value=conform]", "aria-pressed") == "true"
    graded = items[7]
    with page.expect_navigation():
        page.tap(f"#item-{graded.id} button[value=major_nc]")
    page.fill(f"#statement-{graded.id}", "No records of the last review.")
    page.fill(f"#evidence-{graded.id}", "Asked the quality manager.")
    page.fill(f"#why_major-{graded.id}", "The requirement is not met at all.")
    with page.expect_navigation():
        page.tap(f"#item-{graded.id} .finding-form button[type=submit]")
    assert _results(audit) == {item.id: "conform", graded.id: "major_nc"}
    assert (
        db.session.scalar(db.select(Finding).filter_by(audit_id=audit.id)).statement == "No records of the last review."
    )
    with page.expect_navigation():  # log out still works with htmx blocked
        page.click("form.logout button[type=submit]")
    assert page.url.endswith("/login")
    context.close()


def test_without_javascript_an_item_records_on_its_own_page(app, live_server, browser, iso):
    audit, lead, items = iso
    context = browser.new_context(java_script_enabled=False, viewport={"width": 360, "height": 740})
    page = context.new_page()
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    assert "JavaScript is off" in page.inner_text("main")
    item = items[10]
    page.click(f"#item-{item.id} a.clause")
    page.wait_for_url(f"**/audits/{audit.id}/items/{item.id}")
    with page.expect_navigation():
        page.click(f"#item-{item.id} button[value=conform]")
    assert page.url.endswith(f"/audits/{audit.id}#item-{item.id}")
    assert _results(audit) == {item.id: "conform"}
    with page.expect_navigation():  # back on the audit screen, log out works without JavaScript too
        page.click("form.logout button[type=submit]")
    assert page.url.endswith("/login")
    context.close()


@pytest.mark.parametrize("width", [360, 768, 1024, 1280])
def test_the_audit_screen_fits_every_width_with_44px_targets(app, live_server, browser, iso, width):
    audit, lead, items = iso
    context = phone_context(browser, width, 900, scale=1 if width > 768 else 2)
    page = context.new_page()
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    page.tap(f"#item-{items[5].id} button[value=minor_nc]")  # with a finding form open too
    page.wait_for_selector(f"#item-{items[5].id} .finding-form", state="visible")
    page.tap(f"#item-{items[0].id} details[data-guidance] summary")
    page.wait_for_selector(f"#item-{items[0].id} details[data-loaded=true]")
    assert fits_screen(page), width
    for button in page.locator(f"#item-{items[0].id} button:visible, #item-{items[5].id} button:visible").all():
        assert button.bounding_box()["height"] >= 44, width
    label = page.locator(f"#item-{items[0].id} label.photo-button").bounding_box()
    assert label["height"] >= 44, width
    page.evaluate("() => window.scrollTo(0, 0)")
    screenshot(page, f"audit-screen-94-items-{width}")
    context.close()
