"""Standards as data, references of the author's choosing, and honest coverage per standard (issue 15).

The three wrong figures the issue reported are rebuilt here with the data that produced them, shown
to be what the old rule counted, and then shown fixed on the pages a quality lead reads."""

from datetime import date
from pathlib import Path

import flask_migrate
import pytest

from auditapp.audits import services as audits
from auditapp.audits.models import Audit
from auditapp.capa import services as capa
from auditapp.checklists import services as checklists
from auditapp.checklists import standards
from auditapp.checklists.clauses import AUDITABLE_CLAUSES
from auditapp.checklists.loader import LoadedChecklist, validate_text
from auditapp.checklists.standards import StandardFileError, load_standard_file
from auditapp.core.timeutil import utcnow
from auditapp.extensions import db
from auditapp.findings.models import Finding
from auditapp.reports import coverage
from auditapp.reports.services import standard_coverage

from .support.accounts import log_in
from .support.audits import WALK, answer, items_of
from .support.standards import (
    INTEGRATED,
    ISMS,
    SECOND_LEVEL,
    SHIPPED_CHECKLISTS,
    audited_checklist,
    coverage_page,
    verdict,
)

ISO_KEYS = ("iso9001-2015", "iso14001-2015", "iso45001-2018")


def old_rule(clause: str) -> str | None:
    """How the map counted an item's clause before standards were data: the longest ISO 9001 auditable
    clause it starts with, whatever the checklist was about (checklists/clauses.py before issue 15)."""
    best = None
    for code, _ in AUDITABLE_CLAUSES:
        if (clause == code or clause.startswith(code + ".")) and (best is None or len(code) > len(best)):
            best = code
    return best


def problems_of(text: str) -> list[str]:
    result = LoadedChecklist(path=Path("t.yaml"), display_path="t.yaml")
    validate_text(text, result)
    return [str(p) for p in result.problems]


# --- the standards' files ----------------------------------------------------------------------


def test_the_shipped_standards_load_and_iso_9001_counts_the_54_clauses_it_always_counted():
    by_key = {s.key: s for s in standards.all_standards()}
    assert set(by_key) == {"iso9001-2015", "iso14001-2015", "iso45001-2018"}
    iso9001 = by_key["iso9001-2015"]
    assert len(iso9001.units) == 54 and iso9001.units[0].code == "4.1" and iso9001.units[-1].code == "10.3"
    assert iso9001.kind("7.1") == "heading" and iso9001.units_under("7.1") == [f"7.1.{n}" for n in range(1, 7)]
    assert iso9001.unit_of("7.1.5.2") == "7.1.5" and iso9001.unit_of("7.1") is None
    assert iso9001.kind("5.1.6") is None and iso9001.kind("10.1.5") is None and iso9001.kind("9.1.5") is None
    assert len(by_key["iso14001-2015"].units) == 30 and len(by_key["iso45001-2018"].units) == 34
    assert by_key["iso45001-2018"].unit_of("8.1.4.2") == "8.1.4"
    assert standards.by_name("ISO 14001:2015") is by_key["iso14001-2015"]


def test_a_wrong_standard_file_is_refused_with_every_problem_and_its_line(tmp_path):
    path = tmp_path / "iso50001-2018.yaml"
    path.write_text(
        "id: iso50001-2018\n"
        "name: ISO 50001:2018\n"
        "title: Energy management systems\n"
        "clauses:\n"
        '  "4": Context\n'
        '  "4.1.1": Orphan below a clause not listed\n'
        '  "5": ""\n'
        '  "6": {title: Planning, part: true}\n',
        encoding="utf-8",
    )
    with pytest.raises(StandardFileError) as refused:
        load_standard_file(path)
    assert str(refused.value).splitlines() == [
        'iso50001-2018.yaml:6: clause "4.1.1": its parent "4.1" must be listed before it',
        'iso50001-2018.yaml:7: clause "5": needs a title in your own words',
        'iso50001-2018.yaml:8: clause "6": a top-level clause cannot be a part',
    ]


# --- references, clauses, validation ------------------------------------------------------------


def test_references_of_any_scheme_are_accepted_and_an_items_lone_clause_keeps_meaning_what_it_meant():
    assert problems_of(ISMS) == []
    assert problems_of(ISMS.replace('reference: "A.5.1"', 'clause: "A.5.1"')) == [
        't.yaml:9: section 1 "Organisational controls", item 1 "a5-1" clause: "A.5.1" is not a clause number like "8.5.2"; '
        'a reference in another scheme goes in reference: "A.5.1"'
    ]
    assert problems_of(ISMS.replace('        reference: "A.5.9"\n', "")) == [
        't.yaml:11: section 1 "Organisational controls", item 2 "a5-9": needs a reference (any short text, e.g. "A.5.1") or a clause'
    ]


def test_clauses_a_standard_does_not_have_are_refused_with_their_line():
    """Defect (c): 5.1.6, 9.1.5 and 10.1.5 were accepted and vanished from coverage."""
    text = """\
id: iso
title: ISO 9001 audit
version: 1
standard: ISO 9001:2015
sections:
  - title: Leadership to improvement
    items:
      - id: lead
        clause: "5.1.6"
        question: Is leadership shown at every level?
      - id: monitor
        clause: "9.1.5"
        question: Are measurement results used?
      - id: improve
        clause: "10.1.5"
        question: Are improvements chosen from the results?
      - id: heading
        clause: "7.1"
        question: Are resources provided?
"""
    assert [old_rule(c) for c in ("5.1.6", "9.1.5", "10.1.5")] == [None, None, "10.1"]  # what the map did
    assert problems_of(text) == [
        't.yaml:9: section 1 "Leadership to improvement", item 1 "lead" clause: "5.1.6" is not a clause of ISO 9001:2015; under 5.1 it has 5.1.1, 5.1.2',
        't.yaml:12: section 1 "Leadership to improvement", item 2 "monitor" clause: "9.1.5" is not a clause of ISO 9001:2015; under 9.1 it has 9.1.1, 9.1.2, 9.1.3',
        't.yaml:15: section 1 "Leadership to improvement", item 3 "improve" clause: "10.1.5" is not a clause of ISO 9001:2015; did you mean "10.1"?',
    ]


def test_an_item_maps_to_clauses_of_several_standards_each_checked_against_its_own_tree():
    assert problems_of(INTEGRATED) == []
    assert problems_of(INTEGRATED.replace('ISO 45001:2018: ["7.5.3"]', 'ISO 45001:2018: ["7.5.3", "7.6"]')) == [
        't.yaml:14: section 1 "Documented information", item 1 "doc-control" clauses "ISO 45001:2018" entry 2: "7.6" is not a clause of ISO 45001:2018;'
        " under 7 it has 7.1, 7.2, 7.3, 7.4, 7.5"
    ]
    assert problems_of(INTEGRATED.replace("standards: [ISO 9001:2015, ISO 14001:2015, ISO 45001:2018]", "")) == [
        f't.yaml:{line}: section 1 "Documented information", item {i + 1} "{item}" clauses "{name}": "{name}" is not a standard this checklist'
        " declares; declare it first with standards: [...]"
        for line, i, item, name in [
            (12, 0, "doc-control", "ISO 9001:2015"),
            (13, 0, "doc-control", "ISO 14001:2015"),
            (14, 0, "doc-control", "ISO 45001:2018"),
            (19, 1, "emergency", "ISO 14001:2015"),
            (20, 1, "emergency", "ISO 45001:2018"),
        ]
    ]
    assert problems_of(
        INTEGRATED.replace('reference: "EM-1"', 'clause: "8.2"').replace(
            '        clauses:\n          ISO 14001:2015: "8.2"\n          ISO 45001:2018: ["8.2"]\n', ""
        )
    ) == [
        't.yaml:16: section 1 "Documented information", item 2 "emergency" clause: this checklist declares 3 standards, so say which this clause is'
        ' of: reference: "8.2" and clauses: {"ISO 9001:2015": ["8.2"]}'
    ]
    misspelt = problems_of(INTEGRATED.replace("ISO 14001:2015, ISO", "ISO 14001:2051, ISO"))
    assert len(misspelt) == 3  # the declaration, and each item naming the standard as it is spelt
    assert misspelt[:1] == [
        't.yaml:4: checklist standards entry 2: "ISO 14001:2051" is not a standard the app knows; did you mean "ISO 14001:2015"?'
        " (a checklist of another scheme leaves the standard out and gives each item a reference)"
    ]


def test_the_shipped_checklists_validate_and_keep_the_content_they_were_imported_with(app, shipped_checklists):
    loaded = {
        c.display_path.rsplit("/", 1)[-1]: c
        for c in checklists.check_files(checklists.checklist_files(shipped_checklists))
    }
    assert {name: c.ok for name, c in loaded.items()} == {
        "5s-walk.yaml": True,
        "iso14001-2015.yaml": True,
        "layered-process-audit.yaml": True,
        "iso45001-2018.yaml": True,
        "iso9001-2015.yaml": True,
        "production-floor-walk.yaml": True,
        "supplier-audit.yaml": True,
    }
    # Today's files hash as they did before references and standards existed: no new version on sync.
    assert loaded["iso9001-2015.yaml"].content_hash.startswith("b93b20a3e3fd")
    assert loaded["production-floor-walk.yaml"].content_hash.startswith("b91dc62bc0c9")
    checklists.sync_directory(shipped_checklists)
    iso = checklists.get_checklist("iso9001-2015").latest
    assert all(i.mapped_clauses == [("iso9001-2015", i.clause)] for i in iso.items) and len(iso.items) == 94


# --- coverage per standard: the three wrong figures ----------------------------------------------


def test_a_checklist_of_no_standard_adds_nothing_to_iso_9001_coverage(client, app, make_user):
    """Defect (a): one completed ISO 27001 audit made the ISO 9001 page count its numbered clauses."""
    audit = audited_checklist(client, app, make_user, ISMS)
    would_have = {old_rule(i.clause) for i in audit.checklist_version.items} - {None}
    assert would_have == {"6.1", "9.2", "10.2"}  # the old map counted these three ISO 9001 clauses
    html = coverage_page(client, make_user)
    assert 'id="coverage-count">0 of 54<' in html
    assert verdict(html, "6.1") == verdict(html, "9.2") == verdict(html, "10.2") == "not_audited"
    assert all(not c.answered for c in standard_coverage(utcnow()).rows)
    assert "coverage-partly" not in html and "coverage-unknown" not in html


@pytest.mark.parametrize(
    "key, items, audited, units, conform",
    [
        ("iso14001-2015", 13, 13, 30, ["4.1", "6.1.2", "6.2", "7.4.3", "9.1.2"]),
        ("iso45001-2018", 14, 13, 34, ["5.4", "6.1.2", "8.1.4", "9.1.1", "10.2"]),
    ],
)
def test_the_shipped_system_checklists_are_audited_toward_their_own_standard_only(
    client, app, make_user, key, items, audited, units, conform
):
    audit = audited_checklist(client, app, make_user, (SHIPPED_CHECKLISTS / f"{key}.yaml").read_text())
    assert len(audit.checklist_version.items) == items
    assert 'id="coverage-count">0 of 54<' in coverage_page(client, make_user)  # ISO 9001 untouched
    html = coverage_page(client, make_user, key)
    assert f'id="coverage-count">{audited} of {units}<' in html and "clauses 4.1 to 10.3" in html
    # 45001: 6.1.2 through its parts 6.1.2.1 and 6.1.2.2 (two items, one clause), 8.1.4 through 8.1.4.2.
    assert [verdict(html, c) for c in conform] == ["conform"] * len(conform)
    assert verdict(html, "7.1") == "not_audited"


def test_an_integrated_audit_counts_each_item_toward_every_standard_it_maps_to(client, app, make_user):
    audit = audited_checklist(client, app, make_user, INTEGRATED, {"doc-control": "minor_nc"})
    assert {s.standard.key: s.audited for s in (standard_coverage(utcnow(), k) for k in ISO_KEYS)} == {
        "iso9001-2015": 2,  # 7.5.2, 7.5.3
        "iso14001-2015": 3,  # 7.5.2, 7.5.3, 8.2
        "iso45001-2018": 2,  # 7.5.3, 8.2
    }
    for key in ISO_KEYS:
        assert verdict(coverage_page(client, make_user, key), "7.5.3") == "minor_nc"
    log_in(client, make_user("quality_lead"))
    preview = client.get(f"/checklists/integrated/v{audit.checklist_version.number}").get_data(as_text=True)
    assert "ISO 14001:2015 7.5.2, 7.5.3; ISO 45001:2018 7.5.3; ISO 9001:2015 7.5.2, 7.5.3" in preview
    readiness = client.get("/reports/readiness").get_data(as_text=True)
    for name in ("ISO 9001:2015", "ISO 14001:2015", "ISO 45001:2018"):
        assert f"{name}: every clause audited in the last 12 months" in readiness


def test_items_on_a_parent_clause_show_as_partly_covered_never_as_nothing(client, app, make_user):
    """Defect (b): a real ISO 9001 checklist written on 7.1, 8.5 and 9.1 silently lost those items."""
    audit = audited_checklist(client, app, make_user, SECOND_LEVEL, {"production": "minor_nc"})
    # The old map counted 2 of these 6 answers; 4 were on clauses it did not know and vanished.
    assert sum(old_rule(i.clause) is not None for i in audit.checklist_version.items) == 2
    covered = standard_coverage(utcnow())
    assert sum(r.answered for r in covered.rows) + sum(p.answered for p in covered.parents) == 6
    assert {p.clause: p.answered for p in covered.parents} == {"7.1": 1, "8.5": 2, "9.1": 1}
    html = coverage_page(client, make_user)
    assert 'id="coverage-count">2 of 54<' in html and 'id="coverage-partly">13 partly<' in html
    assert verdict(html, "7.1.5") == "conform" and verdict(html, "8.5.2") == "conform"
    assert verdict(html, "7.1.2") == verdict(html, "8.5.1") == verdict(html, "9.1.3") == "partly"
    parent = html.split('id="parent-8.5"')[1].split("</li>")[0]
    assert "2 answers" in parent and "Minor NC" in parent
    assert "8.5.1, 8.5.2, 8.5.3, 8.5.4, 8.5.5, 8.5.6" in parent  # what it covers
    assert '<span class="cov-left">8.5.1, 8.5.3, 8.5.4, 8.5.5, 8.5.6</span>' in parent  # what it leaves
    log_in(client, make_user("quality_lead"))
    readiness = client.get("/reports/readiness").get_data(as_text=True)
    assert "39 not audited" in readiness and "13 only partly, through 7.1, 8.5, 9.1: 7.1.1, 7.1.2" in readiness


def test_a_clause_imported_before_clauses_were_checked_is_listed_not_dropped(client, app, make_user):
    """Defect (c), for data already in the database: the upgrade maps an old ISO 9001 item's clause as it
    was; a clause ISO 9001 does not have is shown on the page instead of vanishing."""
    audit = audited_checklist(client, app, make_user, WALK)
    item = items_of(audit)["8.5.4-storage"]
    with db.engine.begin() as conn:  # as the upgrade (0016) left an item of a checklist imported long ago
        conn.execute(db.text("UPDATE checklist_item_clauses SET clause = '10.1.5' WHERE item_id = :i"), {"i": item.id})
    coverage.rebuild_all()
    db.session.commit()
    html = coverage_page(client, make_user)
    assert 'id="coverage-count">4 of 54<' in html
    assert '<span class="clause">10.1.5</span> 1 answer' in html.split('id="coverage-unknown"')[1]
    assert verdict(html, "10.1") == "not_audited"


def readme_block(marker: str) -> str:
    readme = (SHIPPED_CHECKLISTS.parent / "README.md").read_text(encoding="utf-8")
    return next(b.split("\n", 1)[1] for b in readme.split("```yaml")[1:] if marker in b).split("```", 1)[0]


def test_the_readmes_examples_are_valid(tmp_path):
    assert problems_of(readme_block("id: integrated")) == []
    path = tmp_path / "iso14001-2015.yaml"
    path.write_text(readme_block("name: ISO 14001:2015"), encoding="utf-8")
    example = load_standard_file(path)
    assert [(c.code, c.kind) for c in example.clauses.values()] == [
        ("6", "heading"),
        ("6.1", "heading"),
        ("6.1.2", "unit"),
        ("6.2", "unit"),
        ("6.2.1", "part"),
    ]


def test_a_reference_is_shown_and_used_where_the_clause_was(client, app, make_user):
    """Audit screen, finding, nonconformity (and its log's clause filter), audit report, ad-hoc picker."""
    audit = audited_checklist(client, app, make_user, ISMS, {"a5-1": "minor_nc"})
    finding = db.session.scalar(db.select(Finding).filter_by(audit_id=audit.id))
    assert finding.clause == "A.5.1"
    nc = capa.nc_for_finding(finding)
    assert nc is not None and nc.clause == "A.5.1"
    assert audits.clause_options(audit) == ["6.1.2", "9.2", "10.2"]  # numeric order; the picker takes numbers
    log_in(client, make_user("quality_lead"))
    screen = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    assert ">A.5.1</a> Are information security policies approved" in screen
    report = client.get(f"/audits/{audit.id}/report").get_data(as_text=True)
    assert "<td>A.5.1</td>" in report and '<span class="clause">A.5.1</span>' in report
    assert nc.number in client.get("/nc/?clause=A.5").get_data(as_text=True)
    assert nc.number not in client.get("/nc/?clause=A.6").get_data(as_text=True)


def test_the_upgrade_maps_items_of_checklists_that_declared_a_shipped_standard_and_no_other(client, app, make_user):
    """Migration 0016 on a database from before it: the ISO 9001 walk and an ISO 14001 checklist keep counting,
    each toward its own standard; the checklist of no standard stops counting toward ISO 9001."""
    walk = audited_checklist(client, app, make_user, WALK)
    isms = audited_checklist(client, app, make_user, ISMS)
    env = audited_checklist(client, app, make_user, (SHIPPED_CHECKLISTS / "iso14001-2015.yaml").read_text())
    before = {key: standard_coverage(utcnow(), key) for key in ISO_KEYS}
    ids = {"walk": walk.id, "isms": isms.id, "env": env.id}
    db.session.remove()
    flask_migrate.downgrade(revision="0015")  # as before standards were data: one clause per item
    with db.engine.connect() as conn:  # what the old summary counted toward ISO 9001: the ISMS items too
        old = set(conn.execute(db.text("SELECT DISTINCT clause FROM clause_audits")).scalars())
    assert {"6.1.2", "9.2", "10.2"} <= old
    flask_migrate.upgrade()
    db.session.remove()
    mapped = {
        name: {i.key: i.mapped_clauses for i in db.session.get(Audit, audit_id).checklist_version.items}
        for name, audit_id in ids.items()
    }
    assert mapped["walk"]["7.1.5-gauges"] == [("iso9001-2015", "7.1.5")]
    assert mapped["env"]["6.1.2-aspects-register"] == [("iso14001-2015", "6.1.2")]
    assert set(map(len, mapped["isms"].values())) == {0}
    after = {key: standard_coverage(utcnow(), key) for key in ISO_KEYS}
    assert {k: c.rows for k, c in after.items()} == {k: c.rows for k, c in before.items()}
    assert [after[k].audited for k in ISO_KEYS] == [5, 13, 0]


def test_a_gap_analysis_places_an_item_under_the_iso_9001_clauses_it_covers_not_its_reference(client, app, make_user):
    folder = Path(app.config["CHECKLIST_DIR"])
    (folder / "integrated.yaml").write_text(INTEGRATED, encoding="utf-8")
    checklists.sync_directory(folder)
    lead = make_user("auditor")
    audit = audits.plan_audit(
        make_user("quality_lead"),
        checklist_id=checklists.get_checklist("integrated").id,
        title="Integrated gap analysis",
        planned_date=date.today(),
        lead_auditor_id=lead.id,
        kind="gap_analysis",
    )
    db.session.commit()
    log_in(client, lead)
    items = items_of(audit)
    assert answer(client, audit, items["doc-control"], "conform").status_code == 200
    assert answer(client, audit, items["emergency"], "conform").status_code == 200  # no ISO 9001 clause
    html = client.get(f"/audits/{audit.id}/gaps").get_data(as_text=True)
    assert 'data-status="in_place"' in html.split('id="clause-7.5.2"')[1].split(">")[0]
    assert 'data-status="in_place"' in html.split('id="clause-7.5.3"')[1].split(">")[0]
    assert 'id="clause-other"' in html and 'id="clause-DOC-1"' not in html  # EM-1 has no ISO 9001 clause


def test_comparing_versions_shows_a_changed_clause_mapping(app, client, make_user):
    folder = Path(app.config["CHECKLIST_DIR"])
    (folder / "integrated.yaml").write_text(INTEGRATED, encoding="utf-8")
    checklists.sync_directory(folder)
    changed = INTEGRATED.replace("version: 1", "version: 2").replace('ISO 45001:2018: ["8.2"]', "ISO 45001:2018: []")
    (folder / "integrated.yaml").write_text(changed, encoding="utf-8")
    report = checklists.sync_directory(folder)
    assert [v.number for v in report.imported] == [2]
    log_in(client, make_user("quality_lead"))
    html = client.get("/checklists/integrated/compare").get_data(as_text=True)
    row = html.split('id="diff-reworded"')[1].split("</li>")[0]
    assert "<code>emergency</code>" in row and "(clauses)" in row
    assert "<del>ISO 14001:2015 8.2, ISO 45001:2018 8.2</del>" in row and "<ins>ISO 14001:2015 8.2</ins>" in row
