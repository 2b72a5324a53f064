"""Scores of an audit (issue 15): points per answer, weights per item and section, percentages.

A checklist with `scoring: {points: {...}}` is scored. An item's score is the points of its result (a choice
option's own `points` win) times the item's weight; its maximum is the most it could earn times the weight.
N/A, "recorded" (no judgement), "not audited" and unanswered items are out of the maximum: not scored.
A section's percentage is its items' earned / maximum; the total percentage is the sections' percentages
weighted by the sections' weights (default 1), over the sections that have anything scored.

Pure functions over the items' rules (`ItemRule`, built from a version by `rules_of`) and a mapping of
answers item id -> (result, value): the caller chooses which items count (a visible set, a section's copy).
The phone computes the same (static/js/offline/logic.js, `score`), from `phone_model`; the arithmetic is
exact (fractions) and percentages are rounded half up to whole numbers, as there.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from .models import ChecklistItem, ChecklistSection, ChecklistVersion, Result

#: Results never scored: out of the maximum.
NOT_SCORED = (Result.NA.value, "recorded", "not_audited")
#: What a percentage shows when nothing is scored.
NOTHING = "–"

Number = int | float


def _exact(value: Number) -> Fraction:
    """A number as written (0.1 is one tenth, not the nearest binary fraction)."""
    return Fraction(value) if isinstance(value, int) else Fraction(repr(float(value)))


def percent(earned: Fraction, maximum: Fraction) -> int | None:
    """earned / maximum as a whole percentage, rounded half up; None when nothing is scored."""
    if maximum <= 0:
        return None
    return int(Fraction(100) * earned / maximum + Fraction(1, 2))


@dataclass(frozen=True)
class ItemRule:
    """How one item is scored: its section, weight, points per result and (a choice) per option."""

    id: Hashable
    section: Hashable
    weight: Number = 1
    points: Mapping[str, Number] = field(default_factory=dict)  # result -> points (checklist's and item's own)
    options: Mapping[str, Number | None] = field(default_factory=dict)  # option value -> its points (choice)
    option_results: Mapping[str, str] = field(default_factory=dict)  # option value -> its result (choice)
    results: tuple[str, ...] = ()  # the results the item can be given

    def best(self) -> Fraction | None:
        """The most the item could earn, before its weight; None when no answer of it is scored."""
        if self.options:
            found = [self.option_points(v) for v in self.options]
        else:
            found = [_exact(self.points[r]) if r in self.points else None for r in self.results if r not in NOT_SCORED]
        scored = [f for f in found if f is not None]
        return max(scored) if scored else None

    def option_points(self, value: str) -> Fraction | None:
        own = self.options.get(value)
        if own is not None:
            return _exact(own)
        result = self.option_results.get(value)
        if result is None or result in NOT_SCORED or result not in self.points:
            return None
        return _exact(self.points[result])

    def earned(self, result: str | None, value: Any = None) -> Fraction | None:
        """The points an answer earns, before the weight; None when it is not scored."""
        if result is None or result in NOT_SCORED:
            return None
        if self.options and isinstance(value, str) and value in self.options:
            return self.option_points(value)
        return _exact(self.points[result]) if result in self.points else None


@dataclass(frozen=True)
class Score:
    """Earned and maximum points (exact), and the percentage (None: nothing scored)."""

    earned: Fraction = Fraction(0)
    maximum: Fraction = Fraction(0)
    percent: int | None = None
    scored: int = 0  # items that counted

    @property
    def shown(self) -> str:
        """ "75 %" or "–" when nothing is scored."""
        return NOTHING if self.percent is None else f"{self.percent} %"

    @property
    def points_shown(self) -> str:
        """ "12 / 16 points" (decimals only when there are any)."""
        return f"{_number(self.earned)} / {_number(self.maximum)} points"


@dataclass(frozen=True)
class AuditScore:
    sections: dict[Hashable, Score]
    total: Score


def score(
    rules: Iterable[ItemRule],
    answers: Mapping[Any, tuple[str | None, Any]],
    section_weights: Mapping[Any, Number] | None = None,
) -> AuditScore:
    """Per-section and total scores of these items (in the rules' order of sections) given these answers."""
    weights = section_weights or {}
    sums: dict[Hashable, list[Fraction]] = {}
    counted: dict[Hashable, int] = {}
    for rule in rules:
        acc = sums.setdefault(rule.section, [Fraction(0), Fraction(0)])
        counted.setdefault(rule.section, 0)
        result, value = answers.get(rule.id, (None, None))
        earned = rule.earned(result, value)
        best = rule.best()
        if earned is None or best is None:
            continue
        weight = _exact(rule.weight)
        acc[0] += earned * weight
        acc[1] += best * weight
        counted[rule.section] += 1
    sections = {s: Score(e, m, percent(e, m), counted[s]) for s, (e, m) in sums.items()}
    weighted = total_weight = Fraction(0)
    for s, sc in sections.items():
        weight = _exact(weights.get(s, 1))
        if sc.maximum > 0 and weight > 0:
            weighted += weight * sc.earned / sc.maximum
            total_weight += weight
    earned = sum((sc.earned for sc in sections.values()), Fraction(0))
    maximum = sum((sc.maximum for sc in sections.values()), Fraction(0))
    total = Score(
        earned,
        maximum,
        percent(weighted, total_weight),
        sum(sc.scored for sc in sections.values()),
    )
    return AuditScore(sections, total)


def _plain(value: Fraction | None) -> Number | None:
    """A points value for JSON: an int when whole."""
    if value is None:
        return None
    return value.numerator if value.denominator == 1 else float(value)


def _number(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


# --- from a checklist version ------------------------------------------------------------------


def is_scored(version: ChecklistVersion) -> bool:
    return version.scoring is not None


def item_rule(item: ChecklistItem, default_points: Mapping[str, Number]) -> ItemRule:
    """How an item of a scored version is scored: the checklist's points, the item's own over them."""
    return rule_from(item.id, item.section_id, item.weight, item.points, item.answer, item.results, default_points)


def rule_from(
    item_id: Hashable,
    section: Hashable,
    weight: Number | None,
    points: Mapping[str, Number] | None,
    answer: Mapping[str, Any] | None,
    results: Iterable[str],
    default_points: Mapping[str, Number],
) -> ItemRule:
    """An ItemRule from an item's stored columns (what a query of the items returns, without the objects)."""
    options: dict[str, Number | None] = {}
    option_results: dict[str, str] = {}
    if answer and answer.get("type") == "choice":
        for o in answer["options"]:
            options[o["value"]] = o.get("points")
            option_results[o["value"]] = o["result"]
    return ItemRule(
        id=item_id,
        section=section,
        weight=weight if weight is not None else 1,
        points={**default_points, **(points or {})},
        options=options,
        option_results=option_results,
        results=tuple(results),
    )


def rules_of(version: ChecklistVersion, items: Iterable[ChecklistItem] | None = None) -> list[ItemRule]:
    """The rules of a scored version's items (or of these of its items); empty when it is not scored."""
    if version.scoring is None:
        return []
    default = version.scoring.get("points", {})
    return [item_rule(i, default) for i in (version.items if items is None else items)]


def section_weights(sections: Iterable[ChecklistSection]) -> dict[Hashable, Number]:
    return {s.id: s.weight if s.weight is not None else 1 for s in sections}


def version_score(version: ChecklistVersion, answers: Mapping[Any, tuple[str | None, Any]]) -> AuditScore | None:
    """The score of answers to a version's items (item id -> (result, value)); None when it is not scored."""
    if version.scoring is None:
        return None
    return score(rules_of(version), answers, section_weights(version.sections))


def phone_model(rules: Iterable[ItemRule], weights: Mapping[Any, Number]) -> dict[str, Any]:
    """What the phone needs to score offline (logic.js `score`): per scored item [section, weight, points per
    result, points per option (a choice)]; per section its weight. Items never scored are left out."""
    items: dict[str, list[Any]] = {}
    for rule in rules:
        if rule.best() is None:
            continue
        points = {r: p for r, p in rule.points.items() if r in rule.results}
        entry: list[Any] = [str(rule.section), rule.weight, points]
        if rule.options:
            entry.append({v: _plain(rule.option_points(v)) for v in rule.options})
        items[str(rule.id)] = entry
    return {"items": items, "sections": {str(k): v for k, v in weights.items()}}
