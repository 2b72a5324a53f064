"""Answer types (issue 15) on a 360 px phone in real Chromium: each type answered online, then a number and a
choice offline, shown as saved on the device with their derived result, and synced once."""

from pathlib import Path

import pytest

from auditapp.audits.models import Response
from auditapp.events.models import Event
from auditapp.extensions import db

from .support.accounts import PASSWORD
from .support.audits import items_of, plan_audit_of
from .support.browser import ARTIFACTS, fits_screen, screenshot, signed_in_phone

pytestmark = pytest.mark.browser

SUPPLIER = Path(__file__).resolve().parent.parent / "checklists" / "supplier-audit.yaml"


@pytest.fixture
def supplier_audit(app, make_user):
    lead = make_user("auditor")
    return plan_audit_of(app, SUPPLIER, make_user("quality_lead"), lead, "Acme Castings supplier audit"), lead


def stored(audit) -> dict:
    db.session.expire_all()
    return {
        r.item.key: (r.value, r.result) for r in db.session.scalars(db.select(Response).filter_by(audit_id=audit.id))
    }


def answered_events(item_id: int) -> int:
    return db.session.scalar(
        db.select(db.func.count(Event.id)).filter_by(entity_type="response", action="answered", item_id=item_id)
    )


def answered_count(page) -> int:
    return int(page.text_content("#progress .progress-count strong"))


def test_each_answer_type_online_then_a_number_and_a_choice_offline_synced_once(
    app, live_server, browser, supplier_audit
):
    audit, lead = supplier_audit
    items = items_of(audit)
    with signed_in_phone(browser, live_server.url, lead.email, PASSWORD, f"/audits/{audit.id}") as (context, page):

        def item(key):
            return f"#item-{items[key].id}"

        def save(key, text):
            page.fill(f"{item(key)} [name=value]", text)
            page.tap(f"{item(key)} button.save")

        # One tap: yes/no and a choice.
        page.tap(f"{item('sup-certified')} button[value=yes]")
        page.wait_for_selector(f"{item('sup-certified')}.r-conform button[value=yes][aria-pressed=true]")
        page.tap(f"{item('sup-incoming-id')} button[value=partly]")
        page.wait_for_selector(f"{item('sup-incoming-id')}.r-observation")
        # A number: the unit and the limits are shown, the keyboard is a decimal one; outside proposes its result.
        number = page.locator(f"{item('sup-store-temperature')} input[name=value]")
        assert number.get_attribute("inputmode") == "decimal"
        assert "Limits: 5–25 °C" in page.text_content(item("sup-store-temperature"))
        save("sup-store-temperature", "abc")  # refused with a reason, what was typed stays
        page.wait_for_selector(f"{item('sup-store-temperature')} [data-refusal]")
        assert "is not a number" in page.text_content(item("sup-store-temperature"))
        assert page.input_value(f"{item('sup-store-temperature')} input[name=value]") == "abc"
        save("sup-store-temperature", "31,5")
        page.wait_for_selector(f"{item('sup-store-temperature')}.r-observation [data-finding]")
        assert "31.5 °C" in page.text_content(item("sup-store-temperature"))
        # Text and a date: recorded, no finding.
        save("sup-contact", "Dana Ortiz, quality manager")
        page.wait_for_selector(f"{item('sup-contact')}.r-recorded")
        save("sup-certificate-expiry", "2027-06-30")
        page.wait_for_selector(f"{item('sup-certificate-expiry')}.r-recorded")
        # Several options: the most severe sets the result.
        page.check(f"{item('sup-schemes')} input[value='ISO 9001']")
        page.check(f"{item('sup-schemes')} input[value='ISO 14001']")
        page.tap(f"{item('sup-schemes')} button.save")
        page.wait_for_selector(f"{item('sup-schemes')}.r-recorded")
        page.check(f"{item('sup-floor')} input[value=tidy]")
        page.check(f"{item('sup-floor')} input[value=no-instructions]")
        page.tap(f"{item('sup-floor')} button.save")
        page.wait_for_selector(f"{item('sup-floor')}.r-minor_nc")
        assert fits_screen(page)
        screenshot(page, "answer-types-online-360")
        for key in ("sup-store-temperature", "sup-floor", "sup-certified"):  # full-page shots skip offscreen items
            ARTIFACTS.mkdir(exist_ok=True)
            page.locator(item(key)).scroll_into_view_if_needed()
            page.locator(item(key)).screenshot(path=str(ARTIFACTS / f"answer-types-{key}-360.png"))
        assert stored(audit) == {
            "sup-certified": ("yes", "conform"),
            "sup-incoming-id": ("partly", "observation"),
            "sup-store-temperature": (31.5, "observation"),
            "sup-contact": ("Dana Ortiz, quality manager", "recorded"),
            "sup-certificate-expiry": ("2027-06-30", "recorded"),
            "sup-schemes": (["ISO 9001", "ISO 14001"], "recorded"),
            "sup-floor": (["tidy", "no-instructions"], "minor_nc"),
        }

        # Offline: a number outside its limits and a changed choice.
        page.tap("[data-offline-urls]")
        page.wait_for_selector("[data-offline-urls][data-ready=true]")
        before = answered_count(page)
        context.set_offline(True)
        save("sup-sample-diameter", "12.08")
        page.wait_for_selector(f"{item('sup-sample-diameter')}.queued.r-minor_nc")
        page.wait_for_selector(f"{item('sup-sample-diameter')} [data-finding]")  # the finding card opens offline
        page.tap(f"{item('sup-incoming-id')} button[value=none]")
        page.wait_for_selector(f"{item('sup-incoming-id')}.queued.r-minor_nc button[value=none][aria-pressed=true]")
        assert "Saved on this device" in page.text_content(item("sup-sample-diameter"))
        assert answered_count(page) == before + 1  # a new answer counts; a changed one does not
        assert page.input_value(f"{item('sup-sample-diameter')} input[name=value]") == "12.08"
        assert "sup-sample-diameter" not in stored(audit)
        assert fits_screen(page)
        screenshot(page, "answer-types-offline-360")

        context.set_offline(False)
        page.evaluate("() => window.dispatchEvent(new Event('online'))")
        page.wait_for_function("() => document.getElementById('sync-badge').hidden === true", timeout=20000)
        now = stored(audit)
        assert now["sup-sample-diameter"] == (12.08, "minor_nc")
        assert now["sup-incoming-id"] == ("none", "minor_nc")
        assert answered_events(items["sup-sample-diameter"].id) == 1  # applied once
        assert answered_events(items["sup-incoming-id"].id) == 2  # online, then the offline change, once
        page.evaluate("() => window.auditappOutbox.flush()")  # a second sender finds nothing left
        assert answered_events(items["sup-sample-diameter"].id) == 1
