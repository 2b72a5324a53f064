"""The validator parses a checklist's YAML once (issue 15): the round-trip document is composed from the
events the safety scan already parsed, and is the very document a plain round-trip load builds."""

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


def test_a_valid_file_is_parsed_once(monkeypatch):
    parsers = []
    original = RoundTripParser.__init__

    def counted(self, *args, **kwargs):
        parsers.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(RoundTripParser, "__init__", counted)
    loaded = LoadedChecklist(path=SHIPPED[0], display_path=SHIPPED[0].name)
    validate_text(SHIPPED[0].read_text(), loaded)
    assert loaded.ok
    assert len(parsers) == 1


def test_a_directive_is_loaded_the_plain_way_so_yaml_1_1_still_reads_it():
    events: list = []
    loader._scan_events(DIRECTIVE, events)
    assert loader._load_events(DIRECTIVE, events)["answers"] == [True, False, 8, 90]
