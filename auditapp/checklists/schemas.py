"""The checklist file format, as marshmallow schemas: the one place its fields are validated."""

import difflib
import re
from typing import Any
from urllib.parse import urlsplit

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from ..core.forms import MAX_ID
from . import answers
from .models import PhotoRule, Result
from .rules import FINDING_RESULTS
from .standards import CLAUSE_CODE

RESULT_CODES = [r.value for r in Result]
PHOTO_RULES = [p.value for p in PhotoRule]
CHECKLIST_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
ITEM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CLAUSE = re.compile(r"^\d{1,2}(\.\d{1,2}){0,4}$")
REFERENCE = re.compile(r"^\S(?:[^\r\n]{0,18}\S)?$")


# --- words from other tools -------------------------------------------------------------------
# A value from a fixed list (a result, a photo rule, an answer type...) is matched first exactly,
# then ignoring case, spaces, "_", "-", "/" and "." ("Minor NC", "minor-nc", "N/A", "Required on NC"):
# that is the same word written differently, taken as the code without a word.
# ACCEPTED: other words taken silently too, because they can only mean that code (the ISO terms
# spelt out). SUGGESTED: words other tools use that probably mean a code, only offered in the
# message ("did you mean"), because the author must confirm the guess ("pass" may be a score,
# "required" may be always or only on a nonconformity). Keyed by word, valued by code; a word only
# applies where its code is one of the choices, so a new choice list needs no entry here, and a new
# word is one line.
ACCEPTED: dict[str, str] = {
    "minor nonconformity": "minor_nc",
    "major nonconformity": "major_nc",
    "opportunity for improvement": "ofi",
    "not applicable": "na",
}
SUGGESTED: dict[str, tuple[str, ...]] = {
    # results
    "compliant": ("conform",),
    "compliance": ("conform",),
    "conforming": ("conform",),
    "conformity": ("conform",),
    "pass": ("conform",),
    "passed": ("conform",),
    "ok": ("conform",),
    "yes": ("conform",),
    "good": ("conform",),
    "satisfactory": ("conform",),
    "minor": ("minor_nc",),
    "major": ("major_nc",),
    "nc": ("minor_nc", "major_nc"),
    "nonconformity": ("minor_nc", "major_nc"),
    "non compliant": ("minor_nc", "major_nc"),
    "noncompliance": ("minor_nc", "major_nc"),
    "fail": ("minor_nc", "major_nc"),
    "failed": ("minor_nc", "major_nc"),
    "no": ("minor_nc", "major_nc", "never"),
    "critical": ("major_nc",),
    "improvement": ("ofi",),
    "opportunity": ("ofi",),
    "recommendation": ("ofi",),
    "obs": ("observation",),
    "remark": ("observation",),
    "comment": ("observation",),
    "not relevant": ("na",),
    "excluded": ("na",),
    "skip": ("na",),
    # photo rules
    "required": ("required_on_nc", "always"),
    "mandatory": ("required_on_nc", "always"),
    "none": ("never",),
    "off": ("never",),
    "not allowed": ("never",),
    "allowed": ("optional",),
    "if needed": ("optional",),
}
# Keys other tools or a typing slip give a field, by the key they probably mean (filtered by level,
# so "questions" suggests items on a section and question on an item).
KEY_WORDS: dict[str, tuple[str, ...]] = {
    "name": ("title", "id"),  # XLSForm: an item's name is its id
    "label": ("question", "title"),  # XLSForm: the question's text
    "type": ("answer",),  # offered once items have an answer
    "choices": ("options",),
    "heading": ("title",),
    "text": ("question",),
    "prompt": ("question",),
    "check": ("question",),
    "requirement": ("question",),
    "questions": ("items", "question"),
    "item": ("items",),
    "checks": ("items",),
    "checkpoints": ("items",),
    "notes": ("guidance",),
    "note": ("guidance",),
    "help": ("guidance",),
    "hint": ("guidance",),
    "instructions": ("guidance",),
    "description": ("guidance",),
    "ref": ("reference",),
    "code": ("reference",),
    "number": ("reference",),
    "control": ("reference",),
    "records": ("evidence",),
    "evidences": ("evidence",),
    "photos": ("photo",),
    "picture": ("photo",),
    "image": ("photo",),
    "result": ("results",),
    "grades": ("results",),
    "outcomes": ("results",),
    "section": ("sections",),
    "chapters": ("sections",),
    "groups": ("sections",),
    "revision": ("version",),
    "rev": ("version",),
    "iso": ("standard",),
}


def word_key(word: str) -> str:
    """A word as compared loosely: "Minor NC", "minor-nc" and "minor_nc" are all "minornc"."""
    return re.sub(r"[\s_\-/.]+", "", word.casefold())


_ACCEPTED = {word_key(w): code for w, code in ACCEPTED.items()}
_SUGGESTED = {word_key(w): codes for w, codes in SUGGESTED.items()}
_KEY_WORDS = {word_key(w): keys for w, keys in KEY_WORDS.items()}


def accepted(value: str, choices: list[str]) -> str | None:
    """The choice a value stands for without doubt (see ACCEPTED), or None."""
    if value in choices:
        return value
    key = word_key(value)
    same = [c for c in choices if word_key(c) == key]
    if len(same) == 1:
        return same[0]
    code = _ACCEPTED.get(key)
    return code if code in choices else None


def did_you_mean(value: str, choices: list[str], words: dict[str, tuple[str, ...]] | None = None) -> str:
    """'; did you mean "x"?' for the choice (or choices) meant, or the list of choices.

    Tried in turn: the same word written differently ("Question" for question), a word other
    tools use (SUGGESTED, or `words`), a near miss in spelling ("guidence")."""
    key = word_key(value)
    meant = [c for c in choices if word_key(c) == key]
    if not meant:
        meant = [c for c in (words if words is not None else _SUGGESTED).get(key, ()) if c in choices]
    if not meant:
        folded = {c.casefold(): c for c in choices}
        meant = [folded[c] for c in difflib.get_close_matches(value.casefold(), list(folded), n=1, cutoff=0.6)]
    if meant:
        return "; did you mean " + " or ".join(f'"{c}"' for c in meant) + "?"
    return f"; use one of: {', '.join(choices)}"


def did_you_mean_key(key: str, keys: list[str]) -> str:
    """did_you_mean for an unknown key, with the keys other tools use (KEY_WORDS)."""
    return did_you_mean(key, keys, _KEY_WORDS)


class Text(fields.String):
    """A string that refuses what YAML silently turned into a number or a boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError(f"expected text, but YAML read the boolean {str(value).lower()}; put it in quotes")
        if isinstance(value, (int, float)):
            # The loader replaces this with the exact source token once it knows the line.
            raise ValidationError(f"expected text, but YAML read the number {value}; put it in quotes")
        if not isinstance(value, str):
            raise ValidationError(f"expected text, not {_kind(value)}")
        return super()._deserialize(value, attr, data, **kwargs)


class Clause(Text):
    """A clause reference such as "8.5.2": always text, so 7.10 never becomes 7.1."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not CLAUSE.match(value):
            raise ValidationError(f'"{value}" is not a clause number like "8.5.2"')
        return value


class ItemClause(Clause):
    """An item's `clause`: an ISO-style number; another reference scheme goes in `reference`."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ValidationError as exc:
            if isinstance(value, str) and not CLAUSE.match(value):
                raise ValidationError(
                    f'"{value}" is not a clause number like "8.5.2"; a reference in another scheme goes in'
                    f' reference: "{value}"'
                ) from exc
            raise


class Reference(Text):
    """The author's reference for an item ("A.5.1", "5S-2", "8.5.1"): short text on one line."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not REFERENCE.match(value):
            raise ValidationError(
                f'"{value}" is not a reference: 1 to 20 characters on one line, without spaces at either end'
            )
        return value


class ClauseMap(fields.Field):
    """standard name -> clauses of it the item covers, e.g. {"ISO 14001:2015": ["7.5.1", "7.5.3"]}."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError(
                f'expected a mapping like {{"ISO 9001:2015": ["8.5.1"]}} (standard: clauses), not {_kind(value)}'
            )
        errors, result = {}, {}
        for name, clauses in value.items():
            if isinstance(clauses, str):
                clauses = [clauses]
            if not isinstance(name, str):
                errors[name] = ["the standard's name must be text, e.g. ISO 9001:2015"]
            elif not isinstance(clauses, list):
                errors[name] = [f'expected a list of clauses like ["8.5.1"], not {_kind(clauses)}']
            else:
                wrong = [c for c in clauses if not isinstance(c, str) or not CLAUSE_CODE.match(c)]
                if wrong:
                    errors[name] = [
                        f'{wrong[0]!r} is not a clause number; write clause numbers as quoted text like "8.5.2"'
                    ]
                else:
                    result[name] = list(clauses)
        if errors:
            raise ValidationError(errors)
        return result


class Choice(Text):
    """Text from a fixed list: the same word written differently is taken as it (see ACCEPTED),
    a near miss or another tool's word gets a suggestion."""

    def __init__(self, choices: list[str], noun: str, **kwargs):
        super().__init__(**kwargs)
        self.choices = choices
        self.noun = noun

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        code = accepted(value, self.choices)
        if code is None:
            raise ValidationError(f'"{value}" is not {self.noun}{did_you_mean(value, self.choices)}')
        return code


class StrictInteger(fields.Integer):
    """An integer that is not a boolean or a float in disguise."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"expected a whole number, not {value!r}")
        return super()._deserialize(value, attr, data, **kwargs)


class TextList(fields.List):
    """A list whose wrong type reads as a plain sentence."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise ValidationError(f"expected a list like [a, b], not {_kind(value)}")
        return super()._deserialize(value, attr, data, **kwargs)


class RenameMap(fields.Field):
    """old item id -> new item id; each entry's problem is reported on its own line."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError(f'expected a mapping like {{"old-id": "new-id"}}, not {_kind(value)}')
        errors, result = {}, {}
        for old, new in value.items():
            if not isinstance(old, str) or not isinstance(new, str):
                errors[old] = ["old and new item ids must both be quoted text"]
            elif not ITEM_ID.match(new):
                errors[old] = [f'"{new}" is not a valid item id']
            else:
                result[old] = new
        if errors:
            raise ValidationError(errors)
        return result


def _kind(value) -> str:
    """What a value is, in words: "a mapping", "a list", "text", "a number"."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "yes/no"
    if isinstance(value, (int, float)):
        return "a number"
    return "empty" if value is None else type(value).__name__


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE
        ordered = True


# --- evidence rules, finding rules and procedure links (issue 15, helper "rules") ----------------
# No load_default anywhere here: a file that does not use the keys loads (and hashes) as before.

# The results that can need a written finding (`findings.required_for`): findings.models.FINDING_GRADES.
FINDING_RESULT_CODES = list(FINDING_RESULTS)


class WebAddress(Text):
    """An http(s) address, whole: the auditor's phone opens it, so no javascript:, data: or file:."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs).strip()
        try:
            parts = urlsplit(value)
        except ValueError:
            parts = None
        if parts is None or parts.scheme.lower() not in ("http", "https"):
            raise ValidationError(f'"{value}" is not a web address; write it whole, starting with https://')
        if not parts.hostname or any(ch.isspace() or ord(ch) < 32 for ch in value):
            raise ValidationError(f'"{value}" is not a whole web address, like https://intranet.example/wi-12')
        return value


class MappingOf(fields.Nested):
    """A nested mapping whose wrong type reads as a plain sentence."""

    def __init__(self, nested, example: str, **kwargs):
        super().__init__(nested, **kwargs)
        self.example = example

    def _deserialize(self, value, attr, data, partial=None, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError(f"expected a mapping like {self.example}, not {_kind(value)}")
        return super()._deserialize(value, attr, data, partial=partial, **kwargs)


class RequireSchema(StrictSchema):
    """`require:` the results for which the item needs a photo, or a note, before the audit completes."""

    photo = TextList(Choice(RESULT_CODES, "a result"))
    note = TextList(Choice(RESULT_CODES, "a result"))


class ProcedureSchema(StrictSchema):
    """One procedure or work instruction the item checks: a title, and a web address or document number."""

    title = Text(required=True, validate=validate.Length(min=1, max=200, error="must be 1 to 200 characters"))
    url = WebAddress(validate=validate.Length(max=500, error="must be at most 500 characters"))
    document = Text(validate=validate.Length(min=1, max=100, error="must be 1 to 100 characters"))

    @validates_schema
    def url_or_document(self, data, **kwargs):
        if "url" not in data and "document" not in data:
            raise ValidationError(
                'give its url: (https://...) or its document: number, e.g. {title: "Torque", document: "WI-12"}',
                "title",
            )


class FindingRulesSchema(StrictSchema):
    """`findings:` which results need a written finding in this checklist (absent: every finding grade)."""

    required_for = TextList(Choice(FINDING_RESULT_CODES, "a result that can need a finding"), required=True)


# --- scoring (issue 15, helper "scoring") ----------------------------------------------------
# No load_default: a file without scoring keys loads (and hashes) as before. checklists/scoring.py
# computes the scores; loader._scoring_checks says what only the whole file shows.

#: Results that can earn points: every ISO result but N/A (N/A, recorded and unanswered are not scored).
SCORED_RESULTS = [r.value for r in Result if r != Result.NA]


class Amount(fields.Field):
    """Points or a weight: a number, 0 or more (2, 1.5), not text, a boolean or a negative number."""

    def __init__(self, noun: str, **kwargs):
        super().__init__(**kwargs)
        self.noun = noun

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(f"{self.noun} must be a number like 2 or 1.5, not {_kind(value)} {value!r}")
        if value < 0 or value != value or value in (float("inf"), float("-inf")):
            raise ValidationError(f"{self.noun} must be 0 or more, not {value}")
        if value > 1000:
            raise ValidationError(f"{self.noun} must be at most 1000, not {value}")
        return value


class PointsMap(fields.Field):
    """result -> points, e.g. {conform: 2, minor_nc: 1, major_nc: 0}; N/A and recorded answers are never scored."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError(
                f"expected points per result, like {{conform: 2, minor_nc: 1, major_nc: 0}}, not {_kind(value)}"
            )
        if not value:
            raise ValidationError("give the points of at least one result, like {conform: 2, minor_nc: 1, major_nc: 0}")
        errors: dict = {}
        result: dict[str, Any] = {}
        amount = Amount("points")
        for key, points in value.items():
            code = accepted(key, SCORED_RESULTS) if isinstance(key, str) else None
            if code is None:
                if isinstance(key, str) and accepted(key, [Result.NA.value, answers.RECORDED]):
                    errors[key] = [f'"{key}" is never scored (it is out of the maximum); remove it from the points']
                else:
                    errors[key] = [f'"{key}" is not a result{did_you_mean(str(key), SCORED_RESULTS)}']
                continue
            if code in result:
                errors[key] = [f'"{key}" is listed twice']
                continue
            try:
                result[code] = amount.deserialize(points)
            except ValidationError as exc:
                errors[key] = exc.messages
        if errors:
            raise ValidationError(errors)
        return result


class ScoringSchema(StrictSchema):
    """`scoring:` at the checklist's top turns scoring on: the points each result earns by default."""

    points = PointsMap(required=True)


# --- answer types (issue 15) -------------------------------------------------------------------


class Limit(fields.Field):
    """A number's limit: a number as YAML reads it (40, 4.5), not text or a boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(f"expected a number like 40 or 4.5, not {value!r}")
        return value


class AnswerOption(fields.Field):
    """A choice's option: a string, or a mapping {value, label, result}."""

    @property
    def mapping_schema(self) -> Schema:
        return OptionSchema()

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            if not value.strip() or len(value) > 60:
                raise ValidationError("an option must be 1 to 60 characters")
            return value
        if isinstance(value, bool) or isinstance(value, (int, float)):
            raise ValidationError(f'expected text, but YAML read {value!r}; put it in quotes: "{value}"')
        if not isinstance(value, dict):
            raise ValidationError(
                f"expected text or a mapping like {{value: clean, result: conform}}, not {_kind(value)}"
            )
        return OptionSchema().load(value)


class OptionSchema(StrictSchema):
    value = Text(required=True, validate=validate.Length(min=1, max=60, error="must be 1 to 60 characters"))
    label = Text(validate=validate.Length(min=1, max=200, error="must be 1 to 200 characters"))
    result = Choice(answers.ANSWER_RESULTS, "a result")
    points = Amount("points")  # scoring: this option's points (a choice answer), instead of its result's


class AnswerSpec(fields.Nested):
    """An item's `answer`: a mapping; a bare type ("answer: number") is named as the mapping it should be."""

    def _deserialize(self, value, attr, data, partial=None, **kwargs):
        if isinstance(value, str):
            raise ValidationError(f"expected a mapping: write answer: {{type: {value}}}")
        if not isinstance(value, dict):
            raise ValidationError(f"expected a mapping like {{type: number, unit: Nm}}, not {_kind(value)}")
        return super()._deserialize(value, attr, data, partial=partial, **kwargs)


NUMBER_ONLY = ("unit", "min", "max", "outside")


class AnswerSpecSchema(StrictSchema):
    """An item's `answer:`: its type and what that type needs. No defaults: the file hashes as written."""

    type = Choice(answers.ANSWER_TYPES, "an answer type", required=True)
    unit = Text(validate=validate.Length(min=1, max=20, error="must be 1 to 20 characters"))
    min = Limit()
    max = Limit()
    outside = Choice([r.value for r in Result if r != Result.CONFORM], "a result")
    no = Choice(RESULT_CODES, "a result", data_key="no")
    options = TextList(AnswerOption())

    @validates_schema
    def fits_its_type(self, data, **kwargs):
        kind = data.get("type")
        if kind is None:
            return
        errors: dict[str, list[str]] = {}
        for key in NUMBER_ONLY:
            if key in data and kind != "number":
                errors[key] = [f"{key} is for a number answer, not {kind}"]
        if "no" in data and kind != "yes_no":
            errors["no"] = [f"no is for a yes_no answer, not {kind}"]
        if "options" in data and kind not in ("choice", "multi_choice"):
            errors["options"] = [f"options are for a choice or multi_choice answer, not {kind}"]
        low, high = data.get("min"), data.get("max")
        if low is not None and high is not None and low > high:
            errors["min"] = [f"min {low} is greater than max {high}"]
        if kind in ("choice", "multi_choice"):
            options = data.get("options")
            if not options:
                errors["options"] = [f"a {kind} answer needs options: a list of at least two"]
            else:
                values = [o if isinstance(o, str) else o["value"] for o in options]
                twice = [v for k, v in enumerate(values) if v in values[:k]]
                if twice:
                    errors["options"] = [f'"{twice[0]}" is listed twice']
                elif len(values) < 2:
                    errors["options"] = ["give at least two options"]
                elif len(values) > 30:
                    errors["options"] = ["give at most 30 options"]
        if errors:
            raise ValidationError(errors)


# --- show-if conditions (issue 15, helper "showif") ----------------------------------------------
# `show_if: {item: <earlier item id>, answer: [...]}` on an item or a section. No default: a file without
# it hashes as before. What `answer` may list depends on the trigger item, so it is checked across items
# (loader._show_if_checks); the rule itself is checklists/conditions.py.


class ShowIfSchema(StrictSchema):
    item = Text(required=True, validate=validate.Regexp(ITEM_ID, error="must be the id of an earlier item"))
    answer = TextList(
        Text(validate=validate.Length(min=1, max=60, error="must be 1 to 60 characters")),
        required=True,
        validate=validate.Length(min=1, error='list at least one answer that shows it, e.g. ["no"]'),
    )


SHOW_IF_EXAMPLE = '{item: rcv-01, answer: ["no"]}'


class ItemSchema(StrictSchema):
    id = Text(
        required=True,
        validate=validate.Regexp(
            ITEM_ID, error="must be letters, digits, '.', '_' or '-' (at most 64), e.g. 8.5.2-traceability"
        ),
    )
    # A lone `clause` (today's files) is the reference and, when the checklist declares one standard,
    # that standard's clause. `reference` and `clauses` say the two apart (see loader._standards_checks).
    # No defaults: a file without them loads (and hashes) exactly as before they existed.
    reference = Reference()
    clause = ItemClause()
    clauses = ClauseMap()
    question = Text(required=True, validate=validate.Length(min=3, max=1000, error="must be 3 to 1000 characters"))
    guidance = Text(load_default="", validate=validate.Length(max=4000, error="must be at most 4000 characters"))
    evidence = TextList(
        Text(validate=validate.Length(min=1, max=200, error="must be 1 to 200 characters")), load_default=list
    )
    photo = Choice(PHOTO_RULES, "a photo rule", load_default=PhotoRule.OPTIONAL.value)
    results = TextList(
        Choice(RESULT_CODES, "a result"),
        load_default=None,
        validate=validate.Length(min=1, error="must list at least one result"),
    )
    # --- evidence rules and procedure links (issue 15, helper "rules")
    require = MappingOf(RequireSchema, "{photo: [minor_nc, major_nc], note: [observation]}")
    procedures = TextList(
        MappingOf(ProcedureSchema, '{title: "Torque work instruction", document: "WI-12 rev C"}'),
        validate=validate.Length(min=1, error="list at least one procedure, or leave procedures out"),
    )
    # --- answer types (issue 15): no default, so a file without `answer` hashes as before.
    answer = AnswerSpec(AnswerSpecSchema)
    show_if = MappingOf(ShowIfSchema, SHOW_IF_EXAMPLE)  # helper "showif"
    # --- scoring (issue 15): the item's weight in its section, its own points per result.
    weight = Amount("weight")
    points = PointsMap()

    @validates_schema
    def results_are_for_grades(self, data, **kwargs):
        kind = (data.get("answer") or {}).get("type", answers.GRADES)
        if data.get("results") is not None and kind != answers.GRADES:
            raise ValidationError(
                {"results": [f"results lists ISO grades; a {kind} answer says its results in answer"]}
            )


# --- repeating sections (issue 15, helper "repeat") -------------------------------------------
REPEAT_MAX = 50  # copies of one section an audit may hold at most, whatever the file says


class RepeatSchema(StrictSchema):
    """`repeat:` the auditor adds copies of the section during the audit ("Station 2"), up to max.

    No defaults: a file without `repeat` hashes as before; a file without `max` allows 10 (DEFAULT_COPIES)."""

    label = Text(required=True, validate=validate.Length(min=1, max=40, error="must be 1 to 40 characters"))
    max = StrictInteger(
        validate=validate.Range(min=1, max=REPEAT_MAX, error=f"must be a whole number from 1 to {REPEAT_MAX}")
    )


class SectionSchema(StrictSchema):
    clause = Clause(load_default=None)
    title = Text(required=True, validate=validate.Length(min=1, max=200, error="must be 1 to 200 characters"))
    repeat = MappingOf(RepeatSchema, "{label: Station, max: 10}")  # issue 15, helper "repeat"
    items = TextList(
        fields.Nested(ItemSchema),
        required=True,
        validate=validate.Length(min=1, error="a section needs at least one item"),
    )
    show_if = MappingOf(ShowIfSchema, SHOW_IF_EXAMPLE)  # helper "showif": the whole section
    weight = Amount("weight")  # scoring (issue 15): the section's weight in the total


class ChecklistSchema(StrictSchema):
    id = Text(
        required=True,
        validate=validate.Regexp(CHECKLIST_ID, error="must be lowercase letters, digits and '-', e.g. iso9001-2015"),
    )
    title = Text(required=True, validate=validate.Length(min=1, max=200, error="must be 1 to 200 characters"))
    version = StrictInteger(
        required=True,
        validate=[
            validate.Range(min=1, error="must be 1 or more"),
            validate.Range(max=MAX_ID, error=f"must be at most {MAX_ID:,}"),  # the database's integer
        ],
    )
    standard = Text(load_default="", validate=validate.Length(max=120, error="must be at most 120 characters"))
    standards = TextList(
        Text(validate=validate.Length(min=1, max=120, error="must be 1 to 120 characters")),
        validate=validate.Length(min=1, error="list at least one standard, or leave standards out"),
    )
    description = Text(load_default="", validate=validate.Length(max=4000, error="must be at most 4000 characters"))
    renamed = RenameMap(load_default=dict)
    findings = MappingOf(FindingRulesSchema, "{required_for: [major_nc]}")  # issue 15, helper "rules"
    scoring = MappingOf(ScoringSchema, "{points: {conform: 2, minor_nc: 1, major_nc: 0}}")  # issue 15, scoring
    sections = TextList(
        fields.Nested(SectionSchema),
        required=True,
        validate=validate.Length(min=1, error="a checklist needs at least one section"),
    )


def keys_at(path) -> list[str]:
    """The keys allowed in the mapping that holds path's last part, for "did you mean" on an unknown key.

    Walks the schemas along path (nested schemas, and lists of them), so a mapping added inside an
    item (a nested schema) gets its own keys with no change here."""
    schema: Schema = ChecklistSchema()
    for part in path[:-1]:
        if isinstance(part, int):
            continue
        found = schema.fields.get(str(part))
        while isinstance(found, fields.List):
            found = found.inner
        # A field that takes text or a mapping (an answer's option) names its mapping's schema.
        nested = found.schema if isinstance(found, fields.Nested) else getattr(found, "mapping_schema", None)
        if not isinstance(nested, Schema):
            break
        schema = nested
    return list(schema.fields)


# Allowed keys by nesting level (see keys_at for any path).
KEYS_BY_LEVEL = {
    "checklist": list(ChecklistSchema().fields),
    "section": list(SectionSchema().fields),
    "item": list(ItemSchema().fields),
    "require": list(RequireSchema().fields),
    "procedure": list(ProcedureSchema().fields),
    "findings": list(FindingRulesSchema().fields),
    "answer": [f.data_key or name for name, f in AnswerSpecSchema().fields.items()],
    "option": list(OptionSchema().fields),
    "show_if": list(ShowIfSchema().fields),
    "scoring": list(ScoringSchema().fields),
    "repeat": list(RepeatSchema().fields),
}
