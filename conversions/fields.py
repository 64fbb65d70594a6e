"""Serializer fields that refuse what DRF would coerce, quote little of a bad value, or read a
list from a form."""

from __future__ import annotations

from collections.abc import Iterable
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


class FormValues(list[Any]):
    """A form's values of one field: one, or several where the form repeated the field."""


class FormListField(serializers.ListField):
    """A list a form sends as the field repeated or as one comma-separated field (`a,b`).

    A JSON body sends a list as it is. A form has no lists: its values reach
    `to_internal_value` as FormValues, so a subclass tells them from a JSON string, and
    `comma_items` splits their text.
    """

    def get_value(self, dictionary: Any) -> Any:
        if hasattr(dictionary, "getlist") and self.field_name in dictionary:  # a form
            return FormValues(dictionary.getlist(self.field_name))
        return super().get_value(dictionary)


def comma_items(texts: Iterable[str], *, keep_empty: bool = False) -> list[str]:
    """Return the stripped items of comma-separated texts: ["svg, pdf", "png"] → svg, pdf, png.

    `keep_empty` keeps the empty items of "a,,b", for a field that refuses them.
    """
    items = [part.strip() for text in texts for part in text.split(",")]
    return items if keep_empty else [item for item in items if item]
