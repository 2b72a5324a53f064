"""A 94-item audit made short (issue 14, "Long checklists"), in real Chromium at 360 px.

The ISO 9001 audit as its lead auditor: the status badge and progress follow the first answer with no
reload; "My audits" is the highlighted place; the section chips carry their names, cut short; "Next
unanswered" jumps to and focuses the next item without a result (by tap and by keyboard), opening its
section; the filters (unanswered, nonconformities, with photos), the search by clause or word and the
folding of answered sections (kept on the device across a reload) work on the page, offline too.
What the page shows is compared with what the database holds, so each check fails if the control does
nothing or does the wrong thing."""

import pytest

from auditapp.audits.models import Audit
from auditapp.extensions import db

from .support.accounts import PASSWORD, log_in
from .support.audits import answer, plan_iso_audit
from .support.browser import controlled, fits_screen, log_in_page, phone_context, screenshot
from .support.photos import jpeg, upload

pytestmark = pytest.mark.browser

# The ids of the items the page shows (not display:none, not in a folded section).
SHOWN = "() => [...document.querySelectorAll('.items > .item')].filter(i => i.getClientRects().length).map(i => i.id)"


@pytest.fixture
def iso(app, make_user, shipped_checklists):
    """(audit, its lead auditor, its items): the 94-item audit, planned for today."""
    lead = make_user("auditor")
    audit = plan_iso_audit(app, make_user("quality_lead"), lead)
    return audit, lead, list(audit.checklist_version.items)


@pytest.fixture
def worked_on(client, iso):
    """The audit part done through the server: section 4 (items 0-8) answered, 10 minor and 12 major
    nonconformities, 11 conform with a photo, 13 a photo and no result yet."""
    audit, lead, items = iso
    log_in(client, lead)
    for item in items[:9] + [items[11]]:
        assert answer(client, audit, item, "conform").status_code == 200
    assert answer(client, audit, items[10], "minor_nc").status_code == 200
    assert answer(client, audit, items[12], "major_nc").status_code == 200
    for item in (items[11], items[13]):
        assert upload(client, audit, item, ("p.jpg", jpeg())).status_code == 200
    answered = {items[i].id for i in [*range(9), 10, 11, 12]}
    return audit, lead, items, answered


def _ids(items, indexes):
    return sorted(f"item-{items[i].id}" for i in indexes)


def _focused(page):
    return page.evaluate("() => document.activeElement.id")


def _in_view_below_the_sticky_bar(page, selector):
    return page.evaluate(
        """sel => { const box = document.querySelector(sel).getBoundingClientRect();
                    const bar = document.querySelector('.sticky').getBoundingClientRect();
                    return box.top >= bar.bottom - 1 && box.top < window.innerHeight; }""",
        selector,
    )


def test_status_badge_progress_nav_and_section_chips_on_a_phone(app, live_server, phone, iso):
    audit, lead, items = iso
    page = phone
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    page.evaluate("window.__sameDocument = true")

    assert page.inner_text(".mainnav a[aria-current=page]").strip() == "My audits"
    assert page.locator(".mainnav a[aria-current]").count() == 1

    chips = page.locator(".section-jump a")
    assert chips.count() == len(audit.checklist_version.sections) == 7
    first = chips.nth(0)
    assert " ".join(first.inner_text().split()) == "4 Context of the organization 0/9"  # the name is there...
    name_cut = page.evaluate(
        "() => { const n = document.querySelector('.sec-name'); return n.scrollWidth > n.clientWidth; }"
    )
    assert name_cut and first.bounding_box()["width"] <= 200  # ...cut short on screen, the chip compact
    assert first.bounding_box()["height"] <= 48
    assert page.is_visible("[data-next-unanswered]") and page.is_visible("[data-checklist-search]")
    assert fits_screen(page)

    assert page.inner_text("#audit-status") == "Planned"
    page.tap(f"#item-{items[0].id} button[value=conform]")
    page.wait_for_selector(f"#item-{items[0].id}.r-conform")
    page.wait_for_function("() => document.getElementById('audit-status').textContent === 'In progress'")
    assert "badge-in_progress" in page.get_attribute("#audit-status", "class")
    assert (
        page.inner_text(".progress-count") == "1/94 answered"
        and page.inner_text(f"#sec-{items[0].section_id}") == "1/9"
    )
    assert page.evaluate("window.__sameDocument") is True  # no reload
    db.session.expire_all()
    assert db.session.get(Audit, audit.id).status == "in_progress"
    screenshot(page, "long-checklist-header-360")


@pytest.mark.parametrize("width", [768, 1280])
def test_the_header_and_its_controls_fit_tablet_and_desktop(app, live_server, browser, iso, width):
    audit, lead, items = iso
    context = phone_context(browser, width, 900, scale=1)
    page = context.new_page()
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    page.wait_for_selector("[data-next-unanswered]", state="visible")
    assert fits_screen(page), width
    for control in (
        "[data-next-unanswered]",
        "[data-checklist-filter]",
        "[data-checklist-search]",
        "[data-collapse-answered]",
    ):
        box = page.locator(control).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width and box["height"] >= 44, (control, width)
    assert page.inner_text(".mainnav a[aria-current=page]").strip() == "My audits"
    screenshot(page, f"long-checklist-header-{width}")
    context.close()


def test_next_unanswered_filters_search_and_folding(app, live_server, phone, worked_on):
    audit, lead, items, answered = worked_on
    page = phone
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    every = sorted(f"item-{i.id}" for i in items)
    assert sorted(page.evaluate(SHOWN)) == every

    # Next unanswered: from the top, the first item without a result; then on from there.
    page.tap("[data-next-unanswered]")
    assert _focused(page) == f"item-{items[9].id}"
    assert _in_view_below_the_sticky_bar(page, f"#item-{items[9].id}")
    page.tap("[data-next-unanswered]")
    assert _focused(page) == f"item-{items[13].id}"  # 10, 11 and 12 have results
    page.focus("[data-next-unanswered]")  # by keyboard
    page.keyboard.press("Enter")
    assert _focused(page) == f"item-{items[14].id}"
    assert _in_view_below_the_sticky_bar(page, f"#item-{items[14].id}")

    # Filters: what the page shows is what the database says.
    page.select_option("[data-checklist-filter]", "unanswered")
    assert sorted(page.evaluate(SHOWN)) == sorted(f"item-{i.id}" for i in items if i.id not in answered)
    assert page.inner_text("[data-checklist-status]") == f"{94 - len(answered)} of 94 items shown."
    page.select_option("[data-checklist-filter]", "nc")
    assert sorted(page.evaluate(SHOWN)) == _ids(items, [10, 12])
    page.select_option("[data-checklist-filter]", "photos")
    assert sorted(page.evaluate(SHOWN)) == _ids(items, [11, 13])
    assert page.locator("section.section:visible").count() == 1  # sections with no match are hidden
    page.select_option("[data-checklist-filter]", "all")
    assert sorted(page.evaluate(SHOWN)) == every

    # Search: a clause prefix, then words of the question (all of them, any case).
    page.fill("[data-checklist-search]", "8.5")
    expected = sorted(f"item-{i.id}" for i in items if i.clause.startswith("8.5"))
    assert 0 < len(expected) < 94 and sorted(page.evaluate(SHOWN)) == expected
    page.fill("[data-checklist-search]", "Supplier ")
    expected = sorted(f"item-{i.id}" for i in items if "supplier" in f"{i.clause} {i.question}".lower())
    assert 0 < len(expected) < 94 and sorted(page.evaluate(SHOWN)) == expected
    page.fill("[data-checklist-search]", "zzz-no-such-word")
    assert page.evaluate(SHOWN) == [] and page.inner_text("[data-checklist-status]") == "No item matches."
    page.fill("[data-checklist-search]", "")
    assert sorted(page.evaluate(SHOWN)) == every and page.inner_text("[data-checklist-status]") == ""

    # Folding: every item of section 4 has a result, so it alone folds; a heading folds its own section.
    page.tap("[data-collapse-answered]")
    first, second = page.locator("section.section").nth(0), page.locator("section.section").nth(1)
    assert first.locator(".sec-toggle").get_attribute("aria-expanded") == "false"
    assert second.locator(".sec-toggle").get_attribute("aria-expanded") == "true"
    assert sorted(page.evaluate(SHOWN)) == sorted(f"item-{i.id}" for i in items[9:])
    second.locator(".sec-toggle").tap()
    assert second.locator(".sec-toggle").get_attribute("aria-expanded") == "false"
    assert sorted(page.evaluate(SHOWN)) == sorted(f"item-{i.id}" for i in items[16:])
    # A filter shows its matches in folded sections too.
    page.select_option("[data-checklist-filter]", "nc")
    assert sorted(page.evaluate(SHOWN)) == _ids(items, [10, 12])
    page.select_option("[data-checklist-filter]", "all")

    page.reload()  # kept on the device, for this audit
    page.wait_for_selector("[data-next-unanswered]", state="visible")
    assert sorted(page.evaluate(SHOWN)) == sorted(f"item-{i.id}" for i in items[16:])
    # Next unanswered opens the folded section it goes to (and remembers it open).
    page.tap("[data-next-unanswered]")
    assert _focused(page) == f"item-{items[9].id}"
    assert second.locator(".sec-toggle").get_attribute("aria-expanded") == "true"
    assert _in_view_below_the_sticky_bar(page, f"#item-{items[9].id}")
    page.reload()
    page.wait_for_selector("[data-next-unanswered]", state="visible")
    assert sorted(page.evaluate(SHOWN)) == sorted(f"item-{i.id}" for i in items[9:])  # section 4 still folded
    assert fits_screen(page)


def test_the_controls_work_offline_on_the_kept_page(app, live_server, browser, worked_on):
    audit, lead, items, answered = worked_on
    context = phone_context(browser)
    page = context.new_page()
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/audits/{audit.id}")
    controlled(page)
    page.tap("[data-offline-urls]")
    page.wait_for_selector("[data-offline-urls][data-ready=true]")
    context.set_offline(True)
    page.reload()  # from the service worker: the page and its script
    page.wait_for_selector("[data-next-unanswered]", state="visible")
    page.tap(f"#item-{items[9].id} button[value=major_nc]")  # kept on the device
    page.wait_for_selector(f"#item-{items[9].id}.queued.r-major_nc")
    page.tap("[data-next-unanswered]")
    assert _focused(page) == f"item-{items[13].id}"  # the offline answer counts as answered
    page.select_option("[data-checklist-filter]", "nc")
    assert sorted(page.evaluate(SHOWN)) == _ids(items, [9, 10, 12])
    page.fill("[data-checklist-search]", items[12].clause)
    assert items[12].id in [int(i.split("-")[1]) for i in page.evaluate(SHOWN)]
    context.close()
