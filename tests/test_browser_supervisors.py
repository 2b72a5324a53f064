"""Supervisors in a real Chromium (issue 14): the NC log scans on a phone and breaks no word on wider
screens; My actions shows the problem and the chosen photo and completes in place; the NC page's steps
update in place and a phone opens it at the step to do."""

from io import BytesIO

import pytest
from PIL import Image

from auditapp.capa import services as capa
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
        context.close()
    print(f"NCs per 740 px screen: {figures}")
    assert figures[360]["perScreen"] >= 8, figures
