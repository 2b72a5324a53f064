"""The audit report on screens in real Chromium: its tables keep their words whole at every width we support
(the body's overflow-wrap: anywhere let a squeezed Result column show "Unanswer/ed" at 768 px)."""

import pytest

from .support.accounts import PASSWORD
from .support.audits import plan_iso_audit
from .support.browser import fits_screen, log_in_page, phone_context, screenshot

pytestmark = pytest.mark.browser

# Each word of the report tables' headings and Result cells (an answer's typed value aside, which may wrap
# anywhere) that the browser laid out on more than one line.
BROKEN_WORDS = """() => {
  const broken = [];
  for (const cell of document.querySelectorAll(".results-table th, .results-table td:last-child")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.closest(".answer-value")) continue;
      for (const word of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        const lines = new Set([...range.getClientRects()].map((box) => Math.round(box.top)));
        if (lines.size > 1) broken.push(word[0]);
      }
    }
  }
  return broken;
}"""


@pytest.mark.parametrize("width", [360, 768, 1024, 1280])
def test_the_report_s_result_column_keeps_its_words_whole_at_every_width(
    app, live_server, browser, make_user, shipped_checklists, width
):
    lead = make_user("auditor")
    audit = plan_iso_audit(app, make_user("quality_lead"), lead)  # 94 items, long questions, none answered
    context = phone_context(browser, width, 900, scale=1 if width > 768 else 2)
    page = context.new_page()
    try:
        log_in_page(page, live_server.url, lead.email, PASSWORD)
        page.goto(f"{live_server.url}/audits/{audit.id}/report")
        results = page.locator(".results-table td:last-child")
        assert results.count() == 94 and results.first.inner_text() == "Unanswered"
        screenshot(page, f"report-results-{width}")
        assert page.evaluate(BROKEN_WORDS) == [], width
        assert fits_screen(page), width
    finally:
        context.close()
