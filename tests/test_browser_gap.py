"""A gap analysis's action plan on a phone: a refused action comes back in place, then one is planned."""

from datetime import date, timedelta

import pytest

from auditapp.audits import services as audits
from auditapp.capa.models import CorrectiveAction
from auditapp.extensions import db
from auditapp.findings import services as findings

from .support.accounts import PASSWORD
from .support.audits import items_of
from .support.browser import fits_screen, log_in_page, screenshot

pytestmark = pytest.mark.browser


def test_lead_auditor_plans_an_action_for_a_gap_in_place(app, live_server, phone, walk, make_user):
    quality, lead = make_user("quality_lead"), make_user("auditor", name="Lee Lead")
    audit = audits.plan_audit(
        quality,
        checklist_id=walk.id,
        title="Stage 0",
        planned_date=date.today(),
        lead_auditor_id=lead.id,
        kind="gap_analysis",
    )
    item = items_of(audit)["8.5.2-traceability"]
    response, _ = audits.answer_item(lead, audit, item, "major_nc", 0)
    finding = findings.save_item_finding(
        lead, audit, item, response, {"statement": "Parts carry no work order reference.", "gap_category": "controls"}
    )
    db.session.commit()

    log_in_page(phone, live_server.url, lead.email, PASSWORD)
    phone.goto(f"{live_server.url}/audits/{audit.id}/gaps")
    assert phone.locator("#clause-8\\.5\\.2").get_attribute("data-status") == "missing"
    phone.evaluate("window.__sameDocument = true")
    gap = phone.locator(f"#gap-{finding.id}")
    gap.locator("summary").tap()
    gap.locator("textarea").fill("Print the work order on every traveller")
    gap.locator("button[type=submit]").tap()
    phone.wait_for_selector(f"#gap-{finding.id} >> text=Choose who owns the action.")
    gap = phone.locator(f"#gap-{finding.id}")
    assert gap.locator("textarea").input_value() == "Print the work order on every traveller"
    gap.locator("select").select_option(label="Lee Lead")
    gap.locator("input[type=date]").fill((date.today() + timedelta(days=30)).isoformat())
    gap.locator("button[type=submit]").tap()
    phone.wait_for_selector(f"#gap-{finding.id} .action-state >> text=Open")
    assert phone.evaluate("window.__sameDocument") is True
    assert fits_screen(phone)
    screenshot(phone, "gap-analysis-report")
    assert db.session.scalar(db.select(CorrectiveAction.origin)) == "gap_analysis"
