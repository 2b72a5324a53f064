"""Scoring (issue 15) on a 360 px phone in real Chromium: the section and total percentages change with each
answer, online (the answer's response carries them) and offline (the page scores as the server does), and the
server's figures after the sync are the ones the phone showed."""

import pytest

from auditapp.audits.models import Response
from auditapp.extensions import db

from .support.accounts import PASSWORD
from .support.audits import items_of
from .support.browser import fits_screen, screenshot, signed_in_phone
from .support.scoring import plan_scored_walk

pytestmark = pytest.mark.browser


def scores(page, sections) -> tuple[str, ...]:
    """The total, then each section's score, as the screen shows them."""
    total = page.text_content("#progress [data-score] strong")
    return (total, *(page.text_content(f"#scr-{s.id}") for s in sections))


def test_section_and_total_scores_change_with_each_answer_online_and_offline(app, live_server, browser, make_user):
    lead = make_user("auditor")
    audit = plan_scored_walk(app, make_user("quality_lead"), lead)
    items = items_of(audit)
    sections = audit.checklist_version.sections
    with signed_in_phone(browser, live_server.url, lead.email, PASSWORD, f"/audits/{audit.id}") as (context, page):

        def item(key):
            return f"#item-{items[key].id}"

        def shows(expected):
            page.wait_for_function(
                "([total, ...secs]) => document.querySelector('#progress [data-score] strong').textContent === total"
                " && secs.every(([id, text]) => document.getElementById('scr-' + id).textContent === text)",
                arg=[expected[0], *[[s.id, t] for s, t in zip(sections, expected[1:], strict=True)]],
            )
            assert scores(page, sections) == expected

        shows(("–", "–", "–"))
        page.tap(f"{item('s-01')} button[value=conform]")
        shows(("100 %", "100 %", "–"))
        page.tap(f"{item('s-02')} button[value=minor_nc]")  # 2x3 of 4x3: sort 8 of 14
        shows(("57 %", "57 %", "–"))
        assert fits_screen(page)
        screenshot(page, "scoring-online-360")

        page.tap("[data-offline-urls]")
        page.wait_for_selector("[data-offline-urls][data-ready=true]")
        context.set_offline(True)
        page.tap(f"{item('s-03')} button[value=dusty]")  # observation: 1 of clean's 3 -> sort 9 of 17
        page.wait_for_selector(f"{item('s-03')}.queued.r-observation")
        shows(("53 %", "53 %", "–"))
        page.tap(f"{item('h-01')} button[value=yes]")
        page.wait_for_selector(f"{item('h-01')}.queued.r-conform")
        shows(("69 %", "53 %", "100 %"))  # (2 x 9/17 + 1) / 3
        page.tap(f"{item('s-03')} button[value=clean]")  # a changed answer rescored: sort 11 of 17
        page.wait_for_selector(f"{item('s-03')}.queued.r-conform")
        shows(("76 %", "65 %", "100 %"))
        assert fits_screen(page)
        screenshot(page, "scoring-offline-360")

        context.set_offline(False)
        page.evaluate("() => window.dispatchEvent(new Event('online'))")
        page.wait_for_function("() => document.getElementById('sync-badge').hidden === true", timeout=20000)
        db.session.expire_all()
        assert db.session.scalar(db.select(db.func.count(Response.id)).filter_by(audit_id=audit.id)) == 4
        page.reload()
        shows(("76 %", "65 %", "100 %"))  # the server's figures are the phone's
        assert fits_screen(page)
