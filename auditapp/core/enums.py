"""Enums whose members carry the words people see next to the codes the database stores."""

from __future__ import annotations

import enum


class LabelledEnum(enum.StrEnum):
    """A string enum whose members are declared as ``CODE = "code", "Label people read"``."""

    label: str

    def __new__(cls, value: str, label: str = "") -> LabelledEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label or value.replace("_", " ").capitalize()
        return member

    @classmethod
    def labels(cls) -> dict[str, str]:
        """Code → label, in declaration order (for selects and lookups in templates)."""
        return {m.value: m.label for m in cls}
