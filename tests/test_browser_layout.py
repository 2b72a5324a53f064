"""In a real phone-sized Chromium: no sideways scrolling, thumb-reachable navigation, htmx swaps."""

import pytest

from auditapp.checklists import services

from .support.accounts import PASSWORD
from .support.browser import fits_screen, log_in_page, phone_context, screenshot

pytestmark = pytest.mark.browser

PAGES = [
    "/checklists/",
    "/checklists/iso9001-2015/v1",
    "/checklists/iso9001-2015/compare",
    "/menu",
    "/nc/",
    "/reports/coverage",
    "/reports/readiness",
    "/reports/scope",
    "/improvements/",
    "/outbox/import",
    "/nc/new",
    "/audits/",
    "/audits/new",
    "/nc/actions/mine",
    "/admin/users",
    "/admin/areas",
    "/reviews/",
    "/nc/actions",
    "/account",
]
# Screens this release touched, at every width the phones, tablets and desktops we support have.
TOUCHED = ["/account", "/nc/", "/nc/actions", "/audits/", "/programme/auditors", "/audits/new"]


def _no_sideways_scroll(page) -> bool:
    return fits_screen(page)


def test_pages_fit_a_360px_phone_with_44px_targets(app, live_server, phone, make_user, shipped_checklists):
    services.sync_directory(shipped_checklists)
    lead = make_user("quality_lead", name="Quinn Quality-Lead With A Rather Long Name")
    phone.goto(f"{live_server.url}/login")
    assert _no_sideways_scroll(phone)
    screenshot(phone, "login-360")
    log_in_page(phone, live_server.url, lead.email, PASSWORD)
    for path in PAGES:
        phone.goto(live_server.url + path)
        assert _no_sideways_scroll(phone), path
        screenshot(phone, "page" + path.replace("/", "_") + "-360")
        nav = phone.locator("nav.mainnav")
        box = nav.bounding_box()
        # The navigation sits at the bottom edge of the screen, where the thumb is.
        assert abs(box["y"] + box["height"] - 740) <= 1, path
        for link in nav.locator("a:visible").all():
            assert link.bounding_box()["height"] >= 44, path
        for button in phone.locator("main button:visible").all():
            assert button.bounding_box()["height"] >= 44, path
    who = phone.locator("[data-testid=who]").inner_text()
    assert "Quality lead" in who


def test_add_user_form_swaps_in_place_and_keeps_typed_values(app, live_server, phone, make_user):
    lead = make_user("quality_lead")
    log_in_page(phone, live_server.url, lead.email, PASSWORD)
    phone.goto(f"{live_server.url}/admin/users")
    phone.evaluate("window.__notReloaded = true")
    phone.fill("#f-email", "new.auditor@example.com")
    phone.fill("#f-name", "Nia New")
    phone.fill("#f-password", "short")
    phone.tap("#user-admin button[type=submit]")
    phone.wait_for_selector("#e-password")
    assert "Use 12 to 128 characters" in phone.inner_text("#e-password")
    assert phone.input_value("#f-name") == "Nia New"
    assert phone.evaluate("window.__notReloaded") is True
    phone.fill("#f-password", "a long enough password")
    phone.tap("#user-admin button[type=submit]")
    phone.wait_for_selector("text=Nia New (new.auditor@example.com) can now log in as Internal auditor.")
    assert phone.evaluate("window.__notReloaded") is True
    assert "Nia New" in phone.inner_text("#user-list")
    assert phone.input_value("#f-name") == ""  # a fresh form for the next user
    screenshot(phone, "admin-users-added-360")


def test_tablet_and_desktop_show_navigation_at_the_top(app, live_server, browser, make_user):
    user = make_user("auditor")
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    log_in_page(page, live_server.url, user.email, PASSWORD)
    box = page.locator("nav.mainnav").bounding_box()
    assert box["y"] < 120
    assert _no_sideways_scroll(page)
    screenshot(page, "checklists-tablet")
    context.close()


@pytest.mark.parametrize("width", [360, 768, 1024, 1280])
def test_touched_screens_fit_every_width_with_44px_targets(app, live_server, browser, make_user, width):
    lead = make_user("quality_lead")
    context = phone_context(browser, width, 900, scale=1 if width > 768 else 2)
    page = context.new_page()
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    for path in TOUCHED:
        page.goto(live_server.url + path)
        assert fits_screen(page), (width, path)
        screenshot(page, "touched" + path.replace("/", "_") + f"-{width}")
        for button in page.locator("main button:visible").all():
            assert button.bounding_box()["height"] >= 44, (width, path)
    context.close()
