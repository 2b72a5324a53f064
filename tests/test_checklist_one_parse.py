"""The validator parses a checklist's YAML once (issue 15), with libyaml when it can: the round-trip document is
composed from the events the safety scan already parsed, and is the very document a plain round-trip load builds;
every problem is still told from ruamel.yaml's parser."""

import random
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.parser import RoundTripParser

from auditapp.checklists import loader
from auditapp.checklists.loader import LoadedChecklist, validate_text

SHIPPED = sorted((Path(__file__).resolve().parent.parent / "checklists").glob("*.yaml"))

# Values the constructor reads in its own ways: floats that keep their width, block and flow styles,
# comments, text that is not ASCII, numbers with underscores, empty values, dates.
TRICKY = """\
# a comment before the document
id: tricky   # a comment after a value
title: "Quoted: title"
version: 0o17
ratio: 7.10
big: 1_000
when: 2026-12-07
nothing:
words: [yes, no, on, "off", ~]
flow: {a: 1, b: [x, 'y', "z"]}
sections:
  - title: Réception — Übersicht
    note: |
      literal
        block
    folded: >-
      folded
      text
    items:
      - id: a
        question: Ça va?
      -   id: b
          question:
            long plain
            text
"""
DIRECTIVE = "%YAML 1.1\n---\nid: old\nanswers: [yes, no, 010, 1:30]\n"


def same_document(a, b, where="doc"):
    """a and b are equal, of the same types, with the same recorded lines and columns, all the way down."""
    assert type(a) is type(b), where
    assert a == b, where
    assert repr(a) == repr(b), where
    if hasattr(a, "lc"):
        assert (a.lc.line, a.lc.col) == (b.lc.line, b.lc.col), where
        assert a.lc.data == b.lc.data, where
    if isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            same_document(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        for n, (x, y) in enumerate(zip(a, b, strict=True)):
            same_document(x, y, f"{where}[{n}]")


@pytest.mark.parametrize(
    "text",
    [p.read_text() for p in SHIPPED] + [TRICKY, DIRECTIVE],
    ids=[p.name for p in SHIPPED] + ["tricky", "directive"],
)
def test_the_document_from_the_scanned_events_is_the_round_trip_load(text):
    events: list = []
    assert loader._scan_events(text, events) == []
    same_document(loader._load_events(text, events), YAML(typ="rt").load(text))


@pytest.mark.parametrize(
    "text",
    [p.read_text() for p in SHIPPED] + [TRICKY.replace("nothing:", "nothing: ~")],  # no empty value: see below
    ids=[p.name for p in SHIPPED] + ["tricky"],
)
def test_the_document_from_libyaml_s_events_is_the_round_trip_load(text):
    fast = loader._fast_load(text)
    assert fast is not None  # libyaml is installed (pyproject) and the text is clean
    same_document(fast, YAML(typ="rt").load(text))


@pytest.fixture
def parsers(monkeypatch):
    """The parsers each validation builds: "ruamel" (pure Python) or "libyaml"."""
    built = []
    original, c_parse = RoundTripParser.__init__, loader.pyyaml.parse

    def ruamel(self, *args, **kwargs):
        built.append("ruamel")
        original(self, *args, **kwargs)

    def libyaml(*args, **kwargs):
        built.append("libyaml")
        return c_parse(*args, **kwargs)

    monkeypatch.setattr(RoundTripParser, "__init__", ruamel)
    monkeypatch.setattr(loader.pyyaml, "parse", libyaml)
    return built


def validated(text: str) -> LoadedChecklist:
    loaded = LoadedChecklist(path=SHIPPED[0], display_path=SHIPPED[0].name)
    validate_text(text, loaded)
    return loaded


def test_a_valid_file_is_parsed_once_by_libyaml(parsers):
    assert validated(SHIPPED[0].read_text()).ok
    assert parsers == ["libyaml"]


def test_without_libyaml_a_valid_file_is_parsed_once_by_ruamel(parsers, monkeypatch):
    monkeypatch.setattr(loader, "_C_LOADER", None)
    assert validated(SHIPPED[0].read_text()).ok
    assert parsers == ["ruamel"]


@pytest.mark.parametrize(
    "text",
    [
        "id: x\n\tversion: 1\n",  # a tab: ruamel.yaml's parser, and its message
        "id: x\nid: y\n",  # a duplicate key: found in libyaml's events, told from ruamel.yaml's
        "id: [x\n",  # a syntax error
        "\ufeffid: x\n",
        "%YAML 1.1\n---\nid: x\n",
        "id: x\nversion:\ntitle: t\n",  # an empty value: each parser marks it in its own place
    ],
)
def test_what_libyaml_does_not_read_cleanly_is_read_by_ruamel(parsers, text):
    validated(text)
    assert parsers[-1] == "ruamel"


def mutants(texts: list[str], count: int, seed: int):
    """Texts a few keystrokes away from valid ones, as an author's text between two typing pauses."""
    marks = list(":- \n\"'[]{}#&*!|>?,%@`\\") + ["  ", "- ", ": ", "\n  ", "\n- ", "---\n", "é"]
    rnd = random.Random(seed)
    for _ in range(count):
        text = rnd.choice(texts)
        for _ in range(rnd.choice([1, 1, 2])):
            at = rnd.randrange(len(text))
            lines = text.split("\n")
            line = rnd.randrange(len(lines))
            match rnd.randrange(5):
                case 0:
                    text = text[:at] + text[at + 1 :]
                case 1 | 2:
                    text = text[:at] + rnd.choice(marks) + text[at:]
                case 3:
                    lines.insert(line, lines[line])
                    text = "\n".join(lines)
                case _:
                    lines[line] = " " * rnd.choice([1, 2]) + lines[line]
                    text = "\n".join(lines)
        yield text


def outcome(text: str) -> tuple:
    loaded = validated(text)
    return [str(p) for p in loaded.problems], loaded.content_hash, loaded.data


def test_libyaml_or_not_every_text_gets_the_same_problems_data_and_hash(monkeypatch):
    texts = [p.read_text() for p in SHIPPED if len(p.read_text()) < 20_000]
    for text in mutants(texts, 60, seed=15):
        with_libyaml = outcome(text)
        with monkeypatch.context() as without:
            without.setattr(loader, "_C_LOADER", None)
            assert outcome(text) == with_libyaml, text


def test_a_directive_is_loaded_the_plain_way_so_yaml_1_1_still_reads_it():
    events: list = []
    loader._scan_events(DIRECTIVE, events)
    assert loader._load_events(DIRECTIVE, events)["answers"] == [True, False, 8, 90]
