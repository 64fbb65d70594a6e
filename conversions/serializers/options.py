"""Fields and mixins the request serializers share: trace parameters, file ids, output size."""

from __future__ import annotations

import json
import uuid
from typing import Any, TypeAlias

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from conversions import limits
from conversions.fields import (
    BriefChoiceField,
    StrictFloatField,
    StrictIntegerField,
    brief,
)
from vectorizer import exports as formats
from vectorizer.tracing import CHOICES, DEFAULT_PARAMS, FLOAT_PARAMS, RANGES

# DRF's stubs make fields and serializers generic in what they hold (DRF accepts the subscript
# at run time and ignores it). Request and schema serializers hold no instance: Serializer[None];
# a response serializer names the record it reads: Serializer[Conversion].
# A field of any kind, as `get_fields` returns them:
AnyField: TypeAlias = serializers.Field[Any, Any, Any, Any]

# Form posts from the page carry these; they are not parameters.
IGNORED_KEYS = frozenset({"csrfmiddlewaretoken"})
MAX_BYTES_LIMIT = 2**31 - 1


def trace_param_fields() -> dict[str, AnyField]:
    """Return one optional serializer field per vtracer parameter, with its real range."""
    result: dict[str, AnyField] = {}
    for name, allowed in CHOICES.items():
        result[name] = BriefChoiceField(
            choices=allowed,
            required=False,
            default=getattr(DEFAULT_PARAMS, name),
            error_messages={
                "invalid_choice": f"must be one of {', '.join(allowed)}; got {{input}}."
            },
        )
    for name, (low, high) in RANGES.items():
        message = f"must be a number from {low} to {high}."
        options: dict[str, Any] = {
            "required": False,
            "default": getattr(DEFAULT_PARAMS, name),
            "error_messages": {
                "min_value": message,
                "max_value": message,
                "invalid": message,
                "max_string_length": message,
            },
        }
        if name in FLOAT_PARAMS:
            result[name] = StrictFloatField(min_value=low, max_value=high, **options)
        else:
            result[name] = StrictIntegerField(min_value=int(low), max_value=int(high), **options)
    return result


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "description": "The file_id POST /api/upload returned; any other string answers 404.",
        "example": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    }
)
class FileIdField(serializers.Field[uuid.UUID | str, object, str, object]):
    """The file_id of an upload: a UUID, or any other string, which then names no upload (404).

    Clients pass whatever id they hold; one that names no upload is "no such file", however it
    is spelled. Only a value that is not a string at all is a malformed request.
    """

    default_error_messages = {
        "invalid": "must be the file_id string returned by POST /api/upload; got {input}.",
        "required": "is required: upload the image with POST /api/upload and pass its file_id.",
        "blank": "is required: upload the image with POST /api/upload and pass its file_id.",
    }

    def to_internal_value(self, data: Any) -> uuid.UUID | str:
        if not isinstance(data, str):
            self.fail("invalid", input=brief(data))
        text = data.strip()
        if not text:
            self.fail("blank")
        try:
            return uuid.UUID(text)
        except ValueError:
            return text  # names no upload: the view answers 404

    def to_representation(self, value: uuid.UUID | str) -> str:
        return str(value)


class StrictKeysMixin(serializers.Serializer[None]):
    """Refuse keys the serializer does not know: a misspelled option must not pass silently."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields) - IGNORED_KEYS)
        if unknown:
            name = brief(unknown[0], 40)
            raise serializers.ValidationError(
                {name: [f"is not an option here; known options: {', '.join(self.fields)}."]}
            )
        return attrs


SIZE_MESSAGE = "must be a positive number (at most 5 m a side at the dpi)."
DPI_MESSAGE = f"must be from {formats.MIN_DPI:g} to {formats.MAX_DPI:g} pixels per inch."


def output_format_field(**options: Any) -> BriefChoiceField:
    """Return the `output_format` / `format` choice: svg, pdf, eps, dxf or png."""
    return BriefChoiceField(
        choices=list(formats.FORMATS),
        default="svg",
        error_messages={
            "invalid_choice": f"must be one of {', '.join(formats.FORMATS)}; got {{input}}."
        },
        **options,
    )


def size_fields() -> dict[str, AnyField]:
    """Return the fields of an output size: width, height, unit and dpi, with their ranges."""
    side: dict[str, Any] = {
        "required": False,
        "allow_null": True,
        "default": None,
        "min_value": formats.MIN_SIDE,
        "error_messages": {"invalid": SIZE_MESSAGE, "min_value": SIZE_MESSAGE},
        "help_text": "In `unit`; at most 5 m a side at `dpi` (a PNG: 8192 px). Leave one side "
        "out to keep the aspect ratio.",
    }
    return {
        "width": StrictFloatField(**side),
        "height": StrictFloatField(**side),
        "unit": BriefChoiceField(
            choices=list(formats.UNITS),
            default="px",
            error_messages={
                "invalid_choice": f"must be one of {', '.join(formats.UNITS)}; got {{input}}."
            },
        ),
        "dpi": StrictFloatField(
            min_value=formats.MIN_DPI,
            max_value=formats.MAX_DPI,
            required=False,
            allow_null=True,
            default=None,
            help_text="Pixels per inch (default 96): turns px into a page size and a physical "
            "size into PNG pixels.",
            error_messages={
                "min_value": DPI_MESSAGE,
                "max_value": DPI_MESSAGE,
                "invalid": DPI_MESSAGE,
            },
        ),
    }


def output_size(attrs: dict[str, Any]) -> formats.OutputSize | None:
    """Return the validated size (None without width and height), refusing one out of range."""
    width, height = attrs.get("width"), attrs.get("height")
    if width is None and height is None:
        return None
    size = formats.OutputSize(
        width=width, height=height, unit=attrs["unit"], dpi=attrs.get("dpi") or formats.DEFAULT_DPI
    )
    box = (width or height or 1.0, height or width or 1.0)
    try:  # each given side within bounds; a derived side is checked against the drawing
        formats.resolve_box(*box, size)
    except formats.ExportError as exc:
        raise serializers.ValidationError(str(exc)) from exc
    return size


class OutputSizeSerializer(serializers.Serializer[None]):
    """The size written into the SVG (and so the PDF/EPS page): `{"width": 10, "unit": "cm"}`.

    A form (multipart) may send it as a JSON string.
    """

    def get_fields(self) -> dict[str, AnyField]:
        return {**super().get_fields(), **size_fields()}

    def get_value(self, dictionary: Any) -> Any:
        # A form's field holds the JSON text; DRF would look for output_size[width] keys.
        if hasattr(dictionary, "getlist") and self.field_name in dictionary:
            return dictionary[self.field_name]
        return super().get_value(dictionary)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                data = None
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                'must be an object such as {"width": 10, "unit": "cm", "dpi": 300}.'
            )
        unknown = sorted(set(data) - set(self.fields))
        if unknown:  # a misspelled option must not pass silently
            raise serializers.ValidationError(
                {
                    brief(unknown[0], 40): [
                        f"is not an option here; known: {', '.join(self.fields)}."
                    ]
                }
            )
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("width") is None and attrs.get("height") is None:
            raise serializers.ValidationError("give a width or a height (or both).")
        output_size(attrs)
        return attrs


class OutputOptionsMixin(serializers.Serializer[None]):
    """`output_format` and `output_size`, shared by /api/convert and /api/convert-ai."""

    output_format = output_format_field(
        help_text="The format download_url in the answer serves; the answer keeps the SVG."
    )
    output_size = OutputSizeSerializer(required=False, allow_null=True, default=None)

    def output(self) -> tuple[str, formats.OutputSize | None]:
        """Return the validated output format and size."""
        data = self.validated_data
        size = data.get("output_size")
        return data["output_format"], output_size(size) if size else None


TIER_SCHEMA = {
    "oneOf": [
        {"type": "string", "enum": ["auto"]},
        {"type": "integer", "enum": [1, 2, 3]},
    ],
    "description": '"auto" (routed by target_quality and time_budget) or tier 1, 2 or 3.',
}


@extend_schema_field(TIER_SCHEMA)
class TierField(serializers.Field[int | str, object, int | str, object]):
    """'auto' or 1, 2, 3 (numbers may come as strings from forms)."""

    default_error_messages = {"invalid": 'must be "auto", 1, 2 or 3; got {input}.'}

    def to_internal_value(self, data: Any) -> int | str:
        if isinstance(data, str) and data.strip().lower() == "auto":
            return "auto"
        if isinstance(data, int) and not isinstance(data, bool) and data in (1, 2, 3):
            return data
        if isinstance(data, str) and data.strip() in {"1", "2", "3"}:
            return int(data.strip())
        self.fail("invalid", input=brief(repr(data) if isinstance(data, str) else data, 40))

    def to_representation(self, value: int | str) -> int | str:
        return value


def anonymous_time_budget(value: float | None, request: Any) -> float | None:
    """Refuse an anonymous caller a budget above SVGAI_ANON_MAX_TIME_BUDGET.

    The schema's 60 s stays for users with a token: a budget is a worker held that long, for
    one conversion or for every item of a batch.
    """
    cap = settings.SVGAI_ANON_MAX_TIME_BUDGET
    anonymous = request is not None and limits.is_anonymous(request)
    if value is not None and cap and anonymous and value > cap:
        raise serializers.ValidationError(
            f"must be at most {cap:g} seconds without a token; send 'Authorization: Token "
            "<key>' for up to 60."
        )
    return value
