"""A phone on the site network, in real Chromium: HTTPS from Caddy's local CA at a name that is not
localhost, trusted through an NSS database as after the set-up page, the service worker in charge,
the app installable (Chromium's own check), "Add photo" opening the camera's file chooser, and the
offline scenario through the real proxy; the set-up page itself at every width."""

from pathlib import Path

import pytest

from .support.accounts import PASSWORD
from .support.browser import controlled, fits_screen, log_in_page, phone_context, screenshot
from .support.offline import answer_offline_reload_and_sync
from .support.phone import PhoneServer, nss_home, settings_of, trusting_phone

pytestmark = pytest.mark.browser

HOST = "audit.test"  # not localhost: the browser runs a service worker here only over trusted HTTPS
TEST_CA = Path(__file__).parent / "resources" / "test-ca.crt"


@pytest.fixture
def phone_server(app, tmp_path):
    with PhoneServer(tmp_path / "phone", settings_of(app), host=HOST) as server:
        yield server


def test_a_phone_trusting_the_local_ca_audits_offline_over_https(app, browser, phone_server, plan, make_user, tmp_path):
    assert phone_server.https_url == f"https://{HOST}:{phone_server.https_port}"
    context = trusting_phone(browser, nss_home(tmp_path / "home", phone_server.ca), HOST)
    try:
        page = context.new_page()
        lead = make_user("auditor")
        audit = plan(lead=lead)
        log_in_page(page, phone_server.https_url, lead.email, PASSWORD)
        assert page.evaluate("() => window.isSecureContext && location.protocol") == "https:"
        page.goto(f"{phone_server.https_url}/audits/{audit.id}")
        controlled(page)
        # Chromium's own verdict on installing the app (manifest, icons, service worker, secure origin).
        cdp = context.new_cdp_session(page)
        assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
        with page.expect_file_chooser() as chooser:
            page.locator("label.photo-button").first.click()
        camera = chooser.value.element
        assert (camera.get_attribute("accept"), camera.get_attribute("capture")) == ("image/*", "environment")
        answer_offline_reload_and_sync(context, page, phone_server.https_url, audit, "phone-https-offline")
        shell = page.evaluate(
            "() => caches.keys().then((keys) => caches.open(keys.find((k) => k.startsWith('shell-'))))"
            ".then((cache) => cache.keys()).then((requests) => requests.map((r) => r.url))"
        )
        assert any("/css/app.css" in url for url in shell) and any("/offline.html" in url for url in shell)
        assert all(url.startswith(phone_server.https_url) for url in shell)
    finally:
        context.close()


@pytest.mark.parametrize("width", [360, 768, 1024, 1280])
def test_the_setup_page_fits_every_width_with_44px_links(app, live_server, browser, width):
    app.config.update(CA_CERT=str(TEST_CA), BASE_URL="https://192.168.1.20:8443")
    context = phone_context(browser, width, 900, scale=1 if width > 768 else 2)
    page = context.new_page()
    page.goto(f"{live_server.url}/setup")
    assert fits_screen(page), width
    screenshot(page, f"phone-setup-{width}")
    links = page.locator("main a.button").all()
    assert len(links) == 2  # download the certificate, continue to the app
    for link in links:
        assert link.bounding_box()["height"] >= 44, width
    assert page.get_attribute("[data-testid=continue]", "href") == "https://192.168.1.20:8443/"
    context.close()
