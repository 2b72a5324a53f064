"""Supervisors in a real Chromium (issue 14): the NC log scans on a phone and breaks no word on wider
screens; My actions shows the problem and the chosen photo and completes in place; the NC page's steps
update in place and a phone opens it at the step to do."""

from datetime import date, timedelta
from io import BytesIO

import pytest
from PIL import Image

from auditapp.capa import services as capa
from auditapp.capa.models import Nonconformity
from auditapp.extensions import db

from .support.accounts import PASSWORD, make_area
from .support.browser import fits_screen, log_in_page, phone_context, screenshot
from .support.capa import raise_nc

pytestmark = pytest.mark.browser

WIDTHS = (360, 768, 1024, 1280)

# Every word of the page's table cells (or cards) that is drawn on more than one line: "Numbe/r".
BROKEN_WORDS = """(selector) => {
  const broken = [];
  for (const cell of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const re = /\\S+/g;
      for (let m = re.exec(node.data); m; m = re.exec(node.data)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set(Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (tops.size > 1) broken.push(m[0]);
      }
    }
  }
  return broken;
}"""

# How many NCs a 740 px tall screen shows: the screen's height over the distance from one row to the next.
ROWS_PER_SCREEN = """() => {
  const rows = Array.from(document.querySelectorAll('.nc-row'));
  const tops = rows.map(r => r.getBoundingClientRect().top);
  const pitch = (tops[tops.length - 1] - tops[0]) / (rows.length - 1);
  return {pitch: pitch, perScreen: window.innerHeight / pitch};
}"""


def _jpeg(color=(20, 150, 60)) -> bytes:
    out = BytesIO()
    Image.new("RGB", (900, 1200), color).save(out, "JPEG")
    return out.getvalue()


def _log_of_twenty(make_user):
    lead = make_user("quality_lead")
    supervisor = make_user("supervisor", name="Sam Supervisor")
    machining = make_area("Machining", supervisor)
    clauses = ["7.1.5.2", "8.5.1", "8.4.2", "7.5.3.2", "10.2.1"]
    for i in range(20):
        nc = raise_nc(
            lead,
            machining,
            severity="major" if i % 3 == 0 else "minor",
            clause=clauses[i % len(clauses)],
            description=f"Torque wrench {i} used past its calibration date on the spindle line, station {i}",
        )
        if i % 2:
            capa.record_containment(lead, nc, "Quarantined")
            db.session.commit()
    return lead, supervisor


def test_the_nc_log_breaks_no_word_and_a_phone_shows_a_screenful(app, live_server, browser, make_user):
    lead, _ = _log_of_twenty(make_user)
    figures = {}
    for width in WIDTHS:
        context = phone_context(browser, width=width, height=740)
        page = context.new_page()
        log_in_page(page, live_server.url, lead.email, PASSWORD)
        page.goto(f"{live_server.url}/nc/?status=")
        assert fits_screen(page), width
        screenshot(page, f"supervisors-nc-log-{width}")
        broken = page.evaluate(BROKEN_WORDS, ".nc-table th, .nc-table td:not([data-label=Title])")
        assert broken == [], (width, broken)
        figures[width] = page.evaluate(ROWS_PER_SCREEN)
        # Each NC opens with one tap on a target at least 44 px tall.
        link = page.locator(".nc-row a").first
        box = page.locator(".nc-row").first.bounding_box() if width < 1024 else link.bounding_box()
        assert box["height"] >= 44, width
        if width < 1024:  # the whole row is the link: a tap on its title opens the NC
            row = page.locator(".nc-row").first
            number = row.locator("td[data-label=Number]").inner_text().strip()
            title = row.locator("td[data-label=Title]").bounding_box()
            page.mouse.click(title["x"] + title["width"] / 2, title["y"] + title["height"] / 2)
            page.wait_for_url(lambda url: "/nc/" in url and "status=" not in url)
            assert number in page.locator("h1, .nc-head").first.inner_text() or number in page.title()
        context.close()
    print(f"NCs per 740 px screen: {figures}")
    assert figures[360]["perScreen"] >= 8, figures


def _raise_with_photo(app, lead, area, description):
    """A nonconformity raised by hand with one photo, through the app (as a quality lead would)."""
    client = app.test_client()
    client.post("/login", data={"email": lead.email, "password": PASSWORD})
    response = client.post(
        "/nc/new",
        data={
            "source": "customer_complaint",
            "clause": "8.5.1",
            "severity": "major",
            "area_id": str(area.id) if area else "",
            "description": description,
            "photo": (BytesIO(_jpeg((200, 40, 40))), "burr.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    return db.session.scalars(db.select(Nonconformity).where(Nonconformity.description == description)).one()


def test_my_actions_shows_the_problem_and_the_chosen_photo_and_completes_in_place(app, live_server, browser, make_user):
    lead = make_user("quality_lead")
    supervisor = make_user("supervisor", name="Sam Supervisor")
    machining = make_area("Machining", supervisor)
    new = raise_nc(lead, machining, severity="major", description="Spindle guard missing on lathe 3")
    nc = _raise_with_photo(app, lead, None, "Burr on housing edge, lot 4411")
    capa.record_containment(lead, nc, "Lot held")
    capa.identify_cause(lead, nc, ["Worn deburring tool"], "machine")
    for width in (360, 768, 1280):
        capa.add_action(
            lead, nc, f"Replace the deburring tool ({width})", supervisor.id, date.today() + timedelta(days=7)
        )
    db.session.commit()
    for width in (360, 768, 1280):
        context = phone_context(browser, width=width, height=740)
        page = context.new_page()
        log_in_page(page, live_server.url, supervisor.email, PASSWORD)
        assert page.url.endswith("/nc/actions/mine")
        # The new NC to contain: on the home page and as a count in the menu.
        assert new.number in page.locator("#to-contain").inner_text()
        assert page.locator("nav.mainnav [data-testid=contain-badge]").inner_text().strip().endswith("1")
        assert page.locator("nav.mainnav [data-testid=contain-badge]").is_visible()
        card = page.locator(".action-card:has(form)").first
        assert "Burr on housing edge, lot 4411" in card.inner_text()
        thumb = card.locator(".action-problem img")
        thumb.wait_for()
        page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
        assert card.locator(".photo-chosen").is_hidden()
        page.evaluate("window.__notReloaded = true")
        card.locator("textarea").fill("New tool fitted, first 20 parts checked")
        card.locator("input[type=file]").set_input_files(
            files=[{"name": "new-tool.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}]
        )
        chosen = card.locator(".photo-chosen")
        assert chosen.is_visible() and "1 photo chosen" in chosen.inner_text() and "new-tool.jpg" in chosen.inner_text()
        page.wait_for_function(
            "(img) => img.complete && img.naturalWidth > 0", arg=chosen.locator("img").element_handle()
        )
        assert fits_screen(page), width
        for target in page.locator("main button:visible, #to-contain a:visible").all():
            assert target.bounding_box()["height"] >= 44, (width, target.inner_text())
        screenshot(page, f"supervisors-my-actions-chosen-{width}")
        card_id = card.get_attribute("id")
        card.locator("button[type=submit]").click()
        page.locator(f"#{card_id} .flash-success").wait_for()
        assert page.evaluate("window.__notReloaded") is True
        assert "Burr on housing edge" in page.locator(f"#{card_id}").inner_text()
        context.close()


def test_the_nc_page_opens_at_the_step_to_do_and_its_steps_update_in_place(app, live_server, browser, make_user):
    lead = make_user("quality_lead")
    supervisor = make_user("supervisor", name="Sam Supervisor")
    area = make_area("Machining", supervisor)
    nc = _raise_with_photo(app, lead, area, "Spindle guard missing on lathe 3 after the night shift cleaning")
    for i in range(3):  # similar NCs make the page long, as in the field
        raise_nc(lead, area, clause="8.5.1", description=f"Earlier guard problem {i}")
    for width in (768, 1280):
        context = phone_context(browser, width=width, height=740)
        page = context.new_page()
        log_in_page(page, live_server.url, supervisor.email, PASSWORD)
        page.goto(f"{live_server.url}/nc/{nc.id}")
        assert fits_screen(page), width
        assert page.evaluate("window.scrollY") == 0  # wider screens show the page from the top
        for button in page.locator("main button:visible").all():
            assert button.bounding_box()["height"] >= 44, (width, button.inner_text())
        context.close()

    phone = phone_context(browser).new_page()
    log_in_page(phone, live_server.url, supervisor.email, PASSWORD)
    phone.goto(f"{live_server.url}/nc/{nc.id}")
    assert phone.locator("nav.mainnav [data-testid=contain-badge]").inner_text().strip().endswith("4")
    # A phone opens at the step to do: containment, at the top of the screen.
    top = phone.evaluate("document.getElementById('containment').getBoundingClientRect().top")
    assert phone.evaluate("window.scrollY") > 0 and 0 <= top < 80, top
    assert fits_screen(phone)
    for button in phone.locator("main button:visible").all():
        assert button.bounding_box()["height"] >= 44, button.inner_text()
    phone.evaluate("window.__notReloaded = true")
    phone.fill("#f-containment", "Lathe 3 locked out and tagged")
    phone.click("#containment button[type=submit]")
    phone.locator("#containment .step-notice").wait_for()
    assert f"Containment recorded for {nc.number}." in phone.locator("#containment").inner_text()
    assert phone.evaluate("window.scrollY") > 0  # still where the supervisor was, not at the top
    # The menu's count follows: four new NCs in the area to contain, three now.
    assert phone.locator("nav.mainnav [data-testid=contain-badge]").inner_text().strip().endswith("3")
    # 5 Whys: "Add a why" keeps the place and focuses the new why.
    phone.fill("#why-0", "Guard taken off for cleaning")
    before = phone.evaluate("document.getElementById('cause').getBoundingClientRect().top")
    phone.click("#cause button[value=add]")
    phone.locator("#why-1").wait_for()
    # htmx focuses the [autofocus] why when the swap settles, a moment after it appears.
    phone.wait_for_function("() => document.activeElement && document.activeElement.id === 'why-1'", timeout=5000)
    after = phone.evaluate("document.getElementById('cause').getBoundingClientRect().top")
    assert abs(after - before) < 200 and phone.evaluate("window.scrollY") > 0, (before, after)
    print(
        f"Add a why: the 5-Whys card's top {before:.0f} px -> {after:.0f} px, scrollY {phone.evaluate('window.scrollY')}"
    )
    phone.fill("#why-1", "No interlock on the guard")
    # Refused (no category): answered in place, everything typed kept.
    phone.click("#cause button[value=save]")
    phone.locator("#cause .error").wait_for()
    assert phone.input_value("#why-0") == "Guard taken off for cleaning"
    assert phone.input_value("#why-1") == "No interlock on the guard"
    phone.select_option("#f-category", "machine")
    phone.click("#cause button[value=save]")
    phone.locator("#cause .step-notice").wait_for()
    assert phone.evaluate("window.__notReloaded") is True
    assert phone.locator(".steps li.current").inner_text() == "Cause identified"
    assert fits_screen(phone)
    screenshot(phone, "supervisors-nc-steps-in-place")
    phone.context.close()
    db.session.expire_all()
    nc = db.session.get(Nonconformity, nc.id)
    assert nc.status == "cause_identified" and nc.why_steps == [
        "Guard taken off for cleaning",
        "No interlock on the guard",
    ]
