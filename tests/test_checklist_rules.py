"""Evidence rules per answer, finding rules per checklist and procedure links (issue 15).

`photo: always`, `require: {photo: [...], note: [...]}`, `procedures: [...]` on items and
`findings: {required_for: [...]}` on a checklist: validated with messages an author can act on, read by
one rule function (checklists/rules.py) that the completion check, the audit screen and the report share.
Runs on SQLite, and on PostgreSQL with AUDITAPP_TEST_DATABASE_URL."""

import re
import textwrap
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from auditapp.audits import services as audits
from auditapp.capa.models import Nonconformity
from auditapp.checklists import rules
from auditapp.checklists import services as checklists
from auditapp.checklists.loader import load_checklist_file
from auditapp.checklists.models import ChecklistItem, ChecklistVersion
from auditapp.extensions import db
from auditapp.findings.models import FINDING_GRADES, Finding

from .support.accounts import log_in
from .support.audits import HX, answer, items_of, reload
from .support.checklists import VALID
from .support.findings import NC_TEXT, finding_of, post_finding
from .support.photos import jpeg, upload
from .support.rules import RULES_WALK, plan_rules_walk

SHIPPED = Path(__file__).resolve().parent.parent / "checklists"


def load(tmp_path: Path, text: str, name: str = "floor.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_checklist_file(path, shown_as=f"checklists/{name}")


def messages(result) -> list[str]:
    """Each problem with its field's path (Problem.field), as a spreadsheet import maps it to a cell;
    how the position reads for people is tested in test_checklist_messages.py."""
    return [f"{p.path}:{p.line}: {p.field}: {p.message}" if p.field else str(p) for p in result.problems]


def with_first_item(extra: str) -> str:
    """VALID with lines added to its first item (results: conform, minor_nc, major_nc, observation, ofi, na)."""
    anchor = "        results: [conform, minor_nc, major_nc, observation, ofi, na]\n"
    return VALID.replace(anchor, anchor + textwrap.indent(textwrap.dedent(extra), " " * 8))


# --- the format ----------------------------------------------------------------------------------


def test_files_without_the_keys_load_and_hash_exactly_as_before():
    """The content hashes the shipped files had before these keys existed: no new version on sync."""
    before = {
        "iso9001-2015.yaml": "b93b20a3e3fd692935c441aaaac314aff9a0fb87b07ea235b078c051e78bb078",
        "iso14001-2015.yaml": "88792d474c39b79ca248adf1c92fa0683299c026af8796b2a794fce4380e3590",
        "iso45001-2018.yaml": "3b2921bd2d3e92c0c46eedde728afb1abb9ae4a08e9a039b8c74b9a33b0110ed",
        "production-floor-walk.yaml": "b91dc62bc0c99f57f11af11e78169244b55e7a1c1aac2b59fc67eb728dffc883",
    }
    for name, digest in before.items():
        loaded = load_checklist_file(SHIPPED / name)
        assert loaded.ok and loaded.content_hash == digest, name
        assert "findings" not in loaded.data
        assert not any("require" in i or "procedures" in i for s in loaded.data["sections"] for i in s["items"])


def test_the_rules_keys_load_as_written(tmp_path):
    text = with_first_item("""\
        require: {photo: [minor_nc], note: [observation, ofi]}
        procedures:
          - {title: "Traceability procedure", document: "QP-08 rev C"}
          - {title: "Label drawing", url: "https://intranet.example/wi-13"}
        """).replace("sections:\n", "findings:\n  required_for: [major_nc, minor_nc]\nsections:\n")
    loaded = load(tmp_path, text)
    assert loaded.ok, messages(loaded)
    item = loaded.data["sections"][0]["items"][0]
    assert item["require"] == {"photo": ["minor_nc"], "note": ["observation", "ofi"]}
    assert item["procedures"][1] == {"title": "Label drawing", "url": "https://intranet.example/wi-13"}
    assert loaded.data["findings"] == {"required_for": ["major_nc", "minor_nc"]}
    assert "photo: always" not in text
    assert load(tmp_path, VALID.replace("photo: required_on_nc", "photo: always")).ok


def test_evidence_rules_name_only_the_items_results(tmp_path):
    text = with_first_item("require: {photo: [minor_nc, major_nc], note: [observaton]}\n").replace(
        "results: [conform, minor_nc, major_nc, observation, ofi, na]", "results: [conform, minor_nc, observation]"
    )
    assert messages(load(tmp_path, text)) == [
        'checklists/floor.yaml:17: sections[0].items[0].require.note[0]: "observaton" is not a result;'
        ' did you mean "observation"?',
        'checklists/floor.yaml:17: sections[0].items[0].require.photo[1]: "major_nc" is not one of this'
        ' item\'s results (conform, minor_nc, observation); did you mean "minor_nc"?',
    ]


def test_evidence_rule_mistakes_are_each_named(tmp_path):
    cases = {
        "require: {foto: [minor_nc]}\n": 'require.foto: unknown field; did you mean "photo"?',
        "require: [minor_nc]\n": "require: expected a mapping like {photo: [minor_nc, major_nc], note: [observation]}, not a list",
        "require: {note: [ofi, ofi]}\n": 'require.note[1]: "ofi" is listed twice',
        "require: {photo: minor_nc}\n": "require.photo: expected a list like [a, b], not text",
    }
    for extra, expected in cases.items():
        msgs = messages(load(tmp_path, with_first_item(extra)))
        assert len(msgs) == 1 and msgs[0].endswith(expected), (extra, msgs)
    never = with_first_item("require: {photo: [minor_nc]}\n").replace("photo: required_on_nc", "photo: never")
    assert messages(load(tmp_path, never)) == [
        "checklists/floor.yaml:17: sections[0].items[0].require.photo: the item says photo: never,"
        " so no result can require a photo"
    ]


def test_finding_rules_list_only_results_that_can_be_findings(tmp_path):
    def problems(value: str) -> list[str]:
        return messages(load(tmp_path, VALID.replace("sections:\n", f"findings:\n  {value}\nsections:\n")))

    assert problems("required_for: [conform]") == [
        'checklists/floor.yaml:7: findings.required_for[0]: "conform" is not a result that can need a finding;'
        " use one of: minor_nc, major_nc, observation, ofi"
    ]
    assert problems("required_for: [major]") == [
        'checklists/floor.yaml:7: findings.required_for[0]: "major" is not a result that can need a finding;'
        ' did you mean "major_nc"?'
    ]
    assert problems("required: [major_nc]") == [
        "checklists/floor.yaml:7: findings.required_for: required field is missing",
        'checklists/floor.yaml:7: findings.required: unknown field; did you mean "required_for"?',
    ]
    assert problems("required_for: [major_nc, major_nc]") == [
        'checklists/floor.yaml:7: findings.required_for[1]: "major_nc" is listed twice'
    ]
    assert problems("required_for: []") == []  # no result needs a finding: a pure inspection round


def test_procedure_links_are_web_addresses_or_document_numbers(tmp_path):
    def problems(entry: str) -> list[str]:
        return messages(load(tmp_path, with_first_item(f"procedures:\n  - {entry}\n")))

    assert problems('{title: "WI", url: "javascript:alert(1)"}') == [
        'checklists/floor.yaml:18: sections[0].items[0].procedures[0].url: "javascript:alert(1)" is not a web'
        " address; write it whole, starting with https://"
    ]
    assert problems('{title: "WI", url: "ftp://files.example/wi.pdf"}')[0].endswith("starting with https://")
    assert problems('{title: "WI", url: "https://"}')[0].endswith("like https://intranet.example/wi-12")
    assert problems('{title: "WI", url: "https://intra net.example/x"}')[0].endswith(
        "like https://intranet.example/wi-12"
    )
    for hostile in ("JavaScript:alert(1)", " javascript:alert(1)", "data:text/html,x", "https:evil", "//evil.example"):
        assert problems(f'{{title: "WI", url: "{hostile}"}}'), hostile
    assert problems('{title: "WI", url: "java\\tscript:alert(1)"}')
    assert problems('{title: "WI"}') == [
        "checklists/floor.yaml:18: sections[0].items[0].procedures[0].title: give its url: (https://...) or"
        ' its document: number, e.g. {title: "Torque", document: "WI-12"}'
    ]
    assert problems('{title: "WI", link: "https://x.example"}')[0].endswith(
        "link: unknown field; use one of: title, url, document"
    )
    assert problems('{url: "https://x.example"}')[0].endswith("procedures[0].title: required field is missing")
    assert problems('{title: "WI", document: "WI-12", url: "http://intranet.example/wi-12"}') == []


# --- the rule function ---------------------------------------------------------------------------

ALL = ["conform", "minor_nc", "major_nc", "observation", "ofi", "na"]


def item(photo="optional", require=None, results=ALL) -> ChecklistItem:
    return ChecklistItem(photo_rule=photo, require=require, results=results)


def test_photo_always_needs_a_photo_whatever_the_result_but_na():
    always = item("always")
    assert [r for r in ALL if rules.evidence_needed(always, r).photo] == ALL[:-1]
    assert not rules.evidence_needed(always, "not_audited").photo and not rules.evidence_needed(always, None).photo
    assert rules.evidence_hints(always) == ["Photo needed unless N/A"]
    assert rules.evidence_hints(item("always", results=["conform", "minor_nc"])) == ["Photo needed"]
    assert not rules.evidence_needed(always, "conform", gap_analysis=True).photo  # a gap has nothing to photograph


def test_require_lists_results_needing_a_photo_or_a_note():
    walk = item(require={"photo": ["major_nc"], "note": ["minor_nc", "observation"]})
    assert rules.evidence_needed(walk, "major_nc") == rules.Evidence(photo=True, note=False)
    assert rules.evidence_needed(walk, "minor_nc") == rules.Evidence(photo=False, note=True)
    assert rules.evidence_needed(walk, "conform") == rules.Evidence()
    assert rules.evidence_hints(walk) == ["Photo needed if Major NC", "Note needed if Minor NC or Observation"]
    assert rules.missing_evidence(walk, "minor_nc", has_photo=True, note="  ") == ["a note"]
    assert rules.missing_evidence(walk, "minor_nc", has_photo=False, note="Two bins unlabelled") == []
    both = item("required_on_nc", require={"photo": ["observation"], "note": ["major_nc"]})
    assert rules.photo_results(both) == ["minor_nc", "major_nc", "observation"]  # today's rule, and more
    assert rules.missing_evidence(both, "major_nc", has_photo=False, note="") == ["a photo", "a note"]
    assert rules.evidence_hints(both) == [
        "Photo needed if Minor NC, Major NC or Observation",
        "Note needed if Major NC",
    ]


def test_todays_photo_rule_reads_as_before():
    iso = item("required_on_nc")
    assert rules.photo_results(iso) == ["minor_nc", "major_nc"] and rules.note_results(iso) == []
    assert not rules.has_own_rules(iso) and rules.has_own_rules(item("always"))
    assert rules.evidence_needed(item(), "major_nc") == rules.Evidence()


def test_finding_rules_default_to_every_finding_grade():
    today = ChecklistVersion(finding_results=None)
    assert rules.finding_results(today) == [g.value for g in FINDING_GRADES]  # the ISO audits' rule, unchanged
    walk = ChecklistVersion(finding_results=["major_nc"])
    assert rules.finding_required(walk, "major_nc") and not rules.finding_required(walk, "minor_nc")
    assert rules.recorded_deviation(walk, "minor_nc") and rules.recorded_deviation(walk, "ofi")
    assert not rules.recorded_deviation(walk, "major_nc") and not rules.recorded_deviation(walk, "conform")
    assert not any(rules.recorded_deviation(today, r) for r in ALL)


# --- completion, on the audit ----------------------------------------------------------------------


@pytest.fixture
def rules_audit(app, client, make_user):
    lead = make_user("auditor")
    audit = plan_rules_walk(app, make_user("quality_lead"), lead)
    log_in(client, lead)
    return audit


def blockers(client, audit) -> list[str]:
    html = client.get(f"/audits/{audit.id}/complete").get_data(as_text=True)
    found = re.search(r'<div class="form-error" id="blockers">(.*?)</div>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", found.group(1)) if found else []


def note(client, audit, item, text):
    return client.post(f"/audits/{audit.id}/items/{item.id}/note", data={"note": text}, headers=HX)


def test_the_imported_version_keeps_the_rules(rules_audit):
    version = rules_audit.checklist_version
    by_key = items_of(rules_audit)
    assert version.finding_results == ["major_nc"]
    assert by_key["board"].photo_rule == "always" and by_key["bins"].require == {
        "photo": ["minor_nc"],
        "note": ["minor_nc"],
    }
    assert by_key["bins"].procedures == [{"title": "Bin labels", "url": "https://intranet.example/bins"}]
    assert by_key["exits"].require is None and by_key["exits"].procedures is None


def test_completion_blockers_follow_each_rule_and_link_to_the_item(client, rules_audit):
    audit = rules_audit
    by_key = items_of(audit)
    for key, result in (("board", "conform"), ("bins", "minor_nc"), ("aisles", "observation"), ("exits", "minor_nc")):
        assert answer(client, audit, by_key[key], result).status_code == 200

    def link(key):
        return f'<a href="/audits/{audit.id}#item-{by_key[key].id}">'

    assert blockers(client, audit) == [
        f"{link('board')}R-1 “Is the area board up to date?”: Conform here needs a photo.</a>",
        f"{link('bins')}R-2 “Are the bins labelled?”: Minor NC here needs a photo and a note.</a>",
        f"{link('aisles')}R-3 “Are aisles clear?”: Observation here needs a note.</a>",
    ]  # no finding is demanded for the minor and the observation: only major_nc needs one here
    refused = client.post(f"/audits/{audit.id}/complete", data={"conclusion": "x", "confirm_unanswered": "on"})
    assert refused.status_code == 422 and "needs a photo" in refused.get_data(as_text=True)

    assert upload(client, audit, by_key["board"], ("board.jpg", jpeg())).status_code == 200
    assert note(client, audit, by_key["bins"], "Two bins without labels at station 3.").status_code == 200
    assert note(client, audit, by_key["aisles"], "Pallet in aisle B, moved during the walk.").status_code == 200
    assert blockers(client, audit) == [f"{link('bins')}R-2 “Are the bins labelled?”: Minor NC here needs a photo.</a>"]
    upload(client, audit, by_key["bins"], ("bins.jpg", jpeg()))
    assert blockers(client, audit) == []

    answer(client, audit, by_key["exits"], "major_nc")  # required_for: [major_nc]
    assert blockers(client, audit) == [f"{link('exits')}R-4 “Are exits free?”: needs a written finding.</a>"]
    post_finding(client, audit, by_key["exits"], {**NC_TEXT, "why_major": "Fire exit blocked."})
    assert blockers(client, audit) == []
    done = client.post(f"/audits/{audit.id}/complete", data={"conclusion": "Walk done.", "confirm_unanswered": "on"})
    assert done.status_code in (302, 303) and reload(audit).status == "completed"
    assert db.session.scalar(db.select(db.func.count(Finding.id)).filter_by(audit_id=audit.id)) == 1


def test_an_answer_that_needs_nothing_more_blocks_nothing(client, rules_audit):
    audit = rules_audit
    by_key = items_of(audit)
    answer(client, audit, by_key["board"], "na")  # photo: always, but N/A
    answer(client, audit, by_key["bins"], "conform")
    answer(client, audit, by_key["aisles"], "ofi")  # a finding grade this checklist records without a finding
    assert blockers(client, audit) == []


def test_the_item_says_what_it_needs_before_it_is_graded(client, rules_audit):
    audit = rules_audit
    by_key = items_of(audit)
    page = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    assert f'id="item-{by_key["board"].id}"' in page
    for key, said in (
        ("board", "Photo needed unless N/A"),
        ("bins", "Photo needed if Minor NC · Note needed if Minor NC"),
        ("aisles", "Note needed if Observation"),
    ):
        part = page.split(f'id="item-{by_key[key].id}"')[1].split("</li>")[0]
        assert f'<p class="needs">{said}</p>' in part, key
    exits = page.split(f'id="item-{by_key["exits"].id}"')[1].split("</li>")[0]
    assert 'class="needs"' not in exits and 'class="np"' not in exits
    # The finding form opens (also offline) only for the results that need a finding here.
    assert '<template data-finding-form="major_nc">' in page
    # The procedure is under the item's guidance, fetched when opened, as a safe link.
    assert "<summary>Guidance and procedures</summary>" in page and "intranet.example/bins" not in page
    own_page = client.get(f"/audits/{audit.id}/items/{by_key['bins'].id}").get_data(as_text=True)
    assert '<a href="https://intranet.example/bins" target="_blank" rel="noopener noreferrer">' in own_page  # no JS
    guidance = client.get(f"/audits/{audit.id}/guidance").get_data(as_text=True)
    assert (
        f'<div id="g-{by_key["bins"].id}"><ul class="procedures"><li><a href="https://intranet.example/bins"'
        ' target="_blank" rel="noopener noreferrer">Bin labels</a></li></ul>' in guidance
    )


def test_a_recorded_deviation_offers_a_finding_but_does_not_open_one(client, rules_audit):
    audit = rules_audit
    bins = items_of(audit)["bins"]
    html = answer(client, audit, bins, "minor_nc").get_data(as_text=True)
    assert "Recorded deviation: no finding needed." in html and "finding-form" not in html
    assert f'hx-get="/audits/{audit.id}/items/{bins.id}?edit=finding"' in html
    form = client.get(f"/audits/{audit.id}/items/{bins.id}?edit=finding", headers=HX).get_data(as_text=True)
    assert 'class="finding-form"' in form and "Finding: Minor NC" in form
    # Written anyway, it is a finding like any other: a nonconformity in the log.
    assert post_finding(client, audit, bins, NC_TEXT).status_code == 200
    assert finding_of(audit, bins).grade == "minor_nc"
    assert db.session.scalar(db.select(db.func.count(Nonconformity.id))) == 1


def test_iso_audits_keep_todays_finding_rule(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)  # the walk of tests/support/audits.py: no findings key
    log_in(client, lead)
    assert audit.checklist_version.finding_results is None
    page = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    assert '<template data-finding-form="minor_nc major_nc observation ofi">' in page
    assert 'class="needs"' not in page and page.count('class="np"') == 1  # today's photo hint, unchanged
    gauges = items_of(audit)["7.1.5-gauges"]
    html = answer(client, audit, gauges, "observation").get_data(as_text=True)
    assert 'class="finding-form"' in html and "Recorded deviation" not in html
    assert blockers(client, audit) == [
        f'<a href="/audits/{audit.id}#item-{gauges.id}">7.1.5 “Are gauges within calibration?”: needs a written'
        " finding.</a>"
    ]


# --- the shipped 5S walk ---------------------------------------------------------------------------


@pytest.fixture
def five_s(app, client, make_user, shipped_checklists):
    checklists.sync_directory(shipped_checklists)
    walk = checklists.get_checklist("5s-walk")
    lead = make_user("auditor")
    audit = audits.plan_audit(
        make_user("quality_lead"),
        checklist_id=walk.id,
        title="5S walk, machining cell",
        planned_date=date.today(),
        lead_auditor_id=lead.id,
    )
    db.session.commit()
    log_in(client, lead)
    return audit


def test_the_5s_walk_is_a_checklist_of_no_standard_with_rules(five_s):
    version = five_s.checklist_version
    assert version.standard == "" and version.finding_results == ["major_nc"]
    assert len(version.items) == 15 and len({i.section_id for i in version.items}) == 5
    assert all(i.mapped_clauses == [] for i in version.items)  # never counts toward a standard's coverage
    assert all(rules.note_results(i) for i in version.items)
    assert any(i.photo_rule == "always" for i in version.items)
    assert sum(1 for i in version.items if i.procedures) >= 3


def test_a_5s_walk_completes_with_minor_deviations_and_notes_and_no_findings(client, five_s):
    audit = five_s
    by_key = items_of(audit)
    deviations = {
        "sort-unneeded": "Two old fixtures under bench 4.",
        "order-shadow-board": "Torque wrench 3 missing, not signed out.",
        "shine-cleaning-plan": "Not signed for the last two night shifts.",
    }
    for key, item in by_key.items():
        result = "minor_nc" if key in deviations else "na" if key == "sustain-board" else "conform"
        assert answer(client, audit, item, result).status_code == 200
    names = [f"“{by_key[k].question}”: Minor NC here needs a note." for k in deviations]
    assert [re.sub(r"<[^>]+>", "", b).split(" ", 1)[1] for b in blockers(client, audit)] == names
    for key, text in deviations.items():
        assert note(client, audit, by_key[key], text).status_code == 200
    assert blockers(client, audit) == []
    done = client.post(f"/audits/{audit.id}/complete", data={"conclusion": "Area in good order; three deviations."})
    assert done.status_code in (302, 303) and reload(audit).status == "completed"
    # No finding was demanded or written, so nothing reaches the NC log.
    assert db.session.scalar(db.select(db.func.count(Finding.id)).filter_by(audit_id=audit.id)) == 0
    assert db.session.scalar(db.select(db.func.count(Nonconformity.id))) == 0

    screen = client.get(f"/audits/{audit.id}").get_data(as_text=True)  # read-only now
    assert screen.count("Recorded deviation: no finding needed.") == 3 and "Write a finding" not in screen
    report = client.get(f"/audits/{audit.id}/report").get_data(as_text=True)
    assert "<h2>Findings (0)</h2>" in report and "<h2>Recorded deviations (3)</h2>" in report
    listed = report.split("<h2>Recorded deviations (3)</h2>")[1].split("<h2>Conclusion</h2>")[0]
    assert "none is a nonconformity in the NC log" in listed
    for key, text in deviations.items():
        assert by_key[key].question in listed and text in listed
    assert listed.count("<td>Minor NC</td>") == 3
    # The procedures the items check are in the report, with their addresses printed for the PDF.
    assert '<span class="doc">QP-5S-01</span>' in report
    assert (
        '<a href="https://intranet.example/5s/red-tag" target="_blank" rel="noopener noreferrer">Red-tag routine</a>'
        ' <small class="url">https://intranet.example/5s/red-tag</small>' in report
    )


def test_the_5s_report_pdf_lists_the_deviations_and_procedures(client, five_s):
    audit = five_s
    item = items_of(audit)["sort-red-tag"]
    answer(client, audit, item, "minor_nc")
    note(client, audit, item, "Tags from August still on the rack.")
    pdf = client.get(f"/audits/{audit.id}/report.pdf")
    assert pdf.status_code == 200
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(BytesIO(pdf.data)).pages)
    assert "Recorded deviations (1)" in text and "Tags from August still on the rack." in text
    assert "Red-tag routine" in text and "QP-5S-01" in text


def test_the_checklist_preview_shows_the_rules_to_its_author(client, five_s):
    page = client.get("/checklists/5s-walk/v2").get_data(as_text=True)
    assert "Written findings needed for: Major NC." in page
    assert "Photo needed if Major NC · Note needed if Minor NC" in page
    assert "Photo needed unless N/A · Note needed if Minor NC" in page
    assert '<a href="https://intranet.example/5s/red-tag" target="_blank" rel="noopener noreferrer">' in page
    iso = client.get("/checklists/production-floor-walk/v1").get_data(as_text=True)
    assert "Written findings needed" not in iso and "photo required for a nonconformity" in iso


def test_comparing_versions_spells_out_changed_rules(app, client, rules_audit, make_user):
    folder = Path(app.config["CHECKLIST_DIR"])
    v2 = (
        RULES_WALK.replace("version: 1", "version: 2")
        .replace("require: {photo: [minor_nc], note: [minor_nc]}", "require: {note: [minor_nc, major_nc]}")
        .replace(
            "        question: Are exits free?\n",
            '        question: Are exits free?\n        procedures: [{title: "Fire plan", document: "EHS-3"}]\n',
        )
    )
    (folder / "rules-walk.yaml").write_text(v2, encoding="utf-8")
    assert checklists.sync_directory(folder).problems == []
    html = client.get("/checklists/rules-walk/compare").get_data(as_text=True)
    assert "0 added · 0 removed · 0 renamed · 2 reworded · 2 unchanged" in html
    assert "<del>photo: minor_nc; note: minor_nc</del>" in html and "<ins>note: minor_nc, major_nc</ins>" in html
    assert "<del>—</del>" in html and "<ins>Fire plan (EHS-3)</ins>" in html


def test_a_procedure_link_is_escaped_where_it_is_shown(app, client, make_user):
    folder = Path(app.config["CHECKLIST_DIR"])
    hostile = RULES_WALK.replace(
        "https://intranet.example/bins", 'https://intranet.example/b?x=\\"><script>alert(1)</script>'
    ).replace('title: "Bin labels"', 'title: "<b>Bins</b>"')
    (folder / "rules-walk.yaml").write_text(hostile, encoding="utf-8")
    lead = make_user("auditor")
    audit = plan_rules_walk(app, make_user("quality_lead"), lead, write=False)
    log_in(client, lead)
    guidance = client.get(f"/audits/{audit.id}/guidance").get_data(as_text=True)
    assert "<script>" not in guidance and "<b>Bins</b>" not in guidance
    assert 'href="https://intranet.example/b?x=&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in guidance
