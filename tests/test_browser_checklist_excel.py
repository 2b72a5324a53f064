"""Checklists from Excel in Chromium: a quality lead on a phone uploads a workbook with a mistake,
sees it at its cell, uploads the fixed workbook and publishes it; the pages fit every width."""

import io

import pytest
from openpyxl import load_workbook

from auditapp.checklists import spreadsheet as sp
from auditapp.checklists.loader import load_checklist_file
from auditapp.checklists.models import ChecklistVersion
from auditapp.extensions import db

from .support.accounts import PASSWORD
from .support.browser import fits_screen, log_in_page, phone_context, screenshot
from .support.standards import SHIPPED_CHECKLISTS

pytestmark = pytest.mark.browser

FLOOR = SHIPPED_CHECKLISTS / "production-floor-walk.yaml"


def workbook(path, **cells) -> str:
    book = load_workbook(io.BytesIO(sp.checklist_workbook(load_checklist_file(FLOOR).data)))
    for name, value in cells.items():
        book["Items"][name] = value
    book.save(path)
    return str(path)


def test_upload_a_mistake_fix_it_and_publish_on_a_phone(app, live_server, browser, make_user, tmp_path):
    lead = make_user("quality_lead")
    context = phone_context(browser, 360, 740)
    page = context.new_page()
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(live_server.url + "/checklists/")
    page.click("#from-excel")
    assert page.url.endswith("/checklists/excel")
    with page.expect_download() as download:
        page.click("#template-download")
    assert download.value.suggested_filename == "checklist-template.xlsx"

    page.set_input_files("#f-file", workbook(tmp_path / "floor.xlsx", K9="compliant"))
    page.get_by_role("button", name="Upload and check").click()
    problems = page.locator("#sheet-problems")
    assert problems.inner_text() == 'Items!K9: "compliant" is not a result; did you mean "conform"?'
    assert page.locator("#publish").count() == 0
    assert fits_screen(page)
    screenshot(page, "checklist-excel-problem-360")

    page.set_input_files("#f-file", workbook(tmp_path / "floor.xlsx", K9="conform"))
    page.get_by_role("button", name="Upload and check").click()
    assert "Production floor walk, version 1" in page.inner_text("#sheet-ok")
    publish = page.locator("#publish")
    assert publish.bounding_box()["height"] >= 44
    assert fits_screen(page)
    publish.click()
    page.wait_for_url("**/checklists/production-floor-walk/v1")
    assert "Published Production floor walk, version 1" in page.inner_text("main")
    db.session.expire_all()
    (version,) = db.session.scalars(db.select(ChecklistVersion)).all()
    assert version.source_path == "upload: floor.xlsx"
    assert version.items[7].results == ["conform"]  # row 9 is the eighth item
    context.close()


@pytest.mark.parametrize("width", [360, 768, 1024, 1280])
def test_the_excel_page_fits_every_width(app, live_server, browser, make_user, tmp_path, width):
    lead = make_user("quality_lead")
    context = phone_context(browser, width, 900, scale=1 if width > 768 else 2)
    page = context.new_page()
    log_in_page(page, live_server.url, lead.email, PASSWORD)
    page.goto(live_server.url + "/checklists/excel")
    page.set_input_files("#f-file", workbook(tmp_path / "floor.xlsx", E3="9.9.9", G5="=A1"))
    page.get_by_role("button", name="Upload and check").click()
    page.locator("#sheet-problems").wait_for()
    page.locator(".sheet-yaml summary").click()
    for path in (None, "/checklists/excel"):
        if path:
            page.goto(live_server.url + path)
        assert fits_screen(page), (width, path)
        for target in page.locator("main button:visible, main a.button:visible, main summary:visible").all():
            assert target.bounding_box()["height"] >= 44, (width, path, target.inner_text())
    screenshot(page, f"checklist-excel-{width}")
    context.close()
