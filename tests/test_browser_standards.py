"""The screens issue 15's standards work touched, in Chromium at every width we support: the coverage page
with its standard links, partly covered clauses and clauses a standard lacks; readiness per standard; the
checklist preview naming each item's clauses."""

import pytest
from sqlalchemy import text

from auditapp.extensions import db
from auditapp.reports import coverage

from .support.accounts import PASSWORD
from .support.browser import fits_screen, log_in_page, phone_context, screenshot
from .support.standards import INTEGRATED, SECOND_LEVEL, audited_checklist

pytestmark = pytest.mark.browser

PAGES = [
    "/reports/coverage",
    "/reports/coverage?standard=iso14001-2015",
    "/reports/readiness",
    "/checklists/integrated/v1",
]


@pytest.mark.parametrize("width", [360, 768, 1024, 1280])
def test_coverage_readiness_and_preview_fit_every_width(app, client, live_server, browser, make_user, width):
    audited_checklist(client, app, make_user, SECOND_LEVEL, {"production": "minor_nc"})
    audit = audited_checklist(client, app, make_user, INTEGRATED)
    with db.engine.begin() as conn:  # an old clause ISO 9001 lacks, as an upgraded database may hold
        conn.execute(
            text(
                "UPDATE checklist_item_clauses SET clause = '10.1.5'"
                " WHERE standard = 'iso9001-2015' AND clause = '7.5.2' AND item_id = :i"
            ),
            {"i": audit.checklist_version.items[0].id},
        )
    coverage.rebuild_all()
    db.session.commit()
    lead = make_user("quality_lead")
    context = phone_context(browser, width, 900, scale=1 if width > 768 else 2)
    page = context.new_page()
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    for path in PAGES:
        page.goto(live_server.url + path)
        assert fits_screen(page), (width, path)
        screenshot(page, "standards" + path.replace("/", "_").replace("?", "_") + f"-{width}")
        for button in page.locator("main button:visible").all():
            assert button.bounding_box()["height"] >= 44, (width, path)
    page.goto(live_server.url + "/reports/coverage")
    assert page.locator("#coverage-parents #parent-8\\.5").is_visible()
    assert page.locator("#coverage-unknown").is_visible()
    assert page.locator("li.cov-partly").count() == 13
    page.get_by_role("link", name="ISO 45001:2018").click()
    assert "ISO 45001:2018 clauses 4.1 to 10.3" in page.inner_text("main")
    context.close()
