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


Exact = int | Fraction


def _exact(value: Number) -> Exact:
    """A number as written (0.1 is one tenth, not the nearest binary fraction); whole numbers stay ints,
    so the usual case (whole points and weights) is integer arithmetic."""
    if isinstance(value, int):
        return value
    if float(value).is_integer():
        return int(value)
    return Fraction(repr(float(value)))


def percent(earned: Exact, maximum: Exact) -> int | None:
    """earned / maximum as a whole percentage, rounded half up; None when nothing is scored."""
    if maximum <= 0:
        return None
    return int(Fraction(100) * earned / maximum + Fraction(1, 2))


@dataclass(frozen=True)
class ItemRule:
    """How one item is scored: its section, weight, points per result and (a choice) per option.

    Its numbers are made exact once, when it is built (an answer's response scores every item)."""

    id: Hashable
    section: Hashable
    weight: Number = 1
    points: Mapping[str, Number] = field(default_factory=dict)  # result -> points (checklist's and item's own)
    options: Mapping[str, Number | None] = field(default_factory=dict)  # option value -> its points (choice)
    option_results: Mapping[str, str] = field(default_factory=dict)  # option value -> its result (choice)
    results: tuple[str, ...] = ()  # the results the item can be given

    def __post_init__(self) -> None:
        exact_points = {r: _exact(p) for r, p in self.points.items()}
        exact_options: dict[str, Exact | None] = {}
        for value, own in self.options.items():
            result = self.option_results.get(value)
            if own is not None:
                exact_options[value] = _exact(own)
            elif result is None or result in NOT_SCORED:
                exact_options[value] = None
            else:
                exact_options[value] = exact_points.get(result)
        if self.options:
            found = list(exact_options.values())
        else:
            found = [exact_points.get(r) for r in self.results if r not in NOT_SCORED]
        scored = [f for f in found if f is not None]
        object.__setattr__(self, "_points", exact_points)
        object.__setattr__(self, "_options", exact_options)
        object.__setattr__(self, "_weight", _exact(self.weight))
        object.__setattr__(self, "_best", max(scored) if scored else None)

    def best(self) -> Exact | None:
        """The most the item could earn, before its weight; None when no answer of it is scored."""
        return self._best  # type: ignore[attr-defined]

    def option_points(self, value: str) -> Exact | None:
        return self._options.get(value)  # type: ignore[attr-defined]

    @property
    def exact_weight(self) -> Exact:
        return self._weight  # type: ignore[attr-defined]

    def earned(self, result: str | None, value: Any = None) -> Exact | None:
        """The points an answer earns, before the weight; None when it is not scored."""
        if result is None or result in NOT_SCORED:
            return None
        if self.options and isinstance(value, str) and value in self.options:
            return self.option_points(value)
        return self._points.get(result)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Score:
    """Earned and maximum points (exact), and the percentage (None: nothing scored)."""

    earned: Exact = 0
    maximum: Exact = 0
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
    sums: dict[Hashable, list[Exact]] = {}
    counted: dict[Hashable, int] = {}
    for rule in rules:
        acc = sums.setdefault(rule.section, [0, 0])
        counted.setdefault(rule.section, 0)
        best = rule.best()
        if best is None:
            continue
        result, value = answers.get(rule.id, (None, None))
        got = rule.earned(result, value)
        if got is None:
            continue
        weight = rule.exact_weight
        acc[0] += got * weight
        acc[1] += best * weight
        counted[rule.section] += 1
    sections = {s: Score(e, m, percent(e, m), counted[s]) for s, (e, m) in sums.items()}
    weighted: Exact = 0
    total_weight: Exact = 0
    for s, sc in sections.items():
        weight = _exact(weights.get(s, 1))
        if sc.maximum > 0 and weight > 0:
            weighted += weight * Fraction(sc.earned) / sc.maximum
            total_weight += weight
    earned: Exact = sum((sc.earned for sc in sections.values()), 0)
    maximum: Exact = sum((sc.maximum for sc in sections.values()), 0)
    total = Score(
        earned,
        maximum,
        percent(weighted, total_weight),
        sum(sc.scored for sc in sections.values()),
    )
    return AuditScore(sections, total)


def _plain(value: Exact | None) -> Number | None:
    """A points value for JSON: an int when whole."""
    if value is None or isinstance(value, int):
        return value
    return value.numerator if value.denominator == 1 else float(value)


def _number(value: Exact) -> str:
    if isinstance(value, int):
        return str(value)
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


def phone_model(
    rules: Iterable[ItemRule], weights: Mapping[Any, Number], default_points: Mapping[str, Number]
) -> dict[str, Any]:
    """What the phone needs to score offline (logic.js `score`), compact (it is in the audit page): the
    checklist's points once; per scored item [section, weight, most it can earn], then its points per result
    when it has its own (else 0), then a choice's points per option; per section its weight. Items never
    scored are left out."""
    items: dict[str, list[Any]] = {}
    for rule in rules:
        best = rule.best()
        if best is None:
            continue
        entry: list[Any] = [str(rule.section), rule.weight, _plain(best)]
        own = dict(rule.points) != dict(default_points)
        if own or rule.options:
            entry.append(dict(rule.points) if own else 0)
        if rule.options:
            entry.append({v: _plain(rule.option_points(v)) for v in rule.options})
        items[str(rule.id)] = entry
    return {
        "points": dict(default_points),
        "items": items,
        "sections": {str(k): v for k, v in weights.items()},
    }
