"""Serializer fields that refuse what DRF would coerce, and quote little of a bad value."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

# The most of a client's value an error message quotes: it must never echo a megabyte back.
QUOTE_LIMIT = 60


def brief(value: object, limit: int = QUOTE_LIMIT) -> str:
    """Return a value as text for an error message, cut to `limit` characters."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**limit:
        return f"an integer of {len(str(abs(value)))} digits"
    try:
        text = value if isinstance(value, str) else repr(value)
    except (RecursionError, ValueError):  # deeply nested lists; ints past Python's digit limit
        return f"a {type(value).__name__}"
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text)} characters)"


class StrictFloatField(serializers.FloatField):
    """A float that refuses booleans (Python's float(True) is 1.0), like IntegerField does."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """An integer that refuses booleans by name, whatever its messages say."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A boolean: JSON true or false, or a form's "true" or "false"; not 0, 1 or "yes"."""

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        if data in ("true", "false"):
            return str(data) == "true"
        self.fail("invalid", input=brief(data))


class BriefChoiceField(serializers.ChoiceField):
    """A choice whose error quotes at most QUOTE_LIMIT characters of the value sent."""

    def to_internal_value(self, data: Any) -> Any:
        if data == "" and self.allow_blank:
            return ""
        if isinstance(data, (str, int, float)) and not isinstance(data, bool):
            key = str(data)
            if key in self.choice_strings_to_values:
                return self.choice_strings_to_values[key]
        self.fail("invalid_choice", input=brief(data))
