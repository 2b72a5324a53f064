"""The audit screen stays light on a phone link: bytes of HTML per item, one CSRF token per page.

Bytes are deterministic (the same seed renders the same page, but for the token's signature, whose
length does not change), so these are unit tests; the timings are bench/phone_load.py's."""

import re

import pytest

from .support.accounts import log_in
from .support.audits import plan_iso_audit

HTML_BYTES_PER_ITEM = 1500  # issue 13's goal, before compression
SIGNED_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}")


@pytest.fixture
def lead_on_iso_audit(app, client, make_user, shipped_checklists):
    """The 94-item ISO 9001 audit, with `client` logged in as its lead auditor (who records: the heaviest page)."""
    lead = make_user("auditor")
    audit = plan_iso_audit(app, make_user("quality_lead"), lead)
    log_in(client, lead)
    return audit


def test_the_94_item_audit_sends_at_most_1500_bytes_of_html_per_item(client, lead_on_iso_audit):
    audit = lead_on_iso_audit
    items = len(audit.checklist_version.items)
    response = client.get(f"/audits/{audit.id}", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200 and items == 94
    assert len(response.data) / items <= HTML_BYTES_PER_ITEM, f"{len(response.data) / items:.0f} B per item"


def test_the_audit_page_carries_its_csrf_token_once_for_all_its_forms(client, lead_on_iso_audit):
    html = client.get(f"/audits/{lead_on_iso_audit.id}").get_data(as_text=True)
    tokens = SIGNED_TOKEN.findall(html)
    # One for htmx and the page's forms (<body hx-headers>), one in the log-out form, which must work
    # without JavaScript; no item, finding or note form carries a copy (there were 379).
    assert len(tokens) == 2, f"{len(tokens)} copies of the CSRF token"
    assert html.count('name="csrf_token"') == 1
    logout = html.split('class="logout"')[1].split("</form>")[0]
    assert 'name="csrf_token"' in logout


def test_guidance_is_fetched_when_opened_and_kept_for_offline_use(client, lead_on_iso_audit):
    audit = lead_on_iso_audit
    item = audit.checklist_version.items[0]
    page = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    assert item.guidance[:60] not in page and "<details data-guidance>" in page
    assert f'data-guidance-url="/audits/{audit.id}/guidance"' in page
    assert f"/audits/{audit.id}/guidance" in page.split("data-offline-urls=")[1].split(">")[0]  # Available offline
    guidance = client.get(f"/audits/{audit.id}/guidance").get_data(as_text=True)
    assert f'<div id="g-{item.id}">{item.guidance[:60]}' in guidance.replace("&#39;", "'")
    assert guidance.count('<div id="g-') == sum(1 for i in audit.checklist_version.items if i.guidance or i.evidence)
    own_page = client.get(f"/audits/{audit.id}/items/{item.id}").get_data(as_text=True)
    assert item.guidance[:60] in own_page.replace("&#39;", "'")  # without JavaScript it is shown there


def test_guidance_is_refused_to_who_may_not_see_the_audit(client, make_user, lead_on_iso_audit):
    client.post("/logout")
    log_in(client, make_user("auditor"))  # not on the audit's team
    assert client.get(f"/audits/{lead_on_iso_audit.id}/guidance").status_code == 404


def test_the_items_own_page_records_without_javascript(client, lead_on_iso_audit):
    """Plain POST forms, each with its token (the audit screen's carry none)."""
    audit = lead_on_iso_audit
    item = audit.checklist_version.items[2]
    html = client.get(f"/audits/{audit.id}/items/{item.id}").get_data(as_text=True)
    action = f'method="post" action="/audits/{audit.id}/items/{item.id}/answer"'
    assert action in html and html.count('name="csrf_token"') >= 3  # answer, note, photo (and log out)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    done = client.post(
        f"/audits/{audit.id}/items/{item.id}/answer",
        data={"csrf_token": token, "result": "conform", "base_revision": "0"},
        csrf=False,
    )
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/audits/{audit.id}#item-{item.id}")
