"""Show-if (issue 15) on a 360 px phone in real Chromium: a conditional item and a conditional section appear and
disappear at the tap of their trigger, online and offline; offline the progress counts only what is asked; back
online the changes sync once and the server agrees (what is hidden never blocks completion)."""

import json

import pytest

from auditapp.audits import completion
from auditapp.audits import services as audits
from auditapp.audits.models import Response
from auditapp.events.models import Event
from auditapp.extensions import db

from .support.accounts import PASSWORD
from .support.audits import items_of
from .support.browser import back_online, controlled, fits_screen, log_in_page, phone_context, screenshot
from .support.cell_walk import plan_cell_walk
from .support.conditions import plan_show_if_walk

pytestmark = pytest.mark.browser


def stored(audit) -> dict:
    db.session.expire_all()
    return {
        r.item.key: (r.value, r.result) for r in db.session.scalars(db.select(Response).filter_by(audit_id=audit.id))
    }


def answered_events(item_id: int) -> int:
    return db.session.scalar(
        db.select(db.func.count(Event.id)).filter_by(entity_type="response", action="answered", item_id=item_id)
    )


def test_conditional_items_and_sections_follow_their_trigger_online_and_offline(app, live_server, browser, make_user):
    lead = make_user("auditor")
    audit = plan_show_if_walk(app, make_user("quality_lead"), lead)
    items = items_of(audit)
    section = f"#section-{items['kit-where'].section_id}"
    context = phone_context(browser, 360, 740)
    page = context.new_page()

    def item(key):
        return f"#item-{items[key].id}"

    def progress() -> str:
        return " ".join(page.text_content("#progress .progress-count").split())

    try:
        log_in_page(page, live_server.url, lead.email, PASSWORD)
        page.goto(f"{live_server.url}/audits/{audit.id}")
        controlled(page)
        assert page.is_hidden(item("why")) and page.is_hidden(section)
        assert page.is_hidden(f'.section-jump a[href="{section}"]')
        assert progress() == "0/2 answered"

        # Online: each tap shows or hides what depends on it, at once: before the server has answered.
        held = []
        page.route("**/answer", lambda route: held.append(route))  # the answer waits here
        page.tap(f"{item('gate')} button[value=no]")
        page.wait_for_selector(item("why"), state="visible")
        for _ in range(100):  # the request has left the page (held); the server has not seen it
            if held:
                break
            page.wait_for_timeout(50)
        assert len(held) == 1 and "gate" not in stored(audit)
        assert "r-major_nc" not in page.get_attribute(item("gate"), "class")  # no response yet
        held[0].continue_()
        page.unroute("**/answer")
        page.wait_for_selector(f"{item('gate')}.r-major_nc")
        page.tap(f"{item('gate')} button[value=yes]")
        page.wait_for_selector(item("why"), state="hidden")
        page.wait_for_selector(f"{item('gate')}.r-conform")
        page.tap(f"{item('kind')} button[value=chemical]")
        page.wait_for_selector(section, state="visible")
        assert page.is_visible(f'.section-jump a[href="{section}"]')
        assert page.is_visible(item("kit-where")) and page.is_hidden(item("kit-sealed"))
        page.tap(f"{item('kit-where')} button[value=conform]")
        page.wait_for_selector(item("kit-sealed"), state="visible")
        page.wait_for_function("() => /3\\/4 answered/.test(document.querySelector('#progress').textContent)")
        assert fits_screen(page)
        screenshot(page, "show-if-online-360")
        assert stored(audit) == {
            "gate": ("yes", "conform"),
            "kind": ("chemical", "recorded"),
            "kit-where": (None, "conform"),
        }

        # Offline: the same taps act at once; the progress counts only the items asked.
        page.tap("[data-offline-urls]")
        page.wait_for_selector("[data-offline-urls][data-ready=true]")
        context.set_offline(True)
        page.tap(f"{item('kind')} button[value=dry]")
        page.wait_for_selector(section, state="hidden")
        page.wait_for_selector(f"{item('kind')}.queued")
        assert progress() == "2/2 answered"  # kit-where's answer is kept but not asked
        page.tap(f"{item('gate')} button[value=no]")
        page.wait_for_selector(item("why"), state="visible")
        page.wait_for_selector(f"{item('gate')}.queued.r-major_nc")
        assert progress() == "2/3 answered"
        page.fill(f"{item('why')} [name=value]", "Delivery being unloaded")
        page.tap(f"{item('why')} button.save")
        page.wait_for_selector(f"{item('why')}.queued.r-recorded")
        assert progress() == "3/3 answered"
        assert fits_screen(page)
        screenshot(page, "show-if-offline-360")
        assert stored(audit)["kind"] == ("chemical", "recorded")  # nothing sent yet

        # Back online: synced once, and the server counts what the phone showed.
        context.set_offline(False)
        page.evaluate("() => window.dispatchEvent(new Event('online'))")
        page.wait_for_function("() => document.getElementById('sync-badge').hidden === true", timeout=20000)
        assert stored(audit) == {
            "gate": ("no", "major_nc"),
            "why": ("Delivery being unloaded", "recorded"),
            "kind": ("dry", "recorded"),
            "kit-where": (None, "conform"),  # kept, not asked
        }
        assert answered_events(items["why"].id) == 1 and answered_events(items["kind"].id) == 2
        page.evaluate("() => window.auditappOutbox.flush()")  # a second sender finds nothing left
        assert answered_events(items["why"].id) == 1
        db.session.expire_all()
        shown = audits.progress(audit)
        assert shown.hidden == {(items["kit-where"].id, 1), (items["kit-sealed"].id, 1)}  # (item, copy)
        assert (shown.answered, shown.applicable) == (3, 3)
        check = completion.completion_check(audit)
        assert check.unanswered == [] and [str(b) for b in check.blockers] == [
            f"S-1 “{items['gate'].question}”: needs a written finding."
        ]  # the gate's major NC needs its finding; nothing hidden blocks

        page.reload()
        assert page.is_hidden(section) and page.is_visible(item("why"))
        assert progress() == "3/3 answered"
        for width in (360, 768, 1024, 1280):
            page.set_viewport_size({"width": width, "height": 800})
            assert fits_screen(page), width
    finally:
        context.close()


def test_a_condition_inside_a_station_shows_its_item_in_that_station_only_online_and_offline(
    app, live_server, browser, make_user
):
    """The cell walk's station asks "why open" when its guard is "no": in station 2 the phone names the trigger
    "<guard>-c2", and a guard left open in one station shows the question in that station alone."""
    audit, lead = plan_cell_walk(app, make_user)
    items = items_of(audit)
    sid = items["guard"].section_id
    audits.add_section_copy(lead, audit, sid, "Press")
    db.session.commit()
    context = phone_context(browser, 360, 740)
    page = context.new_page()

    def item(key, copy=1):
        return f"#item-{items[key].id}" + (f"-c{copy}" if copy != 1 else "")

    def why_shown() -> tuple[bool, bool]:
        return page.is_visible(item("why-open")), page.is_visible(item("why-open", 2))

    try:
        log_in_page(page, live_server.url, lead.email, PASSWORD)
        page.goto(f"{live_server.url}/audits/{audit.id}")
        controlled(page)
        shown_if = json.loads(page.get_attribute(item("why-open", 2), "data-show-if"))
        assert shown_if == {"item": f"{items['guard'].id}-c2", "answer": ["no"]}
        assert why_shown() == (False, False)

        # Online: station 2's guard is open; its "why open" is asked, station 1's is not.
        with page.expect_response(lambda r: r.url.endswith("/copies/2/answer")):
            page.tap(f"{item('guard', 2)} button[value=no]")
        page.wait_for_selector(item("why-open", 2), state="visible")
        assert why_shown() == (False, True)
        assert page.text_content(f"#sec-{sid}-2") == "1/3" and page.text_content(f"#sec-{sid}") == "0/2"
        page.reload()
        assert why_shown() == (False, True)  # as the server renders it

        # Offline: station 1's guard open, station 2's closed; each station follows its own guard.
        page.tap("[data-offline-urls]")
        page.wait_for_selector("[data-offline-urls][data-ready=true]")
        context.set_offline(True)
        page.tap(f"{item('guard')} button[value=no]")
        page.wait_for_selector(f"{item('guard')}.queued.r-major_nc")
        assert why_shown() == (True, True)
        page.tap(f"{item('guard', 2)} button[value=yes]")
        page.wait_for_selector(f"{item('guard', 2)}.queued.r-conform")
        assert why_shown() == (True, False)
        assert page.text_content(f"#sec-{sid}") == "1/3" and page.text_content(f"#sec-{sid}-2") == "1/2"
        assert fits_screen(page)
        screenshot(page, "show-if-in-a-station-offline-360")

        # Online again: the changes sync once and the server agrees.
        back_online(context, page)
        db.session.expire_all()
        assert audits.progress(audit).hidden == {(items["why-open"].id, 2)}
        assert answered_events(items["guard"].id) == 3  # station 2 twice, station 1 once
        page.reload()
        assert why_shown() == (True, False)
        assert fits_screen(page)
    finally:
        context.close()
