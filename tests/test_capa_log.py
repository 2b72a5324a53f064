"""The nonconformity log: filters in the URL, active search, sorting, pages, counts, exports."""

import csv
import io
from datetime import date, timedelta

from openpyxl import load_workbook

from auditapp.capa import services as capa
from auditapp.extensions import db

from .support.accounts import log_in, make_area
from .support.capa import raise_nc

HX = {"HX-Request": "true"}


def numbers_in(html: str) -> list[str]:
    import re

    return re.findall(r"<strong>(NC-\d{4}-\d{4})</strong>", html)


def seed(make_user):
    lead, supervisor = make_user("quality_lead"), make_user("supervisor", name="Sam Owner")
    paint, assembly = make_area("Paint"), make_area("Assembly", supervisor)
    a = raise_nc(lead, paint, "major", "8.5.2", "Paint runs on housings")
    b = raise_nc(lead, assembly, "minor", "7.1.5", "Torque wrench out of calibration", source="process_monitoring")
    c = raise_nc(lead, assembly, "minor", "8.5.1", '=HYPERLINK("http://evil") work instruction outdated')
    capa.record_containment(lead, b, "Wrench quarantined")
    capa.identify_cause(lead, b, ["No recall system"], "measurement")
    capa.add_action(lead, b, "Set up a calibration recall", supervisor.id, date.today() - timedelta(days=3))
    db.session.commit()
    return lead, supervisor, (a, b, c), (paint, assembly)


def test_log_lists_all_with_counts_per_status(client, make_user):
    lead, _, (a, b, c), _ = seed(make_user)
    log_in(client, lead)
    html = client.get("/nc/").get_data(as_text=True)
    assert numbers_in(html) == [c.number, b.number, a.number]  # newest first
    assert "All 3" in html and "Open 2" in html and "Actions planned 1" in html
    assert 'class="overdue-flag">1 overdue' in html


def test_filters_live_in_the_url_and_combine(client, make_user):
    lead, supervisor, (a, b, c), (paint, assembly) = seed(make_user)
    log_in(client, lead)
    cases = {
        "?severity=major": [a.number],
        f"?area={assembly.id}": [c.number, b.number],
        f"?area={assembly.id}&status=open": [c.number],
        "?clause=8.5": [c.number, a.number],
        "?source=process_monitoring": [b.number],
        f"?owner={supervisor.id}": [b.number],
        "?overdue=1": [b.number],
        "?q=torque": [b.number],
        "?q=NC-": [c.number, b.number, a.number],
        "?status=active": [c.number, b.number, a.number],
        "?status=closed": [],
        "?sort=number": [a.number, b.number, c.number],
        "?sort=severity": [a.number, c.number, b.number],
        f"?since={date.today().isoformat()}&until={date.today().isoformat()}": [c.number, b.number, a.number],
        f"?until={(date.today() - timedelta(days=1)).isoformat()}": [],
        "?severity=nonsense&page=abc&area=x": [c.number, b.number, a.number],  # bad values are ignored
    }
    for query, expected in cases.items():
        assert numbers_in(client.get("/nc/" + query).get_data(as_text=True)) == expected, query


def test_counts_follow_the_other_filters(client, make_user):
    lead, _, _, (paint, _) = seed(make_user)
    log_in(client, lead)
    html = client.get(f"/nc/?area={paint.id}&status=actions_planned").get_data(as_text=True)
    assert "All 1" in html and "Open 1" in html and "No nonconformity matches these filters." in html


def test_active_search_answers_with_the_results_fragment(client, make_user):
    lead, _, (a, b, c), _ = seed(make_user)
    log_in(client, lead)
    response = client.get("/nc/?q=paint", headers=HX)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="nc-results">') and "<html" not in html
    assert numbers_in(html) == [a.number] and "HX-Request" in response.headers["Vary"]
    page = client.get("/nc/?q=paint").get_data(as_text=True)
    assert 'hx-trigger="search, keyup changed delay:300ms"' in page and 'value="paint"' in page


def test_pages_of_25(client, make_user):
    lead = make_user("quality_lead")
    for i in range(30):
        raise_nc(lead, description=f"Defect {i}")
    log_in(client, lead)
    first = client.get("/nc/").get_data(as_text=True)
    second = client.get("/nc/?page=2").get_data(as_text=True)
    assert len(numbers_in(first)) == 25 and len(numbers_in(second)) == 5
    assert "Page 1 of 2" in first and "page=2" in first
    assert not set(numbers_in(first)) & set(numbers_in(second))
    assert len(numbers_in(client.get("/nc/?page=99").get_data(as_text=True))) == 5  # clamped to the last page


def test_supervisors_see_only_their_areas_and_actions(client, make_user):
    lead, supervisor, (a, b, c), _ = seed(make_user)
    log_in(client, supervisor)
    assert numbers_in(client.get("/nc/").get_data(as_text=True)) == [c.number, b.number]


def test_empty_log(client, login):
    login("quality_lead")
    assert b"No nonconformities yet." in client.get("/nc/").data


def test_csv_export_uses_the_same_filters_and_defuses_formulas(client, make_user):
    lead, _, (a, b, c), (_, assembly) = seed(make_user)
    log_in(client, lead)
    response = client.get(f"/nc/export.csv?area={assembly.id}")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["Number", "Raised", "Source"]
    assert [r[0] for r in rows[1:]] == [c.number, b.number]
    assert rows[1][7].startswith("'=HYPERLINK")  # a spreadsheet shows it as text, never runs it
    actions = list(csv.reader(io.StringIO(client.get("/nc/export.csv?kind=actions").get_data(as_text=True))))
    assert actions[1][:3] == [b.number, "Set up a calibration recall", "Sam Owner"] and actions[1][5] == "yes"


def test_xlsx_export_opens_with_openpyxl(client, make_user):
    lead, _, (a, b, c), _ = seed(make_user)
    log_in(client, lead)
    response = client.get("/nc/export.xlsx?severity=minor")
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0] == "Number" and [r[0] for r in rows[1:]] == [c.number, b.number]
    assert rows[2][6] == "Actions planned" and rows[2][13] == 1
    book.close()
