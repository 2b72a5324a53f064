"""The finding card on a 360 px phone, in real Chromium (issue 14): the major-NC path in at most 5 taps
plus the statement, photo first or text first, and nothing typed lost to an item swap, a refusal, a
reload, a tab closed while the camera was open, or an offline reload."""

from io import BytesIO

import pytest
from PIL import Image

from auditapp.capa.models import Nonconformity
from auditapp.extensions import db
from auditapp.findings.models import MAJOR_REASONS, Finding
from auditapp.photos.models import Photo

from .support.accounts import PASSWORD
from .support.audits import items_of
from .support.browser import controlled, eventually, fits_screen, log_in_page, phone_context, screenshot

pytestmark = pytest.mark.browser

STATEMENT = "Work order 4711 at station 3 has no traceability label; 2 of 5 bins unlabelled."


def photo(color=(30, 120, 200)) -> dict:
    out = BytesIO()
    Image.new("RGB", (1600, 1200), color).save(out, "JPEG")
    return {"name": "evidence.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


@pytest.fixture
def phone360(browser):
    context = phone_context(browser)
    yield context, context.new_page()
    context.close()


class Taps:
    """Counts what the auditor does: taps (a tap that opens the camera or file chooser counts once)
    and text fields typed into."""

    def __init__(self, page):
        self.page, self.taps, self.typed = page, 0, 0

    def tap(self, selector):
        self.taps += 1
        self.page.tap(selector)

    def photo(self, selector, file):
        self.taps += 1
        with self.page.expect_file_chooser() as chooser:
            self.page.tap(selector)
        chooser.value.set_files(file)

    def type_into_focused(self, text):
        self.typed += 1
        self.page.keyboard.type(text)

    def type_into(self, selector, text):
        self.tap(selector)
        self.typed += 1
        self.page.keyboard.type(text)


def wait_for_statement_focus(page, item):
    """The app focuses the statement of a finding form that a tapped grade opened once the swapped item has
    settled (htmx:load, a moment after the form is visible): keys typed before that are lost."""
    page.wait_for_function(f"() => document.activeElement === document.getElementById('statement-{item.id}')")


def db_finding(audit, item):
    db.session.expire_all()
    return db.session.scalar(db.select(Finding).filter_by(audit_id=audit.id, item_id=item.id))


def open_audit(page, base, audit, lead):
    log_in_page(page, base, lead.email, PASSWORD)
    page.goto(f"{base}/audits/{audit.id}")


def drafts(page) -> dict:
    return page.evaluate(
        "() => Object.fromEntries(Object.keys(localStorage).filter((k) => k.startsWith('auditapp:draft:'))"
        ".map((k) => [k, JSON.parse(localStorage.getItem(k))]))"
    )


def test_a_major_nc_with_statement_and_photo_takes_at_most_5_taps(app, live_server, phone360, plan, make_user):
    """Audit open -> major NC with statement and photo saved: text first, then the photo."""
    context, page = phone360
    lead = make_user("auditor")
    audit = plan(lead=lead)
    item = items_of(audit)["8.5.2-traceability"]
    open_audit(page, live_server.url, audit, lead)
    sel = f"#item-{item.id}"
    user = Taps(page)

    user.tap(f"{sel} button[value=major_nc]")
    page.wait_for_selector(f"{sel} .finding-form", state="visible")
    wait_for_statement_focus(page, item)
    user.type_into_focused(STATEMENT)  # the statement is focused when the form opens: no tap
    assert "Draft kept on this device" in page.inner_text(f"{sel} [data-draft-state]")
    user.tap(f"{sel} input[name=why_major_reason][value=product_risk]")
    user.photo(f"{sel} [data-finding-photo]", photo())
    page.wait_for_selector(f"{sel} [data-photo-preview] img")
    user.tap(f"{sel} .finding-form button[type=submit]")
    number = page.wait_for_selector(f"{sel} .nc-ref a").inner_text()

    print(f"\nmajor NC with statement and photo: {user.taps} taps, {user.typed} typed field(s)")
    assert user.taps <= 5 and user.typed == 1, (user.taps, user.typed)
    finding = db_finding(audit, item)
    nc = db.session.scalar(db.select(Nonconformity).filter_by(finding_id=finding.id))
    assert number == nc.number and number.startswith("NC-")
    assert page.get_attribute(f"{sel} .nc-ref a", "href") == f"/nc/{nc.id}"
    assert finding.statement == STATEMENT and finding.why_major == MAJOR_REASONS["product_risk"]
    assert finding.requirement.startswith("ISO 9001:2015 clause 8.5.2")  # the ISO content is in the record
    photos = db.session.scalars(db.select(Photo).filter_by(audit_id=audit.id)).all()
    assert len(photos) == 1 and photos[0].finding_id == finding.id
    assert drafts(page) == {}  # the server has it: the draft is gone
    assert fits_screen(page)
    screenshot(page, "finding-card-major-nc-saved-360")


def test_photo_first_then_text(app, live_server, phone360, plan, make_user):
    context, page = phone360
    lead = make_user("auditor")
    audit = plan(lead=lead)
    item = items_of(audit)["8.5.2-traceability"]
    open_audit(page, live_server.url, audit, lead)
    sel = f"#item-{item.id}"
    user = Taps(page)
    user.tap(f"{sel} button[value=major_nc]")
    page.wait_for_selector(f"{sel} .finding-form", state="visible")
    user.photo(f"{sel} [data-finding-photo]", photo())
    page.wait_for_selector(f"{sel} [data-photo-preview] img")
    user.type_into(f"#statement-{item.id}", STATEMENT)
    user.tap(f"{sel} input[name=why_major_reason][value=absent]")
    user.tap(f"{sel} .finding-form button[type=submit]")
    page.wait_for_selector(f"{sel} .nc-ref a")
    print(f"\nphoto first: {user.taps} taps, {user.typed} typed field(s)")
    assert user.taps <= 5
    finding = db_finding(audit, item)
    assert finding.statement == STATEMENT and finding.why_major == MAJOR_REASONS["absent"]
    assert db.session.scalar(db.select(db.func.count(Photo.id)).filter_by(finding_id=finding.id)) == 1


def test_a_photo_added_on_the_item_and_a_refusal_keep_what_was_typed(app, live_server, phone360, plan, make_user):
    """D1: the item's Add photo swaps the item; a refused save too. The text (and a photo taken in the
    form) come back."""
    context, page = phone360
    lead = make_user("auditor")
    audit = plan(lead=lead)
    item = items_of(audit)["8.5.2-traceability"]
    open_audit(page, live_server.url, audit, lead)
    sel = f"#item-{item.id}"
    page.tap(f"{sel} button[value=major_nc]")
    page.wait_for_selector(f"{sel} .finding-form", state="visible")
    wait_for_statement_focus(page, item)
    page.keyboard.type(STATEMENT)
    page.fill(f"#evidence-{item.id}", "Bins B2 and B4.")
    page.set_input_files(f"{sel} [data-photo-strip] input[type=file]", files=[photo((200, 40, 40))])  # the item's own
    page.wait_for_selector(f"{sel} .photos figure img")
    # The draft is put back when the swapped item arrives (htmx:load, a moment after its photo shows).
    page.wait_for_function(f"() => document.getElementById('statement-{item.id}').value !== ''")
    assert page.input_value(f"#statement-{item.id}") == STATEMENT
    assert page.input_value(f"#evidence-{item.id}") == "Bins B2 and B4."

    with page.expect_file_chooser() as chooser:
        page.tap(f"{sel} [data-finding-photo]")
    chooser.value.set_files(photo())
    page.wait_for_selector(f"{sel} [data-photo-preview] img")
    with page.expect_response(lambda r: r.url.endswith("/finding")) as refused:
        page.tap(f"{sel} .finding-form button[type=submit]")  # no reason why it is major: refused
    assert refused.value.status == 422
    page.wait_for_selector(f"{sel} .finding-form >> text=Choose why this is a major nonconformity")
    assert page.input_value(f"#statement-{item.id}") == STATEMENT
    # The preview is put back when the swapped form arrives (htmx:load, just after the swap).
    page.wait_for_selector(f"{sel} [data-photo-preview]:has-text('1 photo will be saved with the finding')")
    assert db_finding(audit, item) is None
    page.tap(f"{sel} input[name=why_major_reason][value=systemic]")
    page.tap(f"{sel} .finding-form button[type=submit]")
    page.wait_for_selector(f"{sel} .nc-ref a")
    finding = db_finding(audit, item)
    assert finding.statement == STATEMENT and finding.evidence == "Bins B2 and B4."
    assert db.session.scalar(db.select(db.func.count(Photo.id)).filter_by(item_id=item.id)) == 2
    assert db.session.scalar(db.select(db.func.count(Photo.id)).filter_by(finding_id=finding.id)) == 2


def test_a_reload_in_the_middle_of_a_finding_keeps_it(app, live_server, phone360, plan, make_user):
    context, page = phone360
    lead = make_user("auditor")
    audit = plan(lead=lead)
    item = items_of(audit)["8.5.2-traceability"]
    open_audit(page, live_server.url, audit, lead)
    sel = f"#item-{item.id}"
    page.tap(f"{sel} button[value=minor_nc]")
    page.wait_for_selector(f"{sel} .finding-form", state="visible")
    wait_for_statement_focus(page, item)
    page.keyboard.type(STATEMENT)
    page.reload()
    page.wait_for_selector(f"{sel} [data-draft-state]")
    assert page.input_value(f"#statement-{item.id}") == STATEMENT
    assert "Draft kept on this device" in page.inner_text(f"{sel} [data-draft-state]")
    assert db_finding(audit, item) is None
    page.fill(f"#evidence-{item.id}", "Seen at station 3.")
    page.tap(f"{sel} .finding-form button[type=submit]")
    page.wait_for_selector(f"{sel} >> text=Edit finding")
    assert db_finding(audit, item).statement == STATEMENT and drafts(page) == {}


def test_a_tab_closed_while_the_camera_is_open_keeps_the_finding(app, live_server, phone360, plan, make_user):
    """Low-memory Android phones kill the tab while the camera app is open: closing the page and opening
    it again is the same for the page."""
    context, page = phone360
    lead = make_user("auditor")
    audit = plan(lead=lead)
    item = items_of(audit)["8.5.2-traceability"]
    open_audit(page, live_server.url, audit, lead)
    sel = f"#item-{item.id}"
    page.tap(f"{sel} button[value=major_nc]")
    page.wait_for_selector(f"{sel} .finding-form", state="visible")
    wait_for_statement_focus(page, item)
    page.keyboard.type(STATEMENT)
    page.tap(f"{sel} input[name=why_major_reason][value=systemic]")
    with page.expect_file_chooser():
        page.tap(f"{sel} [data-finding-photo]")  # the camera opens ... and the tab is killed
    page.close()

    again = context.new_page()
    again.goto(f"{live_server.url}/audits/{audit.id}")
    again.wait_for_selector(f"{sel} [data-draft-state]")
    assert again.input_value(f"#statement-{item.id}") == STATEMENT
    assert again.is_checked(f"{sel} input[name=why_major_reason][value=systemic]")
    with again.expect_file_chooser() as chooser:
        again.tap(f"{sel} [data-finding-photo]")
    chooser.value.set_files(photo())
    again.wait_for_selector(f"{sel} [data-photo-preview] img")
    again.tap(f"{sel} .finding-form button[type=submit]")
    again.wait_for_selector(f"{sel} .nc-ref a")
    finding = db_finding(audit, item)
    assert finding.statement == STATEMENT and finding.why_major == MAJOR_REASONS["systemic"]


def test_an_offline_reload_shows_the_waiting_findings_text_and_it_syncs_once(
    app, live_server, phone360, plan, make_user
):
    """D9: a finding saved offline shows its text after a reload; after the sync, the server has it once."""
    context, page = phone360
    lead = make_user("auditor")
    audit = plan(lead=lead)
    item = items_of(audit)["8.5.2-traceability"]
    open_audit(page, live_server.url, audit, lead)
    controlled(page)
    page.tap("[data-offline-urls]")
    page.wait_for_selector("[data-offline-urls][data-ready=true]")
    context.set_offline(True)
    sel = f"#item-{item.id}"
    page.tap(f"{sel} button[value=minor_nc]")
    page.wait_for_selector(f"{sel} .finding-form", state="visible")
    page.fill(f"#statement-{item.id}", STATEMENT)
    page.fill(f"#evidence-{item.id}", "Seen at station 3.")
    with page.expect_file_chooser() as chooser:
        page.tap(f"{sel} [data-finding-photo]")
    chooser.value.set_files(photo())
    page.wait_for_selector(f"{sel} [data-photo-preview] img")
    page.tap(f"{sel} .finding-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#sync-badge [data-count]').textContent === '2'")
    page.wait_for_selector(f"{sel} img.queued-photo")  # the photo waits with its finding

    page.reload()  # offline
    page.wait_for_selector(f"{sel}.queued .finding-form")
    assert page.input_value(f"#statement-{item.id}") == STATEMENT
    assert page.input_value(f"#evidence-{item.id}") == "Seen at station 3."
    page.wait_for_selector(f"{sel} img.queued-photo")
    screenshot(page, "finding-card-offline-reload-360")

    context.set_offline(False)
    page.evaluate("() => window.auditappOutbox.flush()")
    page.wait_for_function("() => document.getElementById('sync-badge').hidden === true", timeout=20000)
    page.wait_for_selector(f"{sel} >> text=Edit finding")
    db.session.expire_all()
    findings = db.session.scalars(db.select(Finding).filter_by(audit_id=audit.id)).all()
    assert [f.statement for f in findings] == [STATEMENT]
    photos = db.session.scalars(db.select(Photo).filter_by(audit_id=audit.id)).all()
    assert len(photos) == 1 and photos[0].finding_id == findings[0].id  # sent once, with its finding
    assert drafts(page) == {}


@pytest.mark.parametrize("width", [360, 768, 1024, 1280])
def test_the_open_finding_card_fits_and_its_targets_are_big_enough(app, live_server, browser, plan, make_user, width):
    context = (
        phone_context(browser, width, 900)
        if width < 768
        else browser.new_context(viewport={"width": width, "height": 900})
    )
    page = context.new_page()
    lead = make_user("auditor")
    audit = plan(lead=lead)
    item = items_of(audit)["7.1.5-gauges"]
    open_audit(page, live_server.url, audit, lead)
    sel = f"#item-{item.id}"
    said = page.evaluate(f"() => getComputedStyle(document.querySelector('{sel} h3'), '::after').content")
    assert said == '"Photo needed if NC"'  # before grading (D2)
    page.click(f"{sel} button[value=major_nc]")
    page.wait_for_selector(f"{sel} .finding-form", state="visible")
    for target in (
        "[data-finding-photo]",
        ".finding-form button[type=submit]",
        ".why-major label",
        ".finding-more > summary",
    ):
        box = page.locator(f"{sel} {target}").first.bounding_box()
        assert box["height"] >= 44, (width, target, box)
    assert fits_screen(page)
    screenshot(page, f"finding-card-open-{width}")

    page.goto(f"{live_server.url}/audits/{audit.id}/complete")  # the major NC has no finding yet: blocked
    blocker = page.locator("#blockers a").first
    assert blocker.get_attribute("href") == f"/audits/{audit.id}#item-{item.id}"
    assert "Are gauges within calibration?" in blocker.inner_text()
    button = page.locator("button[type=submit].button-primary")
    assert button.is_disabled()
    assert float(button.evaluate("b => getComputedStyle(b).opacity")) < 0.6  # D3: looks disabled
    assert fits_screen(page)
    page.goto(f"{live_server.url}/audits/{audit.id}/report")
    assert fits_screen(page)
    context.close()


def test_a_shared_phone_shows_a_draft_only_to_who_typed_it(app, live_server, phone360, plan, make_user):
    context, page = phone360
    lead, colleague = make_user("auditor"), make_user("auditor")
    audit = plan(lead=lead, team=[colleague])
    item = items_of(audit)["8.5.2-traceability"]
    open_audit(page, live_server.url, audit, lead)
    sel = f"#item-{item.id}"
    page.tap(f"{sel} button[value=minor_nc]")
    page.wait_for_selector(f"{sel} .finding-form", state="visible")
    wait_for_statement_focus(page, item)
    page.keyboard.type(STATEMENT)
    with page.expect_navigation():
        page.click("form.logout button[type=submit]")

    open_audit(page, live_server.url, audit, colleague)
    page.wait_for_selector(f"{sel} .finding-form", state="visible")
    assert page.input_value(f"#statement-{item.id}") == ""  # not the lead's draft
    assert page.locator(f"{sel} [data-draft-state]").count() == 0
    with page.expect_navigation():
        page.click("form.logout button[type=submit]")

    open_audit(page, live_server.url, audit, lead)
    page.wait_for_selector(f"{sel} [data-draft-state]")
    assert page.input_value(f"#statement-{item.id}") == STATEMENT  # still kept for who typed it


# How many findings' photos the device keeps (IndexedDB "auditapp-drafts", drafts.js). Not opened before
# the page made it: opening it would make it empty, without its store.
PHOTO_DRAFTS = """async () => {
    if (!(await indexedDB.databases()).some((d) => d.name === "auditapp-drafts")) return 0;
    return await new Promise((resolve) => {
        const req = indexedDB.open("auditapp-drafts");
        req.onsuccess = () => {
            const db = req.result;
            if (!db.objectStoreNames.contains("photos")) { db.close(); resolve(0); return; }
            const get = db.transaction("photos").objectStore("photos").getAllKeys();
            get.onsuccess = () => { db.close(); resolve(get.result.length); };
        };
    });
}"""


def photo_drafts_are(count: int) -> str:
    return f"() => ({PHOTO_DRAFTS})().then((n) => n === {count})"


def test_a_photo_chosen_in_the_finding_survives_a_reload_and_goes_with_the_finding(
    app, live_server, phone360, plan, make_user
):
    """The photo waits on the device with the text: a reload (or the tab reopened) brings both back."""
    context, page = phone360
    lead = make_user("auditor")
    audit = plan(lead=lead)
    item = items_of(audit)["8.5.2-traceability"]
    open_audit(page, live_server.url, audit, lead)
    sel = f"#item-{item.id}"
    page.tap(f"{sel} button[value=minor_nc]")
    page.wait_for_selector(f"{sel} .finding-form", state="visible")
    with page.expect_file_chooser() as chooser:
        page.tap(f"{sel} [data-finding-photo]")
    chooser.value.set_files(photo())
    page.wait_for_selector(f"{sel} [data-photo-preview] img")
    # Kept once downscaled: wait until the device holds it, then reload.
    eventually(page, photo_drafts_are(1))
    page.reload()
    page.wait_for_selector(f"{sel} [data-photo-preview] img")
    assert "1 photo will be saved with the finding" in page.inner_text(f"{sel} [data-photo-preview]")
    page.tap(f"#statement-{item.id}")
    page.keyboard.type(STATEMENT)
    page.tap(f"{sel} .finding-form button[type=submit]")
    page.wait_for_selector(f"{sel} .nc-ref a")
    finding = db_finding(audit, item)
    photos = db.session.scalars(db.select(Photo).filter_by(audit_id=audit.id)).all()
    assert finding.statement == STATEMENT and len(photos) == 1 and photos[0].finding_id == finding.id
    # The server has them: nothing is left on the device to be sent twice.
    eventually(page, photo_drafts_are(0))
    page.reload()
    page.wait_for_selector(f"{sel} .nc-ref a")
    assert page.locator(f"{sel} [data-photo-preview] img").count() == 0
