"""The library page's problem list in a real Chromium: a repeated mistake folded, every width."""

from pathlib import Path

import pytest

from .support.accounts import PASSWORD
from .support.browser import fits_screen, log_in_page, phone_context, screenshot
from .support.long_checklists import long_walk

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [360, 768, 1024, 1280])
def test_repeated_mistakes_fold_and_fit_every_width(app, live_server, browser, make_user, width):
    folder = Path(app.config["CHECKLIST_DIR"])
    text = long_walk(item_text="guidence: Look at it.\nphoto: mandatory").replace(
        "title: Area 1", "title: Receiving inspection of purchased parts and materials at the dock"
    )
    (folder / "walk.yaml").write_text(text, encoding="utf-8")
    lead = make_user("quality_lead")
    context = phone_context(browser, width, 900, scale=1 if width > 768 else 2)
    page = context.new_page()
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(f"{live_server.url}/checklists/")
    problems = page.locator("ol.problems > li")
    assert problems.count() == 2  # 240 problems, 2 mistakes
    assert fits_screen(page), width
    summary = problems.first.locator("summary")
    assert summary.bounding_box()["height"] >= 44
    summary.click()
    assert problems.first.locator("details li").count() == 120
    assert problems.first.locator("details li").last.is_visible()
    assert fits_screen(page), width
    screenshot(page, f"checklist-problems-{width}")
    context.close()
