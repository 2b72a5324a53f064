"""Scoring, show-if and repeating sections together (issue 15): built apart, they meet in one audit.

A condition inside a copy of a repeating section reads that copy's answers (and copy 1's for items before the
section); an item not asked is neither counted nor scored nor a completion blocker; each copy is scored as a
section of its own with the section's weight."""

from auditapp.audits import completion
from auditapp.audits import services as audits
from auditapp.checklists import spreadsheet as sp
from auditapp.checklists.loader import load_checklist_file

from .support.audits import HX
from .support.cell_walk import item_ids, station_id


def answer(client, audit, key, copy=1, base=0, **data):
    url = f"/audits/{audit.id}/items/{item_ids(audit)[key]}" + (f"/copies/{copy}" if copy != 1 else "") + "/answer"
    sent = client.post(url, data={"base_revision": base, **data}, headers=HX)
    assert sent.status_code == 200, sent.get_data(as_text=True)
    return sent.get_data(as_text=True)


def test_a_condition_inside_a_station_reads_that_stations_answer(client, cell_audit):
    audit = cell_audit
    ids, station = item_ids(audit), station_id(audit)
    assert (
        client.post(f"/audits/{audit.id}/sections/{station}/copies", data={"name": ""}, headers=HX).status_code == 200
    )
    answer(client, audit, "guard", value="yes")  # station 1: closed, so "why open" is not asked there
    html = answer(client, audit, "guard", copy=2, value="no")  # station 2: open, so it is asked there
    prog = audits.progress(audit)
    assert (ids["why-open"], 1) in prog.hidden and (ids["why-open"], 2) not in prog.hidden
    assert prog.by_section[station] == (1, 2) and prog.by_section[f"{station}-2"] == (1, 3)
    # The answer's response tells the screen which items are not asked, named as the screen names them.
    assert f'data-not-asked="{ids["why-open"]}"' in html
    page = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    assert f'id="item-{ids["why-open"]}-c2" data-show-if=\'{{"answer": ["no"], "item": "{ids["guard"]}-c2"}}\'>' in page
    assert (
        f'id="item-{ids["why-open"]}" data-show-if=\'{{"answer": ["no"], "item": "{ids["guard"]}"}}\' hidden>' in page
    )
    check = completion.completion_check(audit)
    unanswered = [(u.where, u.question) for u in check.unanswered]
    assert ("Station 2: ", "Was the open guard reported to the supervisor?") in unanswered
    assert ("Station 1: ", "Was the open guard reported to the supervisor?") not in unanswered


def test_each_station_is_scored_as_a_section_and_an_item_not_asked_is_not_scored(client, cell_audit):
    audit = cell_audit
    ids, station = item_ids(audit), station_id(audit)
    client.post(f"/audits/{audit.id}/sections/{station}/copies", data={"name": "press"}, headers=HX)
    answer(client, audit, "cell-clean", result="conform")  # Cell: 2 of 2
    answer(client, audit, "guard", value="no")  # station 1: major, 0 of 2; "why open" asked
    answer(client, audit, "why-open", result="conform")  # 2 of 2
    answer(client, audit, "guard", copy=2, value="yes")  # station 2: 2 of 2
    answer(client, audit, "tags", copy=2, result="minor_nc")  # 1 of 2
    score = audits.progress(audit).score
    assert score is not None
    assert score.sections[station].percent == 50  # 2 of 4
    assert score.sections[f"{station}-2"].percent == 75  # 3 of 4
    assert score.total.percent == 68  # sections weighed: (1 x 100 % + 3 x 50 % + 3 x 75 %) / 7 = 67.9 %
    # The guard closed again in station 1: "why open" is no longer asked, and its answer no longer scored.
    answer(client, audit, "guard", base=1, value="yes")
    after = audits.progress(audit)
    assert (ids["why-open"], 1) in after.hidden
    assert after.score is not None and after.score.sections[station].percent == 100  # 2 of 2


# The complete example of the format (every key of issue 15 in one file; quoted in the closing note).
EVERY_KEY = """\
# Weekly line walk: one Line section, a Station section repeated per station.
id: line-walk
title: Weekly line walk
version: 1
description: Walk of one production line, then each of its stations.
standards: [ISO 9001:2015]
findings:
  required_for: [major_nc]            # minor results are recorded deviations with a note
scoring:
  points: {conform: 2, observation: 1, ofi: 2, minor_nc: 1, major_nc: 0}
sections:
  - title: Line
    weight: 1
    items:
      - id: line-board
        reference: "LW-1"
        clauses: {ISO 9001:2015: ["7.5.3"]}
        question: Is the line board showing this week's plan and quality results?
        guidance: Compare the dates on the board with today's.
        evidence: [line board]
        require: {note: [minor_nc], photo: [major_nc]}
      - id: line-type
        reference: "LW-2"
        question: What does the line make this week?
        answer:
          type: choice
          options:
            - {value: std, label: Standard product, result: recorded}
            - {value: haz, label: Product with hazardous substances, result: recorded}
  - title: Chemicals
    show_if: {item: line-type, answer: [haz]}      # the whole section
    items:
      - id: chem-sds
        reference: "LW-3"
        clauses: {ISO 9001:2015: ["7.1.4"]}
        question: Are safety data sheets at hand for every substance in use?
        procedures:
          - {title: "Handling hazardous substances", document: "WI-31 rev D"}
  - title: Station
    weight: 3
    repeat: {label: Station, max: 12}
    items:
      - id: st-guard
        reference: "LW-4"
        question: Is the guard closed and interlocked?
        answer: {type: yes_no, "no": major_nc}
        photo: always
      - id: st-reported
        reference: "LW-5"
        question: Was the open guard reported to the supervisor?
        show_if: {item: st-guard, answer: ["no"]}
      - id: st-torque
        reference: "LW-6"
        clauses: {ISO 9001:2015: ["8.5.1"]}
        question: Torque on the clamp bolts?
        answer: {type: number, unit: Nm, min: 40, max: 45, outside: minor_nc}
        weight: 2
      - id: st-5s
        reference: "LW-7"
        question: State of the workplace?
        answer:
          type: choice
          options:
            - {value: clean, label: Clean and in order, result: conform, points: 3}
            - {value: some, label: Some items out of place, result: observation, points: 1}
            - {value: poor, label: Untidy, result: minor_nc, points: 0}
        points: {conform: 3, observation: 1, minor_nc: 0}
"""


def test_a_checklist_using_every_key_survives_export_to_xlsx_and_import(tmp_path):
    path = tmp_path / "line-walk.yaml"
    path.write_text(EVERY_KEY, encoding="utf-8")
    loaded = load_checklist_file(path)
    assert loaded.ok, [str(p) for p in loaded.problems]
    assert loaded.data["sections"][2]["repeat"] == {"label": "Station", "max": 12}
    result = sp.read_checklist_upload(sp.checklist_workbook(loaded.data), "line-walk.xlsx")
    assert [str(p) for p in result.problems] == []
    assert result.data == loaded.data and result.content_hash == loaded.content_hash
