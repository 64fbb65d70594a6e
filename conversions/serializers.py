"""Request and response shapes of the conversion API (field names are a client contract)."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from conversions.models import Conversion, Upload
from vectorizer.routing import DEFAULT_TARGET_QUALITY
from vectorizer.tracing import CHOICES, DEFAULT_PARAMS, FLOAT_PARAMS, RANGES, TraceParams

# Form posts from the page carry these; they are not parameters.
IGNORED_KEYS = frozenset({"csrfmiddlewaretoken"})
# The most of a client's value an error message quotes: it must never echo a megabyte back.
QUOTE_LIMIT = 60
MAX_BYTES_LIMIT = 2**31 - 1


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


def trace_param_fields() -> dict[str, serializers.Field]:
    """Return one optional serializer field per vtracer parameter, with its real range."""
    result: dict[str, serializers.Field] = {}
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
        cls = StrictFloatField if name in FLOAT_PARAMS else StrictIntegerField
        message = f"must be a number from {low} to {high}."
        result[name] = cls(
            min_value=low,
            max_value=high,
            required=False,
            default=getattr(DEFAULT_PARAMS, name),
            error_messages={
                "min_value": message,
                "max_value": message,
                "invalid": message,
                "max_string_length": message,
            },
        )
    return result


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "description": "The file_id POST /api/upload returned; any other string answers 404.",
        "example": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    }
)
class FileIdField(serializers.Field):
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


class StrictKeysMixin:
    """Refuse keys the serializer does not know: a misspelled option must not pass silently."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields) - IGNORED_KEYS)
        if unknown:
            name = brief(unknown[0], 40)
            raise serializers.ValidationError(
                {name: [f"is not an option here; known options: {', '.join(self.fields)}."]}
            )
        return attrs


class UploadRequestSerializer(serializers.Serializer):
    file = serializers.FileField(
        error_messages={
            "required": "is required: send the image as multipart form field 'file'.",
            "empty": "is empty; upload a PNG, JPEG, WebP, GIF or BMP image.",
        }
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A form may repeat a field; DRF would silently take the last file.
        getlist = getattr(self.initial_data, "getlist", None)
        count = len(getlist("file")) if getlist else 1
        if count > 1:
            raise serializers.ValidationError(
                {"file": [f"send one file per request; this one has {count}."]}
            )
        return attrs

    def validate_file(self, file: UploadedFile) -> UploadedFile:
        limit = settings.SVGAI_MAX_UPLOAD_BYTES
        if file.size > limit:
            raise serializers.ValidationError(
                f"The file is {file.size} bytes; the limit is {limit}."
            )
        return file


class UploadSerializer(serializers.ModelSerializer):
    success = serializers.SerializerMethodField()
    file_id = serializers.UUIDField(source="id")
    filename = serializers.CharField(source="original_name")

    class Meta:
        model = Upload
        fields = ["success", "file_id", "filename", "width", "height", "format", "has_alpha",
                  "size_bytes", "sha256", "created_at"]  # fmt: skip

    def get_success(self, upload: Upload) -> bool:
        return True


class ConvertRequestSerializer(StrictKeysMixin, serializers.Serializer):
    file_id = FileIdField()
    converter = serializers.ChoiceField(
        choices=["vtracer"],
        default="vtracer",
        error_messages={"invalid_choice": "must be 'vtracer' (the only converter); got {input}."},
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        return {**super().get_fields(), **trace_param_fields()}

    def trace_params(self) -> TraceParams:
        """Return the validated vtracer parameters."""
        names = set(CHOICES) | set(RANGES)
        return TraceParams(**{k: v for k, v in self.validated_data.items() if k in names})


class ConversionSerializer(serializers.ModelSerializer):
    conversion_id = serializers.UUIDField(source="id")
    file_id = serializers.UUIDField(source="upload_id")
    filename = serializers.CharField(source="upload.original_name")
    svg_url = serializers.SerializerMethodField()

    class Meta:
        model = Conversion
        fields = ["conversion_id", "file_id", "filename", "kind", "tier", "requested_tier",
                  "status", "error", "parameters", "preparation", "request", "routing",
                  "svg_bytes", "path_count", "ssim", "predicted_ssim", "prediction", "logo_type",
                  "logo_type_confidence", "fallback_used", "decode_ms", "trace_ms", "measure_ms",
                  "total_ms", "timings", "model_versions", "created_at", "svg_url"]  # fmt: skip

    def get_svg_url(self, conversion: Conversion) -> str | None:
        return f"/api/conversions/{conversion.id}/svg" if conversion.succeeded else None


class ConversionDetailSerializer(ConversionSerializer):
    class Meta(ConversionSerializer.Meta):
        fields = [*ConversionSerializer.Meta.fields, "svg"]


TIER_SCHEMA = {
    "oneOf": [
        {"type": "string", "enum": ["auto"]},
        {"type": "integer", "enum": [1, 2, 3]},
    ],
    "description": '"auto" (routed by target_quality and time_budget) or tier 1, 2 or 3.',
}


@extend_schema_field(TIER_SCHEMA)
class TierField(serializers.Field):
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


class AIConvertRequestSerializer(StrictKeysMixin, serializers.Serializer):
    file_id = FileIdField()
    tier = TierField(required=False, default="auto")
    target_quality = StrictFloatField(
        min_value=0.0,
        max_value=1.0,
        default=DEFAULT_TARGET_QUALITY,
        error_messages={
            "min_value": "must be from 0 to 1 (an SSIM target).",
            "max_value": "must be from 0 to 1 (an SSIM target).",
        },
    )
    time_budget = StrictFloatField(
        min_value=0.05,
        max_value=60.0,
        required=False,
        allow_null=True,
        default=None,
        error_messages={
            "min_value": "must be from 0.05 to 60 seconds.",
            "max_value": "must be from 0.05 to 60 seconds.",
        },
    )
    include_analysis = serializers.BooleanField(default=True)
    max_bytes = StrictIntegerField(
        min_value=256,
        max_value=MAX_BYTES_LIMIT,
        required=False,
        allow_null=True,
        default=None,
        error_messages={
            "min_value": "must be at least 256 bytes.",
            "max_value": f"must be at most {MAX_BYTES_LIMIT} bytes.",
            "invalid": "must be a whole number of bytes, at least 256.",
        },
    )
