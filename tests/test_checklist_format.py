"""The YAML checklist format: every problem named with file, line and field, all at once."""

import textwrap
from pathlib import Path

import pytest

from auditapp.checklists.loader import MAX_FILE_BYTES, load_checklist_file

from .support.checklists import VALID


def load(tmp_path: Path, text: str, name: str = "floor.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_checklist_file(path, shown_as=f"checklists/{name}")


def messages(result) -> list[str]:
    return [str(p) for p in result.problems]


# Positions as people read them (the machine path stays on Problem.field).
S1 = 'section 1 "Production and service provis…"'
ITEM1 = f'{S1}, item 1 "8.5.2-traceability"'
ITEM2 = f'{S1}, item 2 "8.5.1-instructions"'


def test_valid_file_loads_with_defaults_and_hash(tmp_path):
    result = load(tmp_path, VALID)
    assert result.ok, messages(result)
    item = result.data["sections"][0]["items"][1]
    assert item["photo"] == "optional"
    assert item["results"] is None  # all results allowed
    assert item["evidence"] == [] and item["guidance"] == ""
    assert result.item_count == 2
    assert len(result.content_hash) == 64


def test_comments_and_layout_do_not_change_the_content_hash(tmp_path):
    first = load(tmp_path, VALID)
    second = load(
        tmp_path,
        "# a new comment\n"
        + VALID.replace("[part label, routing card]", "\n          - part label\n          - routing card"),
    )
    assert second.ok, messages(second)
    assert first.content_hash == second.content_hash
    third = load(tmp_path, VALID.replace("Sample three parts.", "Sample five parts."))
    assert third.content_hash != first.content_hash


def test_unknown_key_names_line_field_and_suggestion(tmp_path):
    result = load(tmp_path, VALID.replace("        guidance: Sample", "        guidnce: Sample"))
    assert messages(result) == [f'checklists/floor.yaml:13: {ITEM1} guidnce: unknown field; did you mean "guidance"?']


def test_missing_required_fields_are_each_reported(tmp_path):
    text = VALID.replace("title: Floor walk\n", "").replace(
        "        question: Are work instructions at the point of use?\n", ""
    )
    result = load(tmp_path, text)
    assert "checklists/floor.yaml:1: checklist title: required field is missing" in messages(result)
    assert f"checklists/floor.yaml:16: {ITEM2} question: required field is missing" in messages(result)


def test_wrong_types_are_reported(tmp_path):
    text = VALID.replace("version: 1", "version: one").replace(
        "evidence: [part label, routing card]", "evidence: part label"
    )
    result = load(tmp_path, text)
    msgs = messages(result)
    assert any(m.startswith("checklists/floor.yaml:3: checklist version: expected a whole number") for m in msgs), msgs
    assert f"checklists/floor.yaml:14: {ITEM1} evidence: expected a list like [a, b], not text" in msgs


def test_boolean_version_is_not_a_number(tmp_path):
    result = load(tmp_path, VALID.replace("version: 1", "version: true"))
    assert any("version: expected a whole number" in m for m in messages(result))


def test_unquoted_clause_is_refused_with_the_exact_token_and_a_hint(tmp_path):
    result = load(tmp_path, VALID.replace('clause: "8.5.1"', "clause: 8.10"))
    assert messages(result) == [
        f'checklists/floor.yaml:18: {ITEM2} clause: 8.10 was read as the number 8.1; put it in quotes: "8.10"'
    ]


def test_unquoted_integer_clause_and_numeric_id_are_refused(tmp_path):
    text = VALID.replace('  - clause: "8.5"', "  - clause: 8").replace("id: 8.5.1-instructions", "id: 42")
    msgs = messages(load(tmp_path, text))
    assert any(f'{S1} clause: expected text, but YAML read the number 8; put it in quotes: "8"' in m for m in msgs), (
        msgs
    )
    assert any(
        f'{S1}, item 2 id: expected text, but YAML read the number 42; put it in quotes: "42"' in m for m in msgs
    ), msgs


def test_yaml_booleans_never_pass_as_text(tmp_path):
    result = load(tmp_path, VALID.replace("title: Floor walk", "title: true"))
    assert (
        "checklists/floor.yaml:2: checklist title: expected text, but YAML read the boolean true; put it in quotes"
        in messages(result)
    )


def test_no_stays_text_in_yaml_1_2(tmp_path):
    result = load(tmp_path, VALID.replace("guidance: Sample three parts.", "guidance: no"))
    assert result.ok, messages(result)
    assert result.data["sections"][0]["items"][0]["guidance"] == "no"


def test_unknown_result_code_suggests_the_closest(tmp_path):
    result = load(tmp_path, VALID.replace("major_nc, observation", "majr_nc, observation"))
    assert messages(result) == [
        f'checklists/floor.yaml:16: {ITEM1} results entry 3: "majr_nc" is not a result; did you mean "major_nc"?'
    ]


def test_result_listed_twice_and_empty_results(tmp_path):
    msgs = messages(load(tmp_path, VALID.replace("ofi, na]", "ofi, conform]")))
    assert any('results entry 6: "conform" is listed twice' in m for m in msgs), msgs
    msgs = messages(
        load(tmp_path, VALID.replace("results: [conform, minor_nc, major_nc, observation, ofi, na]", "results: []"))
    )
    assert any("results: must list at least one result" in m for m in msgs), msgs


def test_unknown_photo_rule(tmp_path):
    msgs = messages(load(tmp_path, VALID.replace("photo: required_on_nc", "photo: sometimes")))
    assert msgs == [
        f'checklists/floor.yaml:15: {ITEM1} photo: "sometimes" is not a photo rule; '
        "use one of: never, optional, required_on_nc, always"
    ]


def test_duplicate_item_ids_point_at_both_lines(tmp_path):
    msgs = messages(load(tmp_path, VALID.replace("id: 8.5.1-instructions", "id: 8.5.2-traceability")))
    assert msgs == [
        f'checklists/floor.yaml:17: {S1}, item 2 "8.5.2-traceability" id: duplicate item id "8.5.2-traceability" (first used at line 10)'
    ]


def test_duplicate_clause_and_question_is_refused(tmp_path):
    text = VALID.replace(
        'clause: "8.5.1"\n        question: Are work instructions at the point of use?',
        'clause: "8.5.2"\n        question: Are outputs  traceable to their work order?',
    )
    msgs = messages(load(tmp_path, text))
    assert msgs == [
        f"checklists/floor.yaml:19: {ITEM2} question: clause 8.5.2 already asks this question "
        '(item "8.5.2-traceability")'
    ]


def test_duplicate_section_clause_and_item_outside_section(tmp_path):
    text = VALID + (
        '  - clause: "8.5"\n'
        "    title: Again\n"
        "    items:\n"
        "      - id: other\n"
        '        clause: "7.1"\n'
        "        question: Is this somewhere else?\n"
    )
    msgs = messages(load(tmp_path, text))
    assert any(f'section 2 "Again" clause: clause "8.5" already has a section ({S1})' in m for m in msgs), msgs
    assert any(
        'section 2 "Again", item 1 "other" clause: clause "7.1" is outside its section\'s clause "8.5"' in m
        for m in msgs
    ), msgs


def test_renamed_targets_must_exist_and_old_ids_must_be_gone(tmp_path):
    text = VALID.replace(
        "sections:",
        'renamed: {"8.5.2-01": "8.5.2-traceability", "old": "missing-id", "8.5.1-instructions": "8.5.2-traceability"}\nsections:',
    )
    msgs = messages(load(tmp_path, text))
    assert (
        'checklists/floor.yaml:6: checklist renamed old: renamed target "missing-id" is not an item in this file'
        in msgs
    )
    assert (
        'checklists/floor.yaml:6: checklist renamed "8.5.1-instructions": "8.5.1-instructions" is renamed but still used as an item id'
        in msgs
    )
    assert len(msgs) == 2


def test_renamed_values_must_be_text(tmp_path):
    msgs = messages(load(tmp_path, VALID.replace("sections:", "renamed: {old: 12}\nsections:")))
    assert msgs == ["checklists/floor.yaml:6: checklist renamed old: old and new item ids must both be quoted text"]


def test_every_problem_is_reported_at_once_in_line_order(tmp_path):
    text = (
        VALID.replace("version: 1", "version: 0")
        .replace("guidance: Sample", "guidnce: Sample")
        .replace("majr", "x")
        .replace("major_nc, observation", "majr_nc, observation")
        .replace('clause: "8.5.1"', "clause: 8.10")
    )
    result = load(tmp_path, text)
    lines = [p.line for p in result.problems]
    assert len(result.problems) == 4, messages(result)
    assert lines == sorted(lines)


def test_id_must_match_file_name(tmp_path):
    msgs = messages(load(tmp_path, VALID, name="walk.yaml"))
    assert msgs == ['checklists/walk.yaml:1: checklist id: "floor" must match the file name "walk.yaml"']


def test_non_utf8_file_names_the_line(tmp_path):
    path = tmp_path / "floor.yaml"
    path.write_bytes(VALID.replace("A short walk.", "Contr\xf4le").encode("latin-1"))
    result = load_checklist_file(path, shown_as="checklists/floor.yaml")
    assert messages(result) == ["checklists/floor.yaml:5: byte 0xf4 is not UTF-8; save the file as UTF-8"]


def test_duplicate_mapping_keys_are_an_error_not_merged(tmp_path):
    text = VALID.replace("title: Floor walk\n", "title: Floor walk\ntitle: Other walk\n")
    assert messages(load(tmp_path, text)) == ['checklists/floor.yaml:3: duplicate key "title" (first at line 2)']


def test_tags_never_execute(tmp_path, monkeypatch):
    called = []
    monkeypatch.setattr("os.system", lambda *a: called.append(a))
    text = VALID.replace("title: Floor walk", 'title: !!python/object/apply:os.system ["echo pwned"]')
    msgs = messages(load(tmp_path, text))
    assert msgs == [
        "checklists/floor.yaml:2: YAML tags (tag:yaml.org,2002:python/object/apply:os.system) are not allowed"
    ]
    assert called == []


def test_alias_bomb_is_refused_before_expansion(tmp_path):
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        bomb += f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]\n"
    msgs = messages(load(tmp_path, bomb))
    assert (
        msgs[0]
        == "checklists/floor.yaml:1: anchors (&a) are not allowed; write the value out (text that starts with & goes in quotes)"
    )
    assert any("aliases (*a) are not allowed" in m for m in msgs)


def test_file_over_one_megabyte_is_refused_unread(tmp_path):
    text = VALID + "#" + "x" * MAX_FILE_BYTES + "\n"
    msgs = messages(load(tmp_path, text))
    assert len(msgs) == 1 and msgs[0].startswith("checklists/floor.yaml: is ") and "limited to 1 MB" in msgs[0]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("id: [unclosed\n", 'checklists/floor.yaml:1: not valid YAML: the list opened with "[" on this line'),
        ("- just\n- a list\n", "checklists/floor.yaml:1: the file must be a mapping"),
        ("", "checklists/floor.yaml:1: the file must be a mapping"),
        (VALID + "---\nid: second\n", "checklists/floor.yaml:20: a checklist file holds one YAML document"),
    ],
)
def test_structural_problems(tmp_path, text, expected):
    msgs = messages(load(tmp_path, text))
    assert msgs and msgs[0].startswith(expected), msgs


def test_empty_sections_and_items(tmp_path):
    msgs = messages(load(tmp_path, "id: floor\ntitle: T\nversion: 1\nsections: []\n"))
    assert msgs == ["checklists/floor.yaml:4: checklist sections: a checklist needs at least one section"]


@pytest.mark.parametrize("name", ["iso9001-2015.yaml", "production-floor-walk.yaml"])
def test_shipped_checklists_are_valid(name):
    path = Path(__file__).resolve().parent.parent / "checklists" / name
    result = load_checklist_file(path)
    assert result.ok, messages(result)
    for section in result.data["sections"]:
        for item in section["items"]:
            assert item["guidance"] and item["evidence"], item["id"]


ISO_9001_AUDITABLE_CLAUSES = """
4.1 4.2 4.3 4.4 5.1.1 5.1.2 5.2.1 5.2.2 5.3 6.1 6.2 6.3 7.1.1 7.1.2 7.1.3 7.1.4 7.1.5 7.1.6 7.2 7.3 7.4
7.5.1 7.5.2 7.5.3 8.1 8.2.1 8.2.2 8.2.3 8.2.4 8.3.1 8.3.2 8.3.3 8.3.4 8.3.5 8.3.6 8.4.1 8.4.2 8.4.3
8.5.1 8.5.2 8.5.3 8.5.4 8.5.5 8.5.6 8.6 8.7 9.1.1 9.1.2 9.1.3 9.2 9.3 10.1 10.2 10.3
""".split()


def test_iso_checklist_covers_every_auditable_clause():
    result = load_checklist_file(Path(__file__).resolve().parent.parent / "checklists" / "iso9001-2015.yaml")
    clauses = [i["clause"] for s in result.data["sections"] for i in s["items"]]
    assert result.item_count >= 70
    missing = [c for c in ISO_9001_AUDITABLE_CLAUSES if not any(x == c or x.startswith(c + ".") for x in clauses)]
    assert missing == []


def test_floor_walk_is_a_short_process_audit():
    result = load_checklist_file(Path(__file__).resolve().parent.parent / "checklists" / "production-floor-walk.yaml")
    assert 15 <= result.item_count <= 25
