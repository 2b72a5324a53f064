"""Scoring (issue 15): points per result, option points, item and section weights; the format's keys, their
plain-language errors, and the pure score function (sections and total, N/A and recorded out of the maximum)."""

import io
import json
import re
import textwrap
from datetime import date, datetime
from fractions import Fraction
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from auditapp.audits import completion
from auditapp.audits import services as audits
from auditapp.checklists import services as checklists
from auditapp.checklists import spreadsheet as sp
from auditapp.checklists.loader import load_checklist_file
from auditapp.checklists.scoring import ItemRule, percent, score, version_score
from auditapp.extensions import db

from .support.accounts import log_in, make_area
from .support.app import statements_of
from .support.audits import HX, answer, items_of
from .support.scoring import HEAD, SCORING, WALK, plan_scored_walk


def load(tmp_path: Path, text: str):
    path = tmp_path / "scored.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_checklist_file(path, shown_as="checklists/scored.yaml")


def messages(result) -> list[str]:
    return [f"{p.line}: {p.field}: {p.message}" for p in result.problems]


# --- the format ----------------------------------------------------------------------------------


def test_a_scored_checklist_loads_with_its_points_and_weights(tmp_path):
    result = load(tmp_path, HEAD + SCORING + WALK)
    assert result.ok, messages(result)
    data = result.data
    assert data["scoring"] == {"points": {"conform": 2, "observation": 1, "ofi": 2, "minor_nc": 1, "major_nc": 0}}
    sort = data["sections"][0]
    assert sort["weight"] == 2
    assert sort["items"][1]["weight"] == 3 and sort["items"][1]["points"] == {"conform": 4, "minor_nc": 2}
    assert sort["items"][2]["answer"]["options"][0]["points"] == 3
    assert "weight" not in data["sections"][1] and "points" not in sort["items"][0]


def test_points_and_weights_without_scoring_are_refused_in_plain_words(tmp_path):
    result = load(tmp_path, HEAD + WALK)
    found = messages(result)
    assert any(m.startswith("6: sections[0].weight: a section's weight needs scoring at the top") for m in found), found
    assert any("sections[0].items[1].weight: an item's weight needs scoring" in m for m in found), found
    assert any("sections[0].items[1].points: an item's points needs scoring" in m for m in found), found
    assert any("sections[0].items[2].answer.options[0].points: points needs scoring" in m for m in found), found


def test_wrong_points_and_weights_say_what_is_wrong(tmp_path):
    text = (
        HEAD
        + "scoring: {points: {conform: 2, minor_nc: -1, na: 1, compliant: 2, major_nc: two}}\n"
        + """\
sections:
  - title: Sort
    weight: heavy
    items:
      - {id: s-01, reference: S-1, question: Only needed items at the bench?, weight: -2}
      - {id: s-02, reference: S-2, question: Red-tag area used?, points: {conform: true}}
"""
    )
    found = messages(load(tmp_path, text))
    assert "4: scoring.points.minor_nc: points must be 0 or more, not -1" in found, found
    assert any('scoring.points.na: "na" is never scored' in m for m in found), found
    assert any('scoring.points.compliant: "compliant" is not a result; did you mean "conform"?' in m for m in found)
    assert any("scoring.points.major_nc: points must be a number like 2 or 1.5, not text 'two'" in m for m in found)
    assert any("sections[0].weight: weight must be a number like 2 or 1.5, not text 'heavy'" in m for m in found)
    assert any("sections[0].items[0].weight: weight must be 0 or more, not -2" in m for m in found), found
    assert any("sections[0].items[1].points.conform: points must be a number" in m for m in found), found


def test_a_result_an_item_can_be_given_without_points_is_named(tmp_path):
    text = (
        HEAD
        + "scoring: {points: {conform: 1, minor_nc: 0}}\n"
        + textwrap.dedent("""\
        sections:
          - title: Sort
            items:
              - {id: s-01, reference: S-1, question: Only needed items?, results: [conform, minor_nc, na]}
              - {id: s-02, reference: S-2, question: Red tags used?, answer: {type: yes_no, "no": major_nc}}
              - id: s-03
                reference: S-3
                question: Which bins?
                answer: {type: multi_choice, options: [{value: a, result: conform, points: 1}, {value: b}]}
        """)
    )
    found = messages(load(tmp_path, text))
    assert any(
        "sections[0].items[1]: can be answered major_nc, which has no points: add major_nc to the scoring points" in m
        for m in found
    ), found
    assert not any("items[0]" in m for m in found), found  # conform, minor_nc have points; na is never scored
    assert any("items[2].answer.options[0].points: points on options are for a choice answer" in m for m in found)


# --- the pure score function ---------------------------------------------------------------------

POINTS = {"conform": 2, "observation": 1, "ofi": 2, "minor_nc": 1, "major_nc": 0}
GRADES = ("conform", "minor_nc", "major_nc", "observation", "ofi", "na")


def test_section_and_total_percentages_weight_items_and_sections():
    rules = [
        ItemRule(1, "sort", 1, POINTS, results=GRADES),
        ItemRule(2, "sort", 3, POINTS, results=GRADES),
        ItemRule(3, "shine", 1, POINTS, results=GRADES),
    ]
    result = score(rules, {1: ("conform", None), 2: ("minor_nc", None), 3: ("major_nc", None)}, {"sort": 3})
    sort, shine = result.sections["sort"], result.sections["shine"]
    assert (sort.earned, sort.maximum, sort.percent) == (5, 8, 63)  # 2 + 1x3 of 2 + 2x3: 62.5 rounds up
    assert (shine.earned, shine.maximum, shine.percent) == (0, 2, 0)
    # total: sections weighted 3 : 1 over their percentages: (3 x 5/8 + 0) / 4 = 46.875 %
    assert result.total.percent == 47
    assert (result.total.earned, result.total.maximum) == (5, 10)


def test_na_recorded_not_audited_and_unanswered_are_out_of_the_maximum():
    rules = [ItemRule(k, "s", 1, POINTS, results=(*GRADES, "recorded")) for k in range(5)]
    result = score(rules, {0: ("conform", None), 1: ("na", None), 2: ("recorded", "x"), 3: ("not_audited", None)})
    assert result.sections["s"].maximum == 2 and result.total.percent == 100 and result.total.scored == 1


def test_nothing_scored_shows_a_dash():
    result = score([ItemRule(1, "s", 1, POINTS, results=GRADES)], {})
    assert result.total.percent is None and result.total.shown == "–" and result.sections["s"].shown == "–"


def test_a_choice_option_s_points_win_and_its_best_option_is_the_maximum():
    rule = ItemRule(
        1,
        "s",
        2,
        POINTS,
        options={"clean": 3, "dusty": None, "none": None},
        option_results={"clean": "conform", "dusty": "observation", "none": "na"},
    )
    dusty = score([rule], {1: ("observation", "dusty")}).sections["s"]
    assert (dusty.earned, dusty.maximum) == (2, 6)  # observation's 1 point x 2, of clean's 3 x 2
    clean = score([rule], {1: ("conform", "clean")}).sections["s"]
    assert (clean.earned, clean.maximum, clean.percent) == (6, 6, 100)
    assert score([rule], {1: ("na", "none")}).total.percent is None


def test_weight_zero_and_decimals_are_exact():
    rules = [
        ItemRule(1, "s", 0, POINTS, results=GRADES),
        ItemRule(2, "s", 0.1, {"conform": 0.3, "minor_nc": 0.1}, results=GRADES[:2]),
    ]
    result = score(rules, {1: ("major_nc", None), 2: ("minor_nc", None)})
    assert result.sections["s"].earned == Fraction(1, 100) and result.sections["s"].maximum == Fraction(3, 100)
    assert result.total.percent == 33
    assert percent(Fraction(1), Fraction(8)) == 13  # 12.5 rounds half up, as the phone does


def test_a_section_of_weight_zero_leaves_the_total():
    rules = [ItemRule(1, "a", 1, POINTS, results=GRADES), ItemRule(2, "b", 1, POINTS, results=GRADES)]
    result = score(rules, {1: ("conform", None), 2: ("major_nc", None)}, {"b": 0})
    assert result.total.percent == 100 and result.sections["b"].percent == 0


def test_an_imported_version_scores_its_answers(app, tmp_path):
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "scored.yaml").write_text(HEAD + SCORING + WALK, encoding="utf-8")
    report = checklists.sync_directory(folder)
    assert report.problems == []
    version = report.imported[0]
    db.session.refresh(version)
    assert version.scoring["points"]["conform"] == 2 and version.sections[0].weight == 2
    by_key = {i.key: i for i in version.items}
    answers = {
        by_key["s-01"].id: ("conform", None),  # 2 of 2
        by_key["s-02"].id: ("minor_nc", None),  # 2x3 of 4x3
        by_key["s-03"].id: ("conform", "clean"),  # 3 of 3
        by_key["h-01"].id: ("minor_nc", "no"),  # 1 of 2
        by_key["h-02"].id: ("recorded", "Ann"),  # not scored
    }
    result = version_score(version, answers)
    sort, shine = (result.sections[s.id] for s in version.sections)
    assert (sort.earned, sort.maximum, sort.percent) == (11, 17, 65)
    assert (shine.earned, shine.maximum, shine.percent) == (1, 2, 50)
    # (2 x 11/17 + 1 x 1/2) / 3 = 59.8 %
    assert result.total.percent == 60


# --- the spreadsheet -----------------------------------------------------------------------------


def test_the_scoring_columns_read_and_write_each_other():
    by = {c.header: c for c in sp.ITEM_COLUMNS}
    points = {"conform": 2, "minor_nc": 1.5, "major_nc": 0}
    assert by["Points"].write(points) == "conform 2, minor_nc 1.5, major_nc 0"
    assert by["Points"].read("conform 2, minor_nc 1.5, major_nc 0") == points
    assert by["Points"].read("Conform=2; Minor NC: 1.5\nmajor_nc 0") == {"Conform": 2, "Minor NC": 1.5, "major_nc": 0}
    with pytest.raises(sp.CellProblem, match='"conform" is not a result and its points'):
        by["Points"].read("conform, minor_nc 1")
    assert by["Weight"].read("2") == 2 and by["Section weight"].read(0.5) == 0.5
    scoring = next(f for f in sp.CHECKLIST_FIELDS if f.key == "scoring")
    assert scoring.read("conform 2, major_nc 0") == {"points": {"conform": 2, "major_nc": 0}}
    options = [{"value": "clean", "label": "Clean", "result": "conform", "points": 3}, {"value": "dusty", "points": 1}]
    cell = by["Choices"].write(options)
    assert cell == "clean | Clean | conform | 3\ndusty |  |  | 1"
    assert by["Choices"].read(cell) == options


def test_a_scored_checklist_goes_to_xlsx_and_back_unchanged(tmp_path):
    loaded = load(tmp_path, HEAD + SCORING + WALK)
    book = sp.checklist_workbook(loaded.data)
    result = sp.read_checklist_upload(book, "scored.xlsx")
    assert [str(p) for p in result.problems] == []
    assert result.data == loaded.data and result.content_hash == loaded.content_hash
    items = load_workbook(io.BytesIO(book))["Items"]
    headers = [c.value for c in items[1]]
    assert {"Section weight", "Points", "Weight"} <= set(headers)
    first = {h: c.value for h, c in zip(headers, items[2], strict=False)}
    assert first["Section weight"] == 2 and first["Points"] is None


# --- live on the audit screen ------------------------------------------------------------------


@pytest.fixture
def scored_audit(app, client, make_user):
    audit = plan_scored_walk(app, make_user("quality_lead"), make_user("auditor"))
    log_in(client, audit.lead_auditor)
    return audit


def post_answer(client, audit, item, **data):
    return client.post(
        f"/audits/{audit.id}/items/{item.id}/answer", data={"base_revision": 0, **data}, headers=HX
    ).get_data(as_text=True)


def shown_scores(html: str) -> dict[str, str]:
    """The total ("total") and each section's score (by section id) as the page or fragment shows them."""
    found = {m[0]: m[1] for m in re.findall(r'<span id="scr-(\d+)" class="sec-score"[^>]*>([^<]*)</span>', html)}
    total = re.search(r"<span class=\"score\" data-score>Score <strong>([^<]*)</strong></span>", html)
    return {**found, "total": total.group(1) if total else None}


def test_each_answer_s_response_carries_the_section_and_total_scores(client, scored_audit):
    audit = scored_audit
    by_key = items_of(audit)
    sort, shine = (str(s.id) for s in audit.checklist_version.sections)
    page = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    assert shown_scores(page) == {sort: "–", shine: "–", "total": "–"}
    assert '<script type="application/json" id="score-model">' in page

    html = post_answer(client, audit, by_key["s-01"], result="conform")
    assert shown_scores(html) == {sort: "100 %", shine: "–", "total": "100 %"}
    assert f'<span id="scr-{sort}" class="sec-score" hx-swap-oob="true">' in html
    html = post_answer(client, audit, by_key["s-02"], result="minor_nc")  # 2x3 of 4x3: sort 8 of 14
    assert shown_scores(html) == {sort: "57 %", shine: "–", "total": "57 %"}
    html = post_answer(client, audit, by_key["s-03"], value="dusty")  # observation: 1 of clean's 3
    assert shown_scores(html)[sort] == "53 %"  # 9 of 17
    html = post_answer(client, audit, by_key["h-01"], value="yes")
    # (2 x 9/17 + 1 x 1) / 3 = 68.6 %
    assert shown_scores(html) == {sort: "53 %", shine: "100 %", "total": "69 %"}
    html = post_answer(client, audit, by_key["h-02"], value="Ann")  # recorded: not scored
    assert shown_scores(html)["total"] == "69 %"
    assert shown_scores(client.get(f"/audits/{audit.id}").get_data(as_text=True))["total"] == "69 %"


def test_an_unscored_audit_shows_no_score(client, plan):
    audit = plan()
    log_in(client, audit.lead_auditor)
    page = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    assert "data-score" not in page and "sec-score" not in page and "score-model" not in page
    html = answer(client, audit, items_of(audit)["7.2-training"], "conform").get_data(as_text=True)
    assert "data-score" not in html and "sec-score" not in html


# --- the report, its PDF and the trend -----------------------------------------------------------


def answer_all(client, audit, s02="conform"):
    by_key = items_of(audit)
    post_answer(client, audit, by_key["s-01"], result="conform")
    post_answer(client, audit, by_key["s-02"], result=s02)
    post_answer(client, audit, by_key["s-03"], value="clean")
    post_answer(client, audit, by_key["h-01"], value="no")
    post_answer(client, audit, by_key["h-02"], value="Ann")


def complete(client, audit, when):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(completion, "utcnow", lambda: when)  # as if walked on that day
        done = client.post(f"/audits/{audit.id}/complete", data={"conclusion": "Walked."})
    assert done.status_code in (302, 303), done.get_data(as_text=True)[:2000]
    db.session.refresh(audit)
    assert audit.status == "completed" and audit.completed_at == when


def test_the_report_and_its_pdf_show_section_and_total_scores(client, scored_audit):
    audit = scored_audit
    answer_all(client, audit, s02="minor_nc")
    report = client.get(f"/audits/{audit.id}/report").get_data(as_text=True)
    table = report.split("<h2>Score</h2>")[1].split("</table>")[0]
    rows = [re.sub(r"<[^>]+>", "|", r) for r in re.findall(r"<tr>.*?</tr>", table, re.S)]
    cells = [[c.strip() for c in row.split("|") if c.strip()] for row in rows]
    # sort: 2 + 2x3 + 3 = 11 of 17; shine: yes_no no -> minor_nc 1 of 2 (the text answer is not scored)
    assert cells[1:3] == [["Sort", "2", "11 / 17 points", "65 %"], ["Shine", "1", "1 / 2 points", "50 %"]]
    assert "<th>Total</th><td></td><td>12 / 19 points</td><th>60 %</th>" in table
    pdf = client.get(f"/audits/{audit.id}/report.pdf")
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Score" in text and "11 / 17 points 65 %" in text and "12 / 19 points 60 %" in text


def test_the_trend_lists_earlier_completed_audits_of_the_checklist_and_area_the_user_may_see(
    app, client, make_user, scored_audit
):
    first = scored_audit
    lead, planner = first.lead_auditor, make_user("quality_lead")
    answer_all(client, first, s02="major_nc")
    complete(client, first, datetime(2026, 10, 5, 9, 0))

    def plan(title, lead=lead, area=None):
        audit = audits.plan_audit(
            planner,
            checklist_id=first.checklist_version.checklist_id,
            title=title,
            planned_date=date.today(),
            lead_auditor_id=lead.id,
            area_id=area.id if area else None,
        )
        db.session.commit()
        return audit

    stranger = make_user("auditor")
    hidden = plan("Someone else's walk", lead=stranger)  # same checklist and area, but not this lead's
    client.post("/logout")
    log_in(client, stranger)
    answer_all(client, hidden)
    complete(client, hidden, datetime(2026, 10, 20, 9, 0))
    cell5 = make_area("Cell 5")
    client.post("/logout")
    log_in(client, lead)
    other_area = plan("Another area", area=cell5)
    answer_all(client, other_area)
    complete(client, other_area, datetime(2026, 10, 25, 9, 0))
    second = plan("Second walk")
    answer_all(client, second)
    complete(client, second, datetime(2026, 11, 5, 9, 0))
    third = plan("Third walk")
    answer_all(client, third, s02="minor_nc")

    report = client.get(f"/audits/{third.id}/report").get_data(as_text=True)
    trend = report.split("<h3>Trend:")[1].split("</table>")[0]
    rows = [
        [c.strip() for c in re.sub(r"<[^>]+>", "|", r).split("|") if c.strip()]
        for r in re.findall(r"<tr.*?</tr>", trend, re.S)
    ]
    assert rows[1:] == [
        [first.number, "05 Oct 2026", "v1", "36 %"],  # s-02 major: sort 5 of 17, shine 1 of 2: (2 x 5/17 + 1/2) / 3
        [second.number, "05 Nov 2026", "v1", "83 %"],  # (2 x 17/17 + 1/2) / 3
        [f"{third.number} (this audit)", "not yet", "v1", "60 %"],
    ]
    assert hidden.number not in trend and other_area.number not in trend
    # a quality lead sees every audit, so the stranger's walk is in theirs
    client.post("/logout")
    log_in(client, planner)
    lead_s = client.get(f"/audits/{third.id}/report").get_data(as_text=True).split("<h3>Trend:")[1]
    assert hidden.number in lead_s.split("</table>")[0] and other_area.number not in lead_s
    # the earlier audit's own report lists only what came before it
    earlier = client.get(f"/audits/{second.id}/report").get_data(as_text=True)
    assert first.number in earlier and third.number not in earlier.split("<h3>Trend:")[1]


def test_the_trend_reads_the_earlier_audits_scores_in_a_bounded_number_of_statements(client, make_user, scored_audit):
    """The report of a scored checklist scores up to twelve earlier audits: as many statements with four earlier
    audits as with two (one progress per audit would add two or three each), and their scores still right."""
    lead, planner = scored_audit.lead_auditor, make_user("quality_lead")

    def walked(n, s02):
        audit = audits.plan_audit(
            planner,
            checklist_id=scored_audit.checklist_version.checklist_id,
            title=f"Walk {n}",
            planned_date=date.today(),
            lead_auditor_id=lead.id,
        )
        db.session.commit()
        answer_all(client, audit, s02=s02)
        complete(client, audit, datetime(2026, 10, n, 9, 0))
        return audit

    earlier = [walked(1, "major_nc"), walked(2, "conform")]
    answer_all(client, scored_audit, s02="minor_nc")
    url = f"/audits/{scored_audit.id}/report"
    client.get(url)  # the checklist's scoring rules are read once per process
    with_two, page = statements_of(lambda: client.get(url))
    earlier += [walked(3, "major_nc"), walked(4, "conform")]
    with_four, page = statements_of(lambda: client.get(url))
    assert len(with_four) == len(with_two), "\n".join(with_four)
    trend = page.get_data(as_text=True).split("<h3>Trend:")[1].split("</table>")[0]
    scores = re.findall(r"<td>(\d+ %)</td></tr>", trend)
    assert [a.number in trend for a in earlier] == [True] * 4
    assert scores == ["36 %", "83 %", "36 %", "83 %", "60 %"]  # as in the test above: major, conform; this one


def test_the_page_s_score_model_is_what_the_phone_scores_from(client, scored_audit):
    """The shape tests/js/logic.test.js scores (SCORE_MODEL): the checklist's points once, per item only what
    differs; the text item, never scored, is left out."""
    audit = scored_audit
    page = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    model = json.loads(page.split('<script type="application/json" id="score-model">')[1].split("</script>")[0])
    ids = {k: str(i.id) for k, i in items_of(audit).items()}
    sort, shine = (str(s.id) for s in audit.checklist_version.sections)
    assert model == {
        "points": {"conform": 2, "observation": 1, "ofi": 2, "minor_nc": 1, "major_nc": 0},
        "items": {
            ids["s-01"]: [sort, 1, 2],
            ids["s-02"]: [sort, 3, 4, {"conform": 4, "observation": 1, "ofi": 2, "minor_nc": 2, "major_nc": 0}],
            ids["s-03"]: [sort, 1, 3, 0, {"clean": 3, "dusty": 1, "none": None}],
            ids["h-01"]: [shine, 1, 2],
        },
        "sections": {sort: 2, shine: 1},
    }


def test_a_scored_answer_runs_at_most_one_statement_more_than_an_unscored_one(client, scored_audit):
    """An unscored answer runs at most eight (test_audits.py); the score adds the sections' weights, no more:
    the items' scoring comes with the progress's own query."""
    audit = scored_audit
    by_key = items_of(audit)
    post_answer(client, audit, by_key["s-01"], result="conform")  # the audit is started
    url = f"/audits/{audit.id}/items/{by_key['s-02'].id}/answer"
    statements, response = statements_of(
        lambda: client.post(url, data={"result": "minor_nc", "base_revision": 0}, headers=HX)
    )
    assert response.status_code == 200 and "sec-score" in response.get_data(as_text=True)
    assert len(statements) <= 9, "\n".join(statements)


def test_the_checklist_preview_shows_its_author_the_points_and_weights(client, make_user, scored_audit):
    page = client.get("/checklists/scored/v1").get_data(as_text=True)
    assert (
        "Scored: Conform 2, Observation 1, OFI 2, Minor NC 1, Major NC 0 points per answer (N/A and recorded answers"
        " are not scored)" in page
    )
    assert "3 items · weight 2</small>" in page  # Sort; Shine says no weight (1)
    assert "2 items</small>" in page
    assert " · weight 3 · own points: Conform 4, Minor NC 2" in page
    assert " · option points: Clean 3" in page


def test_the_shipped_5s_walk_is_scored(shipped_checklists):
    report = checklists.sync_directory(shipped_checklists)
    assert report.problems == []
    walk = checklists.get_checklist("5s-walk").latest
    assert walk.number == 2 and walk.scoring == {
        "points": {"conform": 2, "observation": 1, "minor_nc": 1, "major_nc": 0}
    }
    assert [s.weight for s in walk.sections] == [None, None, None, None, 2]
    assert [i.key for i in walk.items if i.weight] == ["order-floor-marking"]
    by_key = {i.key: i.id for i in walk.items}
    answers = {i.id: ("conform", None) for i in walk.items}
    answers[by_key["order-floor-marking"]] = ("major_nc", None)  # a blocked exit: 0 of 2 x 2
    result = version_score(walk, answers)
    order = result.sections[walk.sections[1].id]
    assert (order.earned, order.maximum, order.percent) == (4, 8, 50)
    assert result.total.percent == 92  # (1 + 1 + 1/2 + 1 + 2 x 1) / 6 = 91.7 %


def test_comparing_versions_spells_out_changed_weights_and_points(app, client, scored_audit):
    folder = Path(app.config["CHECKLIST_DIR"])
    v1 = (folder / "scored.yaml").read_text(encoding="utf-8")
    v2 = (
        v1.replace("version: 1", "version: 2")
        .replace(
            "question: Red-tag area used?, weight: 3, points: {conform: 4, minor_nc: 2}",
            "question: Red-tag area used?, weight: 2",
        )
        .replace(
            "{value: clean, label: Clean, result: conform, points: 3}",
            "{value: clean, label: Clean, result: conform, points: 4}",
        )
    )
    (folder / "scored.yaml").write_text(v2, encoding="utf-8")
    assert checklists.sync_directory(folder).problems == []
    html = client.get("/checklists/scored/compare").get_data(as_text=True)
    assert "0 added · 0 removed · 0 renamed · 2 reworded · 3 unchanged" in html
    assert '<span class="muted">(weight, points)</span>' in html
    assert "<del>conform: 4; minor_nc: 2</del>" in html and "<ins>—</ins>" in html
    assert "Clean → conform (3 points)" in html and "Clean → conform (4 points)" in html


def test_the_readme_s_scoring_example_is_a_valid_checklist(tmp_path):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("**Scoring.**", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    result = load(tmp_path, HEAD + block)
    assert result.ok, messages(result)
    sustain = result.data["sections"][0]
    assert result.data["scoring"]["points"]["ofi"] == 2 and sustain["weight"] == 2
    assert sustain["items"][0]["points"] == {"conform": 4, "minor_nc": 2}
