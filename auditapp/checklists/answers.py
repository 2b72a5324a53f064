"""Answer types of checklist items: what an auditor answers, and the result each answer maps to.

An item without `answer` (or with `type: grades`) is answered with the ISO grades, as always. Any other type
records a value (yes/no, a number, text, a date, one or several options) and derives the result the rest of
the app understands (findings, nonconformities, coverage, completion), or `recorded` for pure data.
Plain functions over the item's stored spec (`ChecklistItem.answer`), used on the server; the phone derives
the same result from the same spec (static/js/offline/logic.js, `answerResult`).
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from .models import Result

GRADES = "grades"
ANSWER_TYPES = [GRADES, "yes_no", "number", "text", "date", "choice", "multi_choice"]
TYPED = ANSWER_TYPES[1:]
#: The result of an answer that records data without judging it (text, dates, options with no result).
RECORDED = "recorded"
RECORDED_LABEL = "Recorded, no judgement"
#: Results an answer type may lead to: the ISO results and `recorded` (never offered on ISO-grade items).
ANSWER_RESULTS = [*(r.value for r in Result), RECORDED]
#: Most severe first: multi_choice takes the first of its chosen options' results in this order.
SEVERITY = ["major_nc", "minor_nc", "observation", "ofi", "conform", RECORDED, "na"]
YES_NO_LABELS = {"yes": "Yes", "no": "No", "na": "N/A"}
TEXT_MAX = 2000
NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")


def normalised(spec: dict[str, Any] | None) -> dict[str, Any] | None:
    """The spec as stored on the item (None for the ISO grades): defaults filled, options as mappings."""
    if not spec or spec.get("type", GRADES) == GRADES:
        return None
    kind = spec["type"]
    out: dict[str, Any] = {"type": kind}
    if kind == "number":
        out |= {"unit": spec.get("unit", ""), "min": spec.get("min"), "max": spec.get("max")}
        out["outside"] = spec.get("outside", Result.MINOR_NC.value)
    elif kind == "yes_no":
        out["no"] = spec.get("no", Result.MINOR_NC.value)
    elif kind in ("choice", "multi_choice"):
        out["options"] = [_option(o) for o in spec["options"]]
    return out


def _option(option: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(option, str):
        return {"value": option, "label": option, "result": RECORDED}
    out = {
        "value": option["value"],
        "label": option.get("label") or option["value"],
        "result": option.get("result") or RECORDED,
    }
    if option.get("points") is not None:  # scoring (issue 15): kept only when given
        out["points"] = option["points"]
    return out


def possible_results(spec: dict[str, Any] | None) -> list[str]:
    """The results an item's answers can lead to. A number's proposed result may be changed by the auditor
    to any ISO result, so a number allows them all."""
    if spec is None:
        return [r.value for r in Result]
    kind = spec["type"]
    if kind == "yes_no":
        found = ["conform", spec["no"], "na"]
    elif kind == "number":
        iso = [r.value for r in Result]
        found = iso if has_limits(spec) else [RECORDED, *iso]
    elif kind in ("text", "date"):
        found = [RECORDED]
    else:
        found = [o["result"] for o in spec["options"]]
    return list(dict.fromkeys(found))


def has_limits(spec: dict[str, Any]) -> bool:
    return spec.get("min") is not None or spec.get("max") is not None


class InvalidAnswer(ValueError):
    """What the auditor typed is not an answer to this item; the message says why, in their words."""


def parse(spec: dict[str, Any], typed: list[str]) -> Any:
    """The value of an answer from what the form sent (every `value` field), or InvalidAnswer."""
    typed = [t.strip() for t in typed if t is not None and t.strip()]
    kind = spec["type"]
    if kind == "multi_choice":
        known = [o["value"] for o in spec["options"]]
        if not typed:
            raise InvalidAnswer("Choose at least one option.")
        wrong = [t for t in typed if t not in known]
        if wrong:
            raise InvalidAnswer(f"“{wrong[0]}” is not one of this item's options.")
        return [v for v in known if v in typed]  # the checklist's order, each once
    if not typed:
        raise InvalidAnswer({"number": "Enter a number.", "date": "Enter a date."}.get(kind, "Give an answer."))
    if len(typed) > 1:
        raise InvalidAnswer("Give one answer.")
    text = typed[0]
    if kind == "yes_no":
        if text not in YES_NO_LABELS:
            raise InvalidAnswer("Answer yes, no or not applicable.")
        return text
    if kind == "choice":
        if text not in [o["value"] for o in spec["options"]]:
            raise InvalidAnswer(f"“{text}” is not one of this item's options.")
        return text
    if kind == "number":
        cleaned = text.replace(" ", "").replace("\u202f", "")
        if not NUMBER.match(cleaned):
            raise InvalidAnswer(f"“{text}” is not a number; type digits, like 42.5.")
        number = float(cleaned.replace(",", "."))
        if not math.isfinite(number) or abs(number) >= 1e15:
            raise InvalidAnswer(f"“{text}” is too large.")
        return int(number) if number.is_integer() else number
    if kind == "date":
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise InvalidAnswer(f"“{text}” is not a date; enter it like 2026-12-07.") from None
    if len(text) > TEXT_MAX:
        raise InvalidAnswer(f"Answers are limited to {TEXT_MAX:,} characters.")
    return text


def result_of(spec: dict[str, Any], value: Any) -> str:
    """The result an answer leads to (for a number, the one it proposes)."""
    kind = spec["type"]
    if kind == "yes_no":
        return {"yes": "conform", "no": spec["no"], "na": "na"}[value]
    if kind == "number":
        if not has_limits(spec):
            return RECORDED
        low, high = spec.get("min"), spec.get("max")
        inside = (low is None or value >= low) and (high is None or value <= high)
        return "conform" if inside else spec["outside"]
    if kind in ("text", "date"):
        return RECORDED
    results = {o["value"]: o["result"] for o in spec["options"]}
    if kind == "choice":
        return results[value]
    chosen = [results[v] for v in value]
    return min(chosen, key=SEVERITY.index)


def shown(spec: dict[str, Any] | None, value: Any) -> str:
    """An answer as people read it: "42.5 Nm", "Yes", the options' labels."""
    if spec is None or value is None:
        return ""
    kind = spec["type"]
    if kind == "yes_no":
        return YES_NO_LABELS.get(value, str(value))
    if kind == "number":
        return f"{number_text(value)} {spec.get('unit') or ''}".strip()
    if kind in ("choice", "multi_choice"):
        labels = {o["value"]: o["label"] for o in spec["options"]}
        chosen = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(v, str(v)) for v in chosen)
    return str(value)


def number_text(value: Any) -> str:
    """A number as typed back: 42, 42.5, never 42.0 or 4.25e+01."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.10f}".rstrip("0").rstrip(".")


def limits_text(spec: dict[str, Any]) -> str:
    """A number's limits as the auditor sees them: "40–45 Nm", "at least 40 Nm", "at most 45 Nm"."""
    low, high, unit = spec.get("min"), spec.get("max"), spec.get("unit") or ""
    if low is not None and high is not None:
        text = f"{number_text(low)}–{number_text(high)}"
    elif low is not None:
        text = f"at least {number_text(low)}"
    elif high is not None:
        text = f"at most {number_text(high)}"
    else:
        return ""
    return f"{text} {unit}".strip()


def described(spec: dict[str, Any] | None) -> str:
    """An answer spec in a sentence, for the checklist's preview: what is asked and the results it gives."""
    if spec is None:
        return ""
    labels = {**Result.labels(), RECORDED: RECORDED_LABEL}
    kind = spec["type"]
    if kind == "yes_no":
        return f"Yes / No / N/A; yes: Conform, no: {labels[spec['no']]}"
    if kind == "number":
        unit = f" in {spec['unit']}" if spec.get("unit") else ""
        if not has_limits(spec):
            return f"A number{unit}; {RECORDED_LABEL.lower()}"
        return f"A number{unit}, limits {limits_text(spec)}; outside them: {labels[spec['outside']]} (proposed)"
    if kind in ("text", "date"):
        return f"{'Text' if kind == 'text' else 'A date'}; {RECORDED_LABEL.lower()}"
    options = ", ".join(f"{o['label']} ({labels[o['result']]})" for o in spec["options"])
    if kind == "choice":
        return f"One of: {options}"
    return f"Any of: {options}; the most severe sets the result"
