"""Checklists from Excel in the browser and the CLI: template, upload and check, publish, export."""

import base64
import io
import re
import zlib
from pathlib import Path

import pytest
from openpyxl import load_workbook

from auditapp.checklists import services, views
from auditapp.checklists import spreadsheet as sp
from auditapp.checklists.loader import load_checklist_file
from auditapp.checklists.models import Checklist, ChecklistVersion
from auditapp.core import sheets
from auditapp.extensions import db
from tests.support.standards import SHIPPED_CHECKLISTS

FLOOR = SHIPPED_CHECKLISTS / "production-floor-walk.yaml"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def floor_workbook(**cells) -> bytes:
    loaded = load_checklist_file(FLOOR)
    book = load_workbook(io.BytesIO(sp.checklist_workbook(loaded.data)))
    for name, value in cells.items():
        sheet, _, cell = name.rpartition("_")
        book[sheet or "Items"][cell] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, data: bytes, name="floor.xlsx", **form):
    return client.post(
        "/checklists/excel", data={"file": (io.BytesIO(data), name), **form}, content_type="multipart/form-data"
    )


def versions():
    return db.session.scalars(db.select(ChecklistVersion).order_by(ChecklistVersion.id)).all()


def test_the_library_links_to_the_excel_page_and_everyone_gets_the_template(client, login):
    login()
    assert 'href="/checklists/excel"' in client.get("/checklists/").get_data(as_text=True)
    page = client.get("/checklists/excel").get_data(as_text=True)
    assert "Download the template" in page and "Upload and check" not in page  # auditors don't import
    assert "Photo rule" in page and "required_on_nc" in page  # the columns, from the column table
    template = client.get("/checklists/excel/template.xlsx")
    assert template.status_code == 200 and template.mimetype == XLSX
    assert load_workbook(io.BytesIO(template.data)).sheetnames == ["Checklist", "Items", "Help"]


def test_an_auditor_cannot_upload_or_publish(client, login):
    login()
    assert upload(client, floor_workbook()).status_code == 403
    assert client.post("/checklists/excel/publish", data={"yaml": FLOOR.read_text()}).status_code == 403
    assert versions() == []


def test_a_mistake_is_shown_at_its_cell_then_the_fixed_sheet_is_published(client, login):
    login("quality_lead")
    response = upload(client, floor_workbook(K7="compliant"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "1 problem in floor.xlsx" in html
    assert "Items!K7: &#34;compliant&#34; is not a result; did you mean &#34;conform&#34;?" in html
    assert 'id="publish"' not in html and versions() == []  # nothing imported by uploading

    response = upload(client, floor_workbook())
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Ready to publish" in html and "Publish version 1" in html
    yaml_text = sp.read_checklist_upload(floor_workbook(), "floor.xlsx").yaml_text
    published = client.post(
        "/checklists/excel/publish", data={"yaml": yaml_text, "source": "floor.xlsx"}, follow_redirects=False
    )
    assert published.status_code == 302 and published.location.endswith("/checklists/production-floor-walk/v1")
    (version,) = versions()
    assert version.content_hash == load_checklist_file(FLOOR).content_hash
    assert version.source_path == "upload: floor.xlsx" and version.source_text == yaml_text
    assert version.imported_by is not None and version.imported_by.role == "quality_lead"

    again = upload(client, floor_workbook())
    assert "Already published" in again.get_data(as_text=True)
    changed = upload(client, floor_workbook(G2="Is the instruction at the station?"))
    assert changed.status_code == 422
    said = "Checklist!B4: the content changed since version 1 was imported; raise version to 2"  # as publishing says
    assert said in changed.get_data(as_text=True)
    response = upload(client, floor_workbook(G2="Is the instruction at the station?", Checklist_B4=2))
    assert "Publish version 2" in response.get_data(as_text=True)


def test_publishing_goes_through_the_import_rules(client, login):
    login("quality_lead")
    bad = client.post("/checklists/excel/publish", data={"yaml": "id: x\n", "source": "x.xlsx"})
    assert bad.status_code == 422 and "Not published" in bad.get_data(as_text=True)
    text = FLOOR.read_text()
    assert client.post("/checklists/excel/publish", data={"yaml": text}).status_code == 302
    same = client.post("/checklists/excel/publish", data={"yaml": text}, follow_redirects=True)
    assert "nothing to publish: this is version" in same.get_data(as_text=True)
    assert len(versions()) == 1


def test_a_csv_upload_takes_the_checklist_details_from_the_form(client, login):
    login("quality_lead")
    csv_text = "Section;Item id;Reference;Question\nYard;y-1;Y1;Is the yard swept?\n"
    missing = upload(client, csv_text.encode(), "yard.csv")
    assert missing.status_code == 422
    assert "no &#34;Checklist id&#34; row" in missing.get_data(as_text=True)
    response = upload(client, csv_text.encode("cp1252"), "yard.csv", id="yard", title="Yard walk", version="1")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Yard walk, version 1,\n    1 items" in html


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "a.xlsx", "Choose an .xlsx or .csv file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old.xls", "old.xls: this is an old Excel file (.xls)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "photo.png", "photo.png: this is not a CSV text file"),
        (b"PK\x03\x04" + b"\x00" * 64, "broken.xlsx", "broken.xlsx: the file looks like a zip but cannot be opened"),
        # (the limit lowered to 100 kB for the test: the test client leaks the temporary file of a large body)
        (b"a" * 200_000, "big.csv", "big.csv: the file is 100,001 bytes; spreadsheets are limited to"),
    ],
)
def test_a_bad_file_is_refused_with_a_clear_message(client, login, monkeypatch, data, name, message):
    monkeypatch.setattr(sheets, "MAX_FILE_BYTES", 100_000)
    monkeypatch.setattr(views, "MAX_FILE_BYTES", 100_000)
    login("quality_lead")
    response = upload(client, data, name) if data else client.post("/checklists/excel", data={"id": "x"})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert versions() == []


def test_every_shipped_checklist_exports_to_the_workbook_it_imports_from(client, login, shipped_checklists):
    services.sync_directory(Path(shipped_checklists))
    db.session.commit()
    login()
    for version in versions():
        key = version.checklist.key
        page = client.get(f"/checklists/{key}/v{version.number}").get_data(as_text=True)
        assert f'href="/checklists/{key}/v{version.number}.xlsx"' in page
        response = client.get(f"/checklists/{key}/v{version.number}.xlsx")
        assert response.status_code == 200 and response.mimetype == XLSX
        back = sp.read_checklist_upload(response.data, f"{key}.xlsx")
        assert back.problems == [] and back.content_hash == version.content_hash
    csv = client.get(f"/checklists/{key}/v1.csv")
    assert csv.status_code == 200 and csv.get_data(as_text=True).startswith("Section,Section clause,Item id")
    assert client.get("/checklists/nothing/v1.xlsx").status_code == 404
    assert db.session.scalar(db.select(db.func.count(Checklist.id))) == len(
        list(Path(shipped_checklists).glob("*.yaml"))
    )


def test_cli_prints_the_yaml_and_the_problems(runner, tmp_path):
    good = tmp_path / "floor.xlsx"
    good.write_bytes(floor_workbook())
    result = runner.invoke(args=["checklists", "from-xlsx", str(good)])
    assert result.exit_code == 0, result.output
    assert "id: production-floor-walk" in result.stdout
    assert f"floor.xlsx: ok, version 1, {load_checklist_file(FLOOR).item_count} items" in result.stderr
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(floor_workbook(K7="compliant"))
    result = runner.invoke(args=["checklists", "from-xlsx", str(bad)])
    assert result.exit_code == 1
    assert 'Items!K7: "compliant" is not a result; did you mean "conform"?' in result.stderr
    csv_file = tmp_path / "yard.csv"
    csv_file.write_text("Section,Item id,Reference,Question\nYard,y-1,Y1,Is the yard swept?\n")
    result = runner.invoke(args=["checklists", "from-xlsx", str(csv_file), "--id", "yard", "--title", "Yard"])
    assert result.exit_code == 1
    assert 'Checklist: no "Version" row; add one with the value in column B' in result.stderr
    result = runner.invoke(args=["checklists", "from-xlsx", str(csv_file), "--id", "Yard", "--version", "1"])
    assert "--id: must be lowercase letters" in result.stderr
    nonsense = tmp_path / "x.xls"
    nonsense.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    result = runner.invoke(args=["checklists", "from-xlsx", str(nonsense)])
    assert result.exit_code == 1 and "x.xls: this is an old Excel file" in result.stderr


def big_checklist(items: int) -> dict:
    guidance = "Look at the records of the last three months and ask the person doing the work to show one. " * 3
    return {
        "id": "big-walk",
        "title": "Big walk",
        "version": 1,
        "description": "",
        "sections": [
            {
                "title": f"Area {s + 1}",
                "items": [
                    {
                        "id": f"q-{n}",
                        "reference": f"R-{n}",
                        "question": f"Question number {n}: is the work done as the instruction says?",
                        "guidance": guidance.strip(),
                        "evidence": ["work order", "log sheet"],
                    }
                    for n in range(s * 50, s * 50 + 50)
                ],
            }
            for s in range(items // 50)
        ],
    }


def test_a_thousand_item_workbook_publishes_through_the_page(client, login):
    login("quality_lead")
    response = upload(client, sp.checklist_workbook(big_checklist(1000)), "big.xlsx")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "1000 items" in html
    packed = re.search(r'name="yaml_z" value="([^"]+)"', html).group(1)
    assert len(sp.unpack_yaml(packed)) > 500_000 > len(packed)  # over the form field limit unpacked
    published = client.post("/checklists/excel/publish", data={"yaml_z": packed, "source": "big.xlsx"})
    assert published.status_code == 302
    (version,) = versions()
    assert len(version.items) == 1000
    damaged = client.post("/checklists/excel/publish", data={"yaml_z": packed[:-40] + "A" * 40})
    assert damaged.status_code == 422 and "upload the file again" in damaged.get_data(as_text=True)
    bomb = base64.b64encode(zlib.compress(b"a" * 50_000_000)).decode()
    refused = client.post("/checklists/excel/publish", data={"yaml_z": bomb})
    assert refused.status_code == 422 and "too big" in refused.get_data(as_text=True)
    assert len(versions()) == 1
