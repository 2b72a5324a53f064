"""What no checklist needs and the YAML parser cannot afford: nesting refused before the text is parsed.

ruamel.yaml's pure-Python parser slows down with the depth of [ and { times the length (5,000 "[" took
30 s) and its composer recurses once per level (800 "- " passed Python's recursion limit). Every source
of checklist YAML (the folder's files, the browser editor, an XLSX import, a stored version read again)
is validated by loader.validate_text, which asks nesting_problem first.
"""

from __future__ import annotations

import re

# Deeper than any checklist needs, shallow enough that the YAML parser stays fast and within Python's
# recursion limit (its time grows with the flow depth times the length: 5,000 "[" took 30 s).
MAX_FLOW_DEPTH = 16
MAX_INDENT = 120
_FLOW_MARKS = re.compile(r"""[\[\]{}#"']""")
_LINE_PREFIX = re.compile(r"^[ \t-]*", re.M)


def nesting_problem(text: str) -> tuple[int, str] | None:
    """(line, message) where the text nests deeper than a checklist can, before YAML parses it."""
    for match in _LINE_PREFIX.finditer(text):
        if match.end() - match.start() > MAX_INDENT:
            return text.count("\n", 0, match.start()) + 1, f"is indented more than {MAX_INDENT} columns"
    depth, skip_to = 0, 0
    for match in _FLOW_MARKS.finditer(text):
        at, mark = match.start(), match.group()
        if at < skip_to:
            continue
        before = text[at - 1] if at else "\n"
        if mark == "#":
            if before in " \t\n":  # a comment, to the end of its line
                end = text.find("\n", at)
                skip_to = len(text) if end < 0 else end
        elif mark in "\"'":
            if before in " \t\n[{,:":  # a quoted scalar starts here: its brackets are text
                skip_to = _end_of_quote(text, at, mark)
        elif mark in "[{":
            depth += 1
            if depth > MAX_FLOW_DEPTH:
                line = text.count("\n", 0, at) + 1
                return line, f"[ and {{ are nested more than {MAX_FLOW_DEPTH} deep; a checklist needs a few levels"
        else:
            depth = max(0, depth - 1)
    return None


def _end_of_quote(text: str, start: int, quote: str) -> int:
    at = start + 1
    while True:
        end = text.find(quote, at)
        if end < 0:
            return len(text)
        if quote == '"' and _escaped(text, end):
            at = end + 1
        elif quote == "'" and text.startswith("''", end):
            at = end + 2
        else:
            return end + 1


def _escaped(text: str, at: int) -> bool:
    backslashes = 0
    while at - backslashes - 1 >= 0 and text[at - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1
