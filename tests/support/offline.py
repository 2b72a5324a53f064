"""The offline scenario shared by browser tests: answer offline, reload offline, reconnect; each change once."""

from auditapp.audits.models import Response
from auditapp.events.models import Event
from auditapp.extensions import db

from .audits import items_of
from .browser import controlled, screenshot


def answers_of(audit) -> dict:
    """{item key: (result, note)} as the database holds them now."""
    db.session.expire_all()
    return {
        r.item.key: (r.result, r.note) for r in db.session.scalars(db.select(Response).filter_by(audit_id=audit.id))
    }


def answered_events() -> int:
    return db.session.scalar(db.select(db.func.count(Event.id)).filter_by(entity_type="response", action="answered"))


def answer_offline_reload_and_sync(context, page, base_url: str, audit, name: str = "offline-audit-reloaded") -> None:
    """On a logged-in page: keep the audit offline, answer and note offline, reload offline, reconnect;
    the answers reach the server exactly once, in order."""
    items = items_of(audit)
    page.goto(f"{base_url}/audits/{audit.id}")
    controlled(page)
    page.tap("[data-offline-urls]")
    page.wait_for_selector("[data-offline-urls][data-ready=true]")
    assert "Available offline" in page.inner_text(".offline-status")

    context.set_offline(True)
    keys = ["8.5.2-traceability", "8.5.4-storage", "8.7-segregation"]
    for key in keys:
        page.tap(f"#item-{items[key].id} button[value=conform]")
        page.wait_for_selector(f"#item-{items[key].id}.queued")
    page.tap(f"#item-{items['8.7-segregation'].id} button[value=observation]")  # changed again, offline
    page.wait_for_function("() => document.querySelector('#sync-badge [data-count]').textContent === '4'")
    note = page.locator(f"#note-{items['8.5.4-storage'].id}")
    note.fill("Pallets off the floor")
    page.wait_for_function("() => document.querySelector('#sync-badge [data-count]').textContent === '5'")
    assert "Saved on this device" in page.inner_text(f"#item-{items['8.5.4-storage'].id}")
    assert answers_of(audit) == {}  # nothing reached the server

    page.reload()  # still offline: the service worker serves the page, the outbox replays onto it
    page.wait_for_selector(f"#item-{items['8.7-segregation'].id}.queued")
    pressed = page.get_attribute(f"#item-{items['8.7-segregation'].id} button[value=observation]", "aria-pressed")
    assert pressed == "true"
    assert page.input_value(f"#note-{items['8.5.4-storage'].id}") == "Pallets off the floor"
    screenshot(page, name)

    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    page.wait_for_function("() => document.getElementById('sync-badge').hidden === true", timeout=20000)
    assert answers_of(audit) == {
        "8.5.2-traceability": ("conform", ""),
        "8.5.4-storage": ("conform", "Pallets off the floor"),
        "8.7-segregation": ("observation", ""),
    }
    assert answered_events() == 4  # each queued change applied exactly once, in order
    page.evaluate("() => window.auditappOutbox.flush()")  # a second sender finds nothing left to send
    assert answered_events() == 4
