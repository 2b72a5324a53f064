"""Problems in words people read: positions by section and item, repeated mistakes once."""

from pathlib import Path

import pytest
from marshmallow import ValidationError

from auditapp.checklists.loader import LoadedChecklist, group_problems, load_checklist_file, validate_text
from auditapp.checklists.schemas import ChecklistSchema, Choice, ItemSchema, SectionSchema, keys_at

from .support.checklists import VALID
from .support.long_checklists import long_walk, receiving_example


def problems_of(text: str, name: str = "walk.yaml") -> LoadedChecklist:
    result = LoadedChecklist(path=Path(name), display_path=name)
    validate_text(text, result)
    return result


# --- positions ---------------------------------------------------------------------------------


def test_position_names_section_and_item_and_keeps_the_machine_path():
    text = long_walk(items=6, per_section=3).replace(
        "      - id: rcv-006\n", "      - id: rcv-006\n        quesion: x\n"
    )
    [problem] = problems_of(text).problems
    assert (
        str(problem)
        == 'walk.yaml:25: section 2 "Area 2", item 3 "rcv-006" quesion: unknown field; did you mean "question"?'
    )
    assert problem.field == "sections[1].items[2].quesion"  # what tools map to cells, unchanged
    assert problem.position == 'section 2 "Area 2", item 3 "rcv-006" quesion'
    assert problem.subject == "rcv-006"


def test_section_checklist_and_whole_item_positions():
    text = long_walk(items=2).replace("  - title: Area 1\n", "  - title: Area 1\n    clause: x1\n")
    text = text.replace("title: Long walk\n", "").replace('        reference: "R-2"\n', "")
    problems = problems_of(text).problems
    assert [p.position for p in problems] == [
        "checklist title",
        'section 1 "Area 1" clause',
        'section 1 "Area 1", item 2 "rcv-002"',
    ]
    assert str(problems[2]).endswith('item 2 "rcv-002": needs a reference (any short text, e.g. "A.5.1") or a clause')


def test_an_item_without_an_id_and_a_long_title_are_named_plainly():
    title = "Receiving inspection of purchased parts and materials"
    text = long_walk(items=2).replace("Area 1", title).replace("      - id: rcv-002\n", "      - ref: x\n")
    positions = [p.position for p in problems_of(text).problems]
    short = 'section 1 "Receiving inspection of purch…"'
    assert f"{short}, item 2 ref" in positions and f"{short}, item 2 id" in positions, positions


def test_lists_and_maps_inside_an_item_are_named_by_entry():
    text = VALID.replace("major_nc, observation", "majr_nc, observation")
    [problem] = problems_of(text, "floor.yaml").problems
    assert problem.position.endswith('item 1 "8.5.2-traceability" results entry 3')
    assert problem.field == "sections[0].items[0].results[2]"


# --- one message per repeated mistake -------------------------------------------------------------


def test_one_mistake_in_120_items_is_one_message_with_every_line_reachable():
    result = problems_of(long_walk(item_text="guidence: Look at it."))
    assert len(result.problems) == 120
    [group] = result.grouped
    lines = [p.line for p in result.problems]
    assert group.lines == lines and len(set(lines)) == 120
    assert str(group) == (
        'walk.yaml:10: section 1 "Area 1", item 1 "rcv-001" guidence: unknown field; did you mean "guidance"?'
        f" (and 119 more items: rcv-002 line {lines[1]}, rcv-003 line {lines[2]}, rcv-004 line {lines[3]},"
        f" rcv-005 line {lines[4]}, rcv-006 line {lines[5]}, …; first 5 listed)"
    )


def test_different_mistakes_stay_apart_and_in_line_order():
    text = long_walk(items=5, item_text="guidence: Look.").replace(
        "      - id: rcv-004\n", "      - id: rcv-004\n        photo: sometimes\n"
    )
    groups = problems_of(text).grouped
    # One group per mistake, where it first appears: the typo in all five items, then the photo rule.
    assert [len(g.problems) for g in groups] == [5, 1]
    assert str(groups[0]).endswith(
        "(and 4 more items: rcv-002 line 14, rcv-003 line 18, rcv-004 line 23, rcv-005 line 27)"
    )
    assert "photo rule" in str(groups[1]) and "more" not in str(groups[1])


def test_values_that_differ_are_different_mistakes_unless_only_the_typed_value_differs():
    base = (
        long_walk(items=3)
        .replace("reference: ", "clause: ")
        .replace("title: Long walk", "title: W\nstandard: ISO 9001:2015")
    )
    wrong_clauses = base.replace('"R-1"', '"5.1.6"').replace('"R-2"', '"9.1.5"').replace('"R-3"', '"5.1.6"')
    groups = problems_of(wrong_clauses).grouped
    assert [len(g.problems) for g in groups] == [2, 1]  # 5.1.6 twice; 9.1.5 has its own suggestion
    unquoted = base.replace('"R-1"', "8.1").replace('"R-2"', "8.2").replace('"R-3"', "8.3")
    [group] = problems_of(unquoted).grouped
    assert str(group).startswith(
        'walk.yaml:9: section 1 "Area 1", item 1 "rcv-001" clause: expected text, but YAML read the number 8.1;'
        ' put it in quotes: "8.1" (and 2 more items: rcv-002 line 12, rcv-003 line 15)'
    )


def test_problems_of_the_whole_file_are_never_grouped():
    result = problems_of("a: &a [1]\nb: &b [2]\n")
    assert len(group_problems(result.problems)) == 2


def test_check_command_prints_a_repeated_mistake_once_and_every_line_with_all(runner, tmp_path):
    path = tmp_path / "walk.yaml"
    path.write_text(long_walk(item_text="guidence: Look at it."), encoding="utf-8")
    grouped = runner.invoke(args=["checklists", "check", str(path)])
    assert grouped.exit_code == 1
    assert grouped.output.count("guidence: unknown field") == 1
    assert "and 119 more items: rcv-002 line" in grouped.output
    assert "flask checklists check --all lists every line" in grouped.output
    every = runner.invoke(args=["checklists", "check", "--all", str(path)])
    assert every.output.count("guidence: unknown field") == 120


def test_library_page_shows_a_repeated_mistake_once_with_all_its_lines_folded(app, client, login):
    folder = Path(app.config["CHECKLIST_DIR"])
    (folder / "walk.yaml").write_text(long_walk(item_text="guidence: Look at it."), encoding="utf-8")
    login()
    html = client.get("/checklists/").get_data(as_text=True)
    assert "120 problems (one mistake, repeated); not importable until fixed" in html
    assert "<summary>All 120 lines</summary>" in html
    assert html.count("guidence: unknown field") == 1
    lines = [p.line for p in load_checklist_file(folder / "walk.yaml").problems]
    for n, line in enumerate(lines):  # each place folded under the message, with its line
        assert f"<li><code>line {line}: section {n // 40 + 1} &#34;Area {n // 40 + 1}&#34;, item {n % 40 + 1}" in html


# --- words from other tools ---------------------------------------------------------------------

ALL_RESULTS = "results: [conform, minor_nc, major_nc, observation, ofi, na]"


def test_the_same_word_written_differently_is_taken_and_hashes_as_the_code():
    plain = problems_of(VALID, "floor.yaml")
    for results, photo in [
        ("[Conform, Minor NC, major-nc, Observation, OFI, N/A]", "Required on NC"),
        (
            "[CONFORM, minor nonconformity, Major Nonconformity, observation, opportunity for improvement, not_applicable]",
            "required-on-nc",
        ),
    ]:
        text = VALID.replace(ALL_RESULTS, f"results: {results}").replace("photo: required_on_nc", f"photo: {photo}")
        loaded = problems_of(text, "floor.yaml")
        assert loaded.ok, [str(p) for p in loaded.problems]
        item = loaded.data["sections"][0]["items"][0]
        assert item["results"] == ["conform", "minor_nc", "major_nc", "observation", "ofi", "na"]
        assert item["photo"] == "required_on_nc"
        assert loaded.content_hash == plain.content_hash


@pytest.mark.parametrize(
    "word, meant",
    [
        ("compliant", '"conform"'),
        ("pass", '"conform"'),
        ("OK", '"conform"'),
        ("yes", '"conform"'),
        ("minor", '"minor_nc"'),
        ("Major", '"major_nc"'),
        ("NC", '"minor_nc" or "major_nc"'),
        ("improvement", '"ofi"'),
        ("obs", '"observation"'),
        ("excluded", '"na"'),
        ("majr_nc", '"major_nc"'),
    ],
)
def test_other_tools_words_for_results_are_suggested_not_taken(word, meant):
    text = VALID.replace(ALL_RESULTS, f"results: [conform, {word}]")
    [problem] = problems_of(text, "floor.yaml").problems
    assert problem.message == f'"{word}" is not a result; did you mean {meant}?'


def test_a_photo_word_that_could_mean_two_rules_is_only_suggested():
    [problem] = problems_of(VALID.replace("photo: required_on_nc", "photo: mandatory"), "floor.yaml").problems
    assert problem.message.startswith('"mandatory" is not a photo rule; did you mean "required_on_nc"')
    [problem] = problems_of(VALID.replace("photo: required_on_nc", "photo: none"), "floor.yaml").problems
    assert problem.message == '"none" is not a photo rule; did you mean "never"?'


def test_a_result_written_twice_in_two_spellings_is_listed_twice():
    [problem] = problems_of(VALID.replace(ALL_RESULTS, "results: [conform, Conform]"), "floor.yaml").problems
    assert problem.message == '"Conform" (conform) is listed twice'


@pytest.mark.parametrize(
    "where, key, meant",
    [
        ("        question: Are outputs", "Question", '"question"'),
        ('        clause: "8.5.2"', "Clause", '"clause"'),
        ("        guidance: Sample", "guidence", '"guidance"'),
        ("        guidance: Sample", "notes", '"guidance"'),
        ("        question: Are outputs", "text", '"question"'),
        ("        question: Are outputs", "questions", '"question"'),
        ("    items:", "questions", '"items"'),
        ("    items:", "item", '"items"'),
        ("    title: Production", "name", '"title"'),
        ("title: Floor walk", "Title", '"title"'),
    ],
)
def test_keys_from_other_tools_and_typing_slips_get_a_did_you_mean(where, key, meant):
    old_key = where.split(":")[0].strip()
    text = VALID.replace(where, where.replace(old_key, key, 1), 1)
    problems = problems_of(text, "floor.yaml").problems
    unknown = [p for p in problems if p.position.endswith(f" {key}")]
    assert [p.message for p in unknown] == [f"unknown field; did you mean {meant}?"], [str(p) for p in problems]


def test_a_new_choice_list_gets_loose_spelling_and_only_words_for_its_own_codes():
    field = Choice(["yes_no", "number", "never"], "an answer type")
    assert field.deserialize("Yes-No") == "yes_no"
    with pytest.raises(ValidationError) as refused:
        field.deserialize("no")  # "no" suggests results too, but they are not choices here
    assert refused.value.messages == ['"no" is not an answer type; did you mean "never"?']


# The content hashes of the shipped checklists before words from other tools were understood:
# the files keep importing as the same versions. (A deliberate edit of a file changes its hash.)
SHIPPED_HASHES = {
    "iso14001-2015.yaml": "88792d474c39b79ca248adf1c92fa0683299c026af8796b2a794fce4380e3590",
    "iso45001-2018.yaml": "3b2921bd2d3e92c0c46eedde728afb1abb9ae4a08e9a039b8c74b9a33b0110ed",
    "iso9001-2015.yaml": "b93b20a3e3fd692935c441aaaac314aff9a0fb87b07ea235b078c051e78bb078",
    "production-floor-walk.yaml": "b91dc62bc0c99f57f11af11e78169244b55e7a1c1aac2b59fc67eb728dffc883",
}


@pytest.mark.parametrize("name", sorted(SHIPPED_HASHES))
def test_shipped_checklists_hash_as_before(name):
    loaded = load_checklist_file(Path(__file__).resolve().parent.parent / "checklists" / name)
    assert loaded.content_hash == SHIPPED_HASHES[name]


# --- YAML syntax in plain words -----------------------------------------------------------------

GUIDANCE = "        guidance: Sample three parts."


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            GUIDANCE,
            "\tguidance: Sample three parts.",
            ":13: not valid YAML: this line has a tab character; YAML lines"
            " are indented with spaces only: replace it with spaces",
        ),
        (
            GUIDANCE,
            "          guidance: Sample three parts.",
            ":13: not valid YAML: this line is indented more than"
            ' line 12 ("question"), so YAML reads it as part of that value',
        ),
        (
            GUIDANCE,
            "      guidance: Sample three parts.",
            ":13: not valid YAML: this line is not lined up with the"
            " lines around it: the keys of one item or section start in the same column, and each new item starts"
            ' with "- " (this line starts in column 7, the keys of the entry above in column 9)',
        ),
        (
            "      - id: 8.5.1-instructions",
            "      id: 8.5.1-instructions",
            ':17: not valid YAML: a new entry of the list starts with "- ": write "- id: 8.5.1-instructions"',
        ),
        (
            "      - id: 8.5.1-instructions",
            "      -id: 8.5.1-instructions",
            ":17: not valid YAML: put a space after the dash",
        ),
        (
            "question: Are outputs traceable",
            "question: Note: are outputs traceable",
            ":12: not valid YAML: the text"
            ' after "question:" contains a colon and a space, which YAML reads as another key; put the text in quotes:'
            ' question: "Note: are outputs traceable to their work order?"',
        ),
        (
            GUIDANCE,
            '        guidance: "Sample three parts.',
            ":13: not valid YAML: the quote opened on this line is not closed on it, so YAML read on to line 18",
        ),
        (GUIDANCE, '        guidance: "Sample" three parts.', ":13: not valid YAML: text follows a closing quote"),
        (GUIDANCE, "        guidance:Sample three parts.", ":13: not valid YAML: put a space after the colon"),
        (
            GUIDANCE,
            "        guidance: @sample",
            ':13: not valid YAML: text cannot start with @; put the text in quotes: guidance: "@sample"',
        ),
        (
            "[part label, routing card]",
            "[part label, routing card",
            ':14: not valid YAML: the list opened with "[" on this line is not closed with "]" on it',
        ),
        (
            GUIDANCE,
            "        guidance: #3 sample",
            ':13: section 1 "Production and service provis…", item 1'
            ' "8.5.2-traceability" guidance: is empty: text after " #" is a comment; put text that starts with # in'
            " quotes",
        ),
        (
            GUIDANCE,
            "        guidance: {sample}",
            ' guidance: expected text, not a mapping: text that starts with "{"'
            ' must be in quotes: guidance: "{sample}"',
        ),
    ],
)
def test_yaml_mistakes_are_explained_in_plain_words_with_their_line(old, new, expected):
    assert old in VALID
    [problem] = problems_of(VALID.replace(old, new), "floor.yaml").problems
    assert expected in str(problem)


ITEM2_TEXT = '      - id: 8.5.1-instructions\n        clause: "8.5.1"\n        question: Are work instructions at the point of use?\n'


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            ITEM2_TEXT,
            "      - Are work instructions at the point of use?\n",
            ':17: section 1 "Production and service'
            ' provis…", item 2: an item is written as text ("Are work instructions at the point of us"); write it as'
            ' keys, id: and question: indented under its "- "',
        ),
        (
            "question: Are outputs traceable to their work order?",
            "question:",
            ' item 1 "8.5.2-traceability" question: is empty; write a value after the colon',
        ),
        (
            "evidence: [part label, routing card]",
            "evidence:",
            ' evidence: is empty; list the evidence on the lines below it, indented, each starting with "- "',
        ),
        (
            "results: [conform, minor_nc, major_nc, observation, ofi, na]",
            "results: conform",
            " results: expected a list like [a, b], not text",
        ),
    ],
)
def test_wrong_shapes_are_named_in_plain_words(old, new, expected):
    assert old in VALID
    [problem] = problems_of(VALID.replace(old, new), "floor.yaml").problems
    assert expected in str(problem)
    assert "_schema" not in problem.field


def test_a_section_written_as_text():
    text = VALID.split("sections:")[0] + "sections:\n  - Receiving\n"
    [problem] = problems_of(text, "floor.yaml").problems
    assert str(problem) == (
        'floor.yaml:7: section 1: a section is written as text ("Receiving"); write it as keys, title: and items:'
        ' indented under its "- "'
    )
    assert problem.field == "sections[0]"


def test_the_readmes_example_is_what_check_prints(runner, tmp_path, monkeypatch):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    command = "$ .venv/bin/flask --app auditapp checklists check checklists/receiving.yaml\n"
    shown = readme.split(command, 1)[1].split("$ ", 1)[0].splitlines()
    work = tmp_path / "author"
    (work / "checklists").mkdir(parents=True)
    (work / "checklists" / "receiving.yaml").write_text(receiving_example(), encoding="utf-8")
    monkeypatch.chdir(work)
    printed = runner.invoke(args=["checklists", "check", "checklists/receiving.yaml"]).output.splitlines()
    assert len(shown) == 5 and printed == shown


def test_unknown_keys_are_matched_against_the_keys_of_their_own_mapping():
    assert keys_at(("title",)) == list(ChecklistSchema().fields)
    assert keys_at(("sections", 3, "titel")) == list(SectionSchema().fields)
    assert keys_at(("sections", 3, "items", 7, "quesion")) == list(ItemSchema().fields)
    assert "question" not in keys_at(("sections", 0, "questions")) and "items" in keys_at(("sections", 0, "q"))


def test_a_syntax_error_the_event_scan_missed_is_still_told_in_plain_words(monkeypatch):
    monkeypatch.setattr("auditapp.checklists.loader._scan_events", lambda text, events=None: [])
    text = VALID.replace("question: Are outputs traceable", "question: Note: are outputs traceable")
    [problem] = problems_of(text, "floor.yaml").problems
    assert str(problem).startswith('floor.yaml:12: not valid YAML: the text after "question:" contains a colon')


def test_xlsform_column_names_are_suggested_where_they_fit():
    text = VALID.replace("        question: Are outputs", "        label: Are outputs").replace(
        "      - id: 8.5.1-instructions", "      - name: 8.5.1-instructions"
    )
    unknown = [p for p in problems_of(text, "floor.yaml").problems if "unknown field" in p.message]
    assert [(p.position.split(" ")[-1], p.message) for p in unknown] == [
        ("label", 'unknown field; did you mean "question"?'),
        ("name", 'unknown field; did you mean "id"?'),
    ]
