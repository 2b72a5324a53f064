"""The audit screen follows the auditor's work with no reload (issue 14, "Long checklists"): an answer's
response carries the status badge out of band with the progress, and the navigation says where the
screen belongs. The browser side is tests/test_browser_long_checklist.py."""

import re

import pytest

from .support.accounts import log_in
from .support.audits import HX, answer, plan_iso_audit

BADGE = re.compile(r'<span id="audit-status" class="badge badge-([a-z_]+)"( hx-swap-oob="true")?>([^<]+)</span>')


@pytest.fixture
def iso(app, make_user, shipped_checklists):
    lead, quality_lead = make_user("auditor"), make_user("quality_lead")
    return plan_iso_audit(app, quality_lead, lead), lead, quality_lead


def test_the_first_answer_brings_the_in_progress_badge_out_of_band(client, iso):
    audit, lead, _ = iso
    log_in(client, lead)
    page = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    assert BADGE.findall(page) == [("planned", "", "Planned")]  # in the page's head, not out of band
    item = audit.checklist_version.items[0]
    response = answer(client, audit, item, "conform")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert BADGE.findall(html) == [("in_progress", ' hx-swap-oob="true"', "In progress")]
    assert 'id="progress"' in html and 'id="sec-' in html  # beside the progress it came with


def test_the_progress_fragment_fetched_after_a_sync_carries_the_badge_too(client, iso):
    audit, lead, _ = iso
    log_in(client, lead)
    answer(client, audit, audit.checklist_version.items[0], "conform")
    fragment = client.get(f"/audits/{audit.id}/progress", headers=HX).get_data(as_text=True)
    assert BADGE.findall(fragment) == [("in_progress", ' hx-swap-oob="true"', "In progress")]
    page = client.get(f"/audits/{audit.id}/progress").get_data(as_text=True)  # the page without htmx
    assert "hx-swap-oob" not in page


def _current(html):
    nav = html.split('<nav class="mainnav"')[1].split("</nav>")[0]
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", a)).strip()
        for a in re.findall(r'aria-current="page">(.*?)</a>', nav, re.S)
    ]


def test_the_navigation_highlights_my_audits_on_the_auditors_own_audit(client, make_user, iso):
    audit, lead, quality_lead = iso
    log_in(client, lead)
    assert _current(client.get(f"/audits/{audit.id}").get_data(as_text=True)) == ["My audits"]
    item = audit.checklist_version.items[0]  # the item's own page (recording without JavaScript) too
    assert _current(client.get(f"/audits/{audit.id}/items/{item.id}").get_data(as_text=True)) == ["My audits"]
    assert _current(client.get("/audits/mine").get_data(as_text=True)) == ["My audits"]
    assert _current(client.get("/audits/").get_data(as_text=True)) == ["Audits"]
    client.post("/logout")
    log_in(client, quality_lead)  # follows the audit, is not on its team: it is under "Audits"
    assert _current(client.get(f"/audits/{audit.id}").get_data(as_text=True)) == ["Audits"]
    assert _current(client.get(f"/audits/{audit.id}/items/{item.id}").get_data(as_text=True)) == ["Audits"]


def test_the_section_chips_carry_the_section_names(client, iso):
    audit, lead, _ = iso
    log_in(client, lead)
    page = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    names = re.findall(r'<a href="#section-\d+">([^<]*)<span class="sec-name">([^<]+)</span>', page)
    sections = audit.checklist_version.sections
    assert names == [(f"{s.clause} ", s.title) for s in sections] and len(names) == 7
