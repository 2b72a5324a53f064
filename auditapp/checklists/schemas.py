"""The checklist file format, as marshmallow schemas: the one place its fields are validated."""

import difflib
import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from . import answers
from .models import PhotoRule, Result
from .standards import CLAUSE_CODE

RESULT_CODES = [r.value for r in Result]
PHOTO_RULES = [p.value for p in PhotoRule]
CHECKLIST_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
ITEM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CLAUSE = re.compile(r"^\d{1,2}(\.\d{1,2}){0,4}$")
REFERENCE = re.compile(r"^\S(?:[^\r\n]{0,18}\S)?$")


def did_you_mean(value: str, choices: list[str]) -> str:
    """'; did you mean "x"?' for the closest choice, or the list of choices."""
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    if close:
        return f'; did you mean "{close[0]}"?'
    return f"; use one of: {', '.join(choices)}"


class Text(fields.String):
    """A string that refuses what YAML silently turned into a number or a boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError(f"expected text, but YAML read the boolean {str(value).lower()}; put it in quotes")
        if isinstance(value, (int, float)):
            # The loader replaces this with the exact source token once it knows the line.
            raise ValidationError(f"expected text, but YAML read the number {value}; put it in quotes")
        if not isinstance(value, str):
            raise ValidationError(f"expected text, not a {_kind(value)}")
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
    """Text from a fixed list, with a suggestion for a near miss."""

    def __init__(self, choices: list[str], noun: str, **kwargs):
        super().__init__(**kwargs)
        self.choices = choices
        self.noun = noun

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if value not in self.choices:
            raise ValidationError(f'"{value}" is not {self.noun}{did_you_mean(value, self.choices)}')
        return value


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
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    return type(value).__name__


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE
        ordered = True


# --- answer types (issue 15) -------------------------------------------------------------------


class Limit(fields.Field):
    """A number's limit: a number as YAML reads it (40, 4.5), not text or a boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(f"expected a number like 40 or 4.5, not {value!r}")
        return value


class AnswerOption(fields.Field):
    """A choice's option: a string, or a mapping {value, label, result}."""

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
    # --- answer types (issue 15): no default, so a file without `answer` hashes as before.
    answer = AnswerSpec(AnswerSpecSchema)

    @validates_schema
    def results_are_for_grades(self, data, **kwargs):
        kind = (data.get("answer") or {}).get("type", answers.GRADES)
        if data.get("results") is not None and kind != answers.GRADES:
            raise ValidationError(
                {"results": [f"results lists ISO grades; a {kind} answer says its results in answer"]}
            )


class SectionSchema(StrictSchema):
    clause = Clause(load_default=None)
    title = Text(required=True, validate=validate.Length(min=1, max=200, error="must be 1 to 200 characters"))
    items = TextList(
        fields.Nested(ItemSchema),
        required=True,
        validate=validate.Length(min=1, error="a section needs at least one item"),
    )


class ChecklistSchema(StrictSchema):
    id = Text(
        required=True,
        validate=validate.Regexp(CHECKLIST_ID, error="must be lowercase letters, digits and '-', e.g. iso9001-2015"),
    )
    title = Text(required=True, validate=validate.Length(min=1, max=200, error="must be 1 to 200 characters"))
    version = StrictInteger(required=True, validate=validate.Range(min=1, error="must be 1 or more"))
    standard = Text(load_default="", validate=validate.Length(max=120, error="must be at most 120 characters"))
    standards = TextList(
        Text(validate=validate.Length(min=1, max=120, error="must be 1 to 120 characters")),
        validate=validate.Length(min=1, error="list at least one standard, or leave standards out"),
    )
    description = Text(load_default="", validate=validate.Length(max=4000, error="must be at most 4000 characters"))
    renamed = RenameMap(load_default=dict)
    sections = TextList(
        fields.Nested(SectionSchema),
        required=True,
        validate=validate.Length(min=1, error="a checklist needs at least one section"),
    )


# Allowed keys by nesting level, for "did you mean" on unknown keys.
KEYS_BY_LEVEL = {
    "checklist": list(ChecklistSchema().fields),
    "section": list(SectionSchema().fields),
    "item": list(ItemSchema().fields),
    "answer": [f.data_key or name for name, f in AnswerSpecSchema().fields.items()],
    "option": list(OptionSchema().fields),
}
