"""Marking up a photo on a 360 px phone before it is sent (static/js/markup.js), in real Chromium: a circle,
an arrow and a label drawn with pointer events; the marked-up copy and the original are both stored."""

from io import BytesIO

import pytest
from PIL import Image, ImageChops

from auditapp.extensions import db
from auditapp.photos.models import Photo
from auditapp.photos.storage import photo_store

from .support.accounts import PASSWORD
from .support.audits import items_of
from .support.browser import ARTIFACTS, controlled, fits_screen, log_in_page, phone_context

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1600, 1200  # under the 2048 px the page keeps: the stored photo has these pixels
BACKGROUND = (60, 110, 160)
WIDTHS = (360, 768, 1024, 1280)


def plain_photo() -> bytes:
    out = BytesIO()
    Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND).save(out, "JPEG", quality=95)
    return out.getvalue()


@pytest.fixture
def phone_page(browser):
    context = phone_context(browser, 360, 740)
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield context, page, errors
    context.close()


def open_markup(page, live_server, audit, item):
    page.goto(f"{live_server.url}/audits/{audit.id}")
    page.wait_for_selector(f"#item-{item.id} label.markup-button input[data-markup]", state="attached")
    page.set_input_files(
        f"#item-{item.id} input[data-markup]",
        files=[{"name": "valve.jpg", "mimeType": "image/jpeg", "buffer": plain_photo()}],
    )
    page.wait_for_selector("dialog.markup[open] canvas")


def drag(page, box, start, end):
    """A finger's stroke as pointer events (pointerdown, pointermove..., pointerup) at fractions of the photo."""
    page.mouse.move(box["x"] + start[0] * box["width"], box["y"] + start[1] * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + end[0] * box["width"], box["y"] + end[1] * box["height"], steps=8)
    page.mouse.up()


def finger_drag(page, box, start, end):
    """A finger's stroke on the touch screen (Chromium makes the pointer events, pointerType "touch")."""
    cdp = page.context.new_cdp_session(page)

    def at(fraction):
        return [{"x": box["x"] + fraction[0] * box["width"], "y": box["y"] + fraction[1] * box["height"]}]

    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": at(start)})
    for step in range(1, 9):
        point = tuple(a + (b - a) * step / 8 for a, b in zip(start, end, strict=True))
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": at(point)})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def draw_circle_arrow_and_label(page):
    box = page.locator("dialog.markup canvas").bounding_box()
    assert box["width"] <= 360 and abs(box["width"] / box["height"] - WIDTH / HEIGHT) < 0.02
    assert page.get_attribute("[data-tool=circle]", "aria-pressed") == "true"  # the first tool is ready
    finger_drag(page, box, (0.30, 0.30), (0.60, 0.60))  # an ellipse in that box: its right edge at x = 0.60
    page.wait_for_function("() => !document.querySelector('[data-undo]').disabled")
    page.tap("[data-tool=arrow]")
    drag(page, box, (0.85, 0.90), (0.65, 0.70))
    page.tap("[data-tool=label]")
    page.fill("dialog.markup input[type=text]", "Leak")
    page.mouse.click(box["x"] + 0.08 * box["width"], box["y"] + 0.10 * box["height"])
    page.wait_for_function("() => document.querySelector('[data-send]').textContent === 'Send with marks'")


def targets_and_fit(page):
    small = page.evaluate("""() => Array.from(document.querySelectorAll('dialog.markup button, dialog.markup input'))
        .filter((el) => el.offsetParent !== null)
        .map((el) => [el.textContent || el.placeholder, el.getBoundingClientRect()])
        .filter(([, r]) => r.height < 44 || r.width < 44).map(([name]) => name)""")
    assert small == [], f"targets under 44 px: {small}"
    assert fits_screen(page)
    box = page.locator("dialog.markup canvas").bounding_box()
    viewport = page.viewport_size
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 1
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"] + 1


def grey(image: Image.Image) -> bytes:
    """The image's pixels as 0..255 brightness values (of a difference: how much each pixel changed)."""
    return image.convert("L").tobytes()


def rgb(image: Image.Image) -> list[tuple[int, int, int]]:
    data = image.convert("RGB").tobytes()
    return [(data[i], data[i + 1], data[i + 2]) for i in range(0, len(data), 3)]


def stored_image(photo) -> Image.Image:
    data = photo_store().read(photo.sha256)
    assert data is not None
    return Image.open(BytesIO(data)).convert("RGB")


def assert_pair_stored(audit):
    db.session.expire_all()
    photos = db.session.scalars(db.select(Photo).filter_by(audit_id=audit.id)).all()
    assert len(photos) == 2, photos
    copy = next(p for p in photos if p.marked_up_from_id)
    original = next(p for p in photos if p.id == copy.marked_up_from_id)
    before, after = stored_image(original), stored_image(copy)
    assert before.size == after.size == (WIDTH, HEIGHT)
    # The circle's right edge (x = 0.60 W, y = 0.45 H) is red on the copy, the photo's blue on the original.
    edge = (int(0.60 * WIDTH), int(0.45 * HEIGHT))
    red, green, blue = after.getpixel(edge)
    assert red > 170 and green < 90 and blue < 90, after.getpixel(edge)
    assert max(abs(a - b) for a, b in zip(before.getpixel(edge), BACKGROUND, strict=True)) < 12
    # The drawn region differs, a corner nothing was drawn on does not; the original has no marks at all.
    drawn = ImageChops.difference(before, after).crop((int(0.25 * WIDTH), int(0.25 * HEIGHT), WIDTH, HEIGHT))
    changed = sum(1 for px in grey(drawn) if px > 60)
    assert changed > 5000, changed
    corner = ImageChops.difference(before, after).crop((0, int(0.8 * HEIGHT), int(0.2 * WIDTH), HEIGHT))
    assert max(grey(corner)) < 24
    # The label's red box at the top left.
    label = after.crop((int(0.08 * WIDTH), int(0.05 * HEIGHT), int(0.2 * WIDTH), int(0.15 * HEIGHT)))
    assert sum(1 for r, g, b in rgb(label) if r > 170 and g < 90) > 1000
    assert max(grey(ImageChops.difference(before, Image.new("RGB", before.size, BACKGROUND)))) < 16
    return original, copy


def test_a_photo_marked_up_at_360_px_is_stored_beside_its_original(app, live_server, phone_page, plan, make_user):
    context, page, errors = phone_page
    lead = make_user("auditor")
    audit = plan(lead=lead)
    item = items_of(audit)["7.1.5-gauges"]
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    open_markup(page, live_server, audit, item)
    targets_and_fit(page)
    draw_circle_arrow_and_label(page)
    page.tap("[data-tool=circle]")
    drag(page, page.locator("dialog.markup canvas").bounding_box(), (0.1, 0.7), (0.2, 0.8))
    page.tap("[data-undo]")  # the last circle goes; the three marks stay
    # Playwright's own screenshot hides carets by setting (then emptying) style attributes: caret="initial"
    # keeps the page as it is, so the CSP check below sees only the app's doing.
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "markup-360.png"), caret="initial")
    for width in WIDTHS[1:]:
        page.set_viewport_size({"width": width, "height": 800})
        targets_and_fit(page)
    page.set_viewport_size({"width": 360, "height": 740})
    page.tap("[data-send]")
    page.wait_for_selector(f"#item-{item.id} [data-original]")
    assert page.locator("dialog.markup").count() == 0
    original, copy = assert_pair_stored(audit)
    strip = page.locator(f"#item-{item.id} [data-photo-strip]")
    assert strip.locator("img").count() == 1
    assert strip.locator("img").get_attribute("src") == f"/photos/{copy.id}?size=thumb"
    assert strip.locator("[data-original]").get_attribute("href") == f"/photos/{original.id}"
    assert strip.locator("[data-original]").bounding_box()["height"] >= 44
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        assert fits_screen(page), width
    page.set_viewport_size({"width": 360, "height": 740})
    page.locator(f"#item-{item.id}").screenshot(path=str(ARTIFACTS / "markup-item-360.png"), caret="initial")
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors


def test_skipping_the_markup_sends_the_photo_alone(app, live_server, phone_page, plan, make_user):
    context, page, errors = phone_page
    lead = make_user("auditor")
    audit = plan(lead=lead)
    item = items_of(audit)["7.1.5-gauges"]
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    open_markup(page, live_server, audit, item)
    assert page.text_content("[data-send]") == "Send photo"
    page.tap("[data-send]")
    page.wait_for_selector(f"#item-{item.id} [data-photo-strip] img")
    db.session.expire_all()
    photos = db.session.scalars(db.select(Photo).filter_by(audit_id=audit.id)).all()
    assert len(photos) == 1 and photos[0].marked_up_from_id is None
    # Cancel sends nothing.
    page.set_input_files(
        f"#item-{item.id} input[data-markup]",
        files=[{"name": "b.jpg", "mimeType": "image/jpeg", "buffer": plain_photo()}],
    )
    page.wait_for_selector("dialog.markup[open]")
    page.tap("[data-cancel]")
    page.wait_for_selector("dialog.markup", state="detached")
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Photo.id)).filter_by(audit_id=audit.id)) == 1


def test_a_photo_marked_up_offline_waits_with_its_copy_and_arrives_once(app, live_server, phone_page, plan, make_user):
    context, page, errors = phone_page
    lead = make_user("auditor")
    audit = plan(lead=lead)
    item = items_of(audit)["7.1.5-gauges"]
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    controlled(page)
    page.wait_for_selector(f"#item-{item.id} input[data-markup]", state="attached")
    assert page.evaluate("() => window.auditappMarkup === undefined")  # fetched when first needed...
    context.set_offline(True)  # ...here with no network: from the service worker's shell
    page.set_input_files(
        f"#item-{item.id} input[data-markup]",
        files=[{"name": "valve.jpg", "mimeType": "image/jpeg", "buffer": plain_photo()}],
    )
    page.wait_for_selector("dialog.markup[open] canvas")
    draw_circle_arrow_and_label(page)
    page.tap("[data-send]")
    page.wait_for_selector(f"#item-{item.id} img.queued-photo")
    assert page.locator(f"#item-{item.id} img.queued-photo").count() == 1  # the copy stands for its original
    fields = page.evaluate("""() => window.auditappOutbox.all().then((entries) => entries.map((e) =>
        e.fields.filter((f) => f[1] instanceof Blob).map((f) => f[0])))""")
    assert fields == [["photo", "marked_up"]]  # one change, both files
    context.set_offline(False)
    page.evaluate("() => window.auditappOutbox.flush()")
    page.wait_for_function("() => document.getElementById('sync-badge').hidden === true", timeout=30000)
    page.evaluate("() => window.auditappOutbox.flush()")  # again: nothing doubled
    assert_pair_stored(audit)
    page.wait_for_selector(f"#item-{item.id} [data-original]")


def test_a_form_that_sends_photos_with_other_fields_keeps_the_marked_up_copy_until_it_is_sent(
    app, live_server, phone_page, plan, make_user
):
    """The hook for forms sent by a button (data-markup-here): marking up adds the photo and its copy to the
    form without sending it; the form's request carries them, the marked-up photos first."""
    context, page, errors = phone_page
    lead = make_user("auditor")
    audit = plan(lead=lead)
    item = items_of(audit)["7.1.5-gauges"]
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    page.evaluate(
        """(id) => {
        const form = document.querySelector(`#item-${id} form[data-change=photo]`).cloneNode(true);
        form.removeAttribute("data-change");
        form.dataset.markupHere = "";
        form.id = "by-button";
        form.querySelectorAll("[data-markup]").forEach((el) => el.closest("label").remove());
        const save = document.createElement("button");
        save.type = "submit";
        save.textContent = "Save";
        form.appendChild(save);
        document.querySelector(`#item-${id}`).appendChild(form);
        htmx.process(form);
        form.dispatchEvent(new CustomEvent("htmx:load", { bubbles: true }));
    }""",
        item.id,
    )
    page.wait_for_selector("#by-button input[data-markup]", state="attached")
    page.set_input_files(
        "#by-button input[data-markup]", files=[{"name": "b.jpg", "mimeType": "image/jpeg", "buffer": plain_photo()}]
    )
    page.wait_for_selector("dialog.markup[open]")
    page.tap("[data-send]")  # nothing drawn: the photo joins the form as it is
    page.wait_for_selector("dialog.markup", state="detached")
    page.set_input_files(
        "#by-button input[data-markup]", files=[{"name": "a.jpg", "mimeType": "image/jpeg", "buffer": plain_photo()}]
    )
    page.wait_for_selector("dialog.markup[open] canvas")
    draw_circle_arrow_and_label(page)
    page.tap("[data-send]")
    page.wait_for_selector("dialog.markup", state="detached")
    assert page.evaluate("() => document.querySelector('#by-button input[name=photo]').files.length") == 2
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Photo.id)).filter_by(audit_id=audit.id)) == 0  # not sent yet
    with page.expect_response(lambda r: r.url.endswith(f"/audits/{audit.id}/photos")) as sent:
        page.tap("#by-button button[type=submit]")
    assert sent.value.status == 200
    db.session.expire_all()
    photos = db.session.scalars(db.select(Photo).filter_by(audit_id=audit.id)).all()
    assert len(photos) == 3
    copy = next(p for p in photos if p.marked_up_from_id)
    original = next(p for p in photos if p.id == copy.marked_up_from_id)
    plain = next(p for p in photos if p.id not in (copy.id, original.id))
    assert original.sha256 == plain.sha256  # the same picture twice; the copy is of the one marked up
    red = stored_image(copy).getpixel((int(0.60 * WIDTH), int(0.45 * HEIGHT)))
    assert red[0] > 170 and red[1] < 90
