"""Show-if conditions (issue 15): an item or a whole section asked only when an earlier answer matches.

`show_if: {item: <id of an earlier item>, answer: [...]}` on an item or a section. What `answer` lists:
- a yes_no item: its stored answer, "yes", "no" or "na";
- a choice item: an option's value; a multi_choice item: any of the chosen options' values;
- an ISO-grade item (no `answer`): the result code ("conform", "minor_nc", "na"...);
- a number item: the result its answer leads to ("conform" inside its limits, the `outside` result
  outside them), since a value typed exactly is no condition an author can write;
- text and date items cannot be triggers (there is nothing fixed to match).
An unanswered trigger (or one recorded "not audited") hides its dependents, and so does a hidden
trigger: conditions chain. A section's condition hides every item of the section.

Hidden items are "not asked": not in progress, completion, finding blockers, coverage or a score. An
answer kept on an item that became hidden stays in the database but does not count.

Plain functions over items (anything with `key`, `answer`, `show_if` and `section.show_if`, such as
ChecklistItem) and a mapping item key -> (result, value), so a caller can ask per copy of a repeated
section, or per set of answers. The phone evaluates the same rule from the screen's data attributes
(static/js/offline/logic.js, `hiddenKeys`); tests/js/logic.test.js and tests/test_conditions.py hold
the same cases.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from . import answers
from .models import Result

YES_NO = ["yes", "no", "na"]
# The results no answer leads to: an item without them is unanswered as far as a condition goes.
NOT_AN_ANSWER = (None, "not_audited")


class _Section(Protocol):
    @property
    def show_if(self) -> dict[str, Any] | None: ...


class Conditional(Protocol):
    """What the rule reads of an item (a ChecklistItem, or a lighter row with the same names)."""

    @property
    def key(self) -> str: ...
    @property
    def answer(self) -> dict[str, Any] | None: ...
    @property
    def show_if(self) -> dict[str, Any] | None: ...
    @property
    def section(self) -> _Section: ...


def offered(spec: dict[str, Any] | None, results: list[str] | None = None) -> list[str]:
    """What a condition on an item with this answer spec (normalised, as stored) may list; empty when the
    item cannot be a trigger (text, date). `results`: an ISO-grade item's own results, if it limits them."""
    if spec is None:
        return list(results) if results else [r.value for r in Result]
    kind = spec["type"]
    if kind == "yes_no":
        return list(YES_NO)
    if kind in ("choice", "multi_choice"):
        return [o["value"] for o in spec["options"]]
    if kind == "number":
        return [r for r in answers.possible_results(spec) if r != answers.RECORDED]
    return []


def matches(condition: Mapping[str, Any], spec: dict[str, Any] | None, result: str | None, value: Any) -> bool:
    """Does the trigger's answer (its result and value, as stored) show what carries `condition`?"""
    if result in NOT_AN_ANSWER:
        return False
    wanted = condition["answer"]
    kind = spec["type"] if spec else answers.GRADES
    if kind in (answers.GRADES, "number"):
        return result in wanted
    if kind == "multi_choice":
        return isinstance(value, list) and any(v in wanted for v in value)
    return value in wanted


def hidden_keys(items: Iterable[Conditional], given: Mapping[str, tuple[str | None, Any]]) -> set[str]:
    """The keys of the items not asked, given the answers (item key -> (result, value)), items in order.

    A trigger always comes before its dependents (the loader refuses otherwise), so one pass decides."""
    specs: dict[str, dict[str, Any] | None] = {}
    hidden: set[str] = set()
    for item in items:
        specs[item.key] = item.answer
        for condition in (item.section.show_if, item.show_if):
            if condition is None:
                continue
            trigger = condition["item"]
            result, value = given.get(trigger, (None, None))
            if trigger in hidden or trigger not in specs or not matches(condition, specs[trigger], result, value):
                hidden.add(item.key)
                break
    return hidden


def has_conditions(items: Iterable[Conditional]) -> bool:
    """Does any item (or its section) carry a condition? (Most checklists: no, and nothing is computed.)"""
    return any(item.show_if is not None or item.section.show_if is not None for item in items)


def said(condition: Mapping[str, Any]) -> str:
    """A condition as the spreadsheet and the preview write it: "rcv-01 = no, na"."""
    return f"{condition['item']} = {', '.join(condition['answer'])}"
