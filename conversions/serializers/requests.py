"""Request shapes of the conversion API: upload, convert, convert-ai and download."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from rest_framework import serializers

from conversions.design import DesignOptionsMixin
from conversions.fields import (
    StrictBooleanField,
    StrictFloatField,
    StrictIntegerField,
)
from conversions.serializers.options import (
    MAX_BYTES_LIMIT,
    AnyField,
    FileIdField,
    OutputOptionsMixin,
    StrictKeysMixin,
    TierField,
    anonymous_time_budget,
    output_format_field,
    output_size,
    size_fields,
    trace_param_fields,
)
from vectorizer.routing import DEFAULT_TARGET_QUALITY
from vectorizer.tracing import CHOICES, RANGES, TraceParams


class UploadRequestSerializer(serializers.Serializer[None]):
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

    def validate_file(self, file: UploadedFile[bytes]) -> UploadedFile[bytes]:
        limit = settings.SVGAI_MAX_UPLOAD_BYTES
        if file.size is not None and file.size > limit:
            raise serializers.ValidationError(
                f"The file is {file.size} bytes; the limit is {limit}."
            )
        return file


class DownloadRequestSerializer(StrictKeysMixin, serializers.Serializer[None]):
    """Query of GET /api/conversions/<id>/download: a format and, optionally, a size."""

    format = output_format_field(help_text="The file format.")

    def get_fields(self) -> dict[str, AnyField]:
        return {**super().get_fields(), **size_fields()}

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # DRF reads an empty query value of an optional field as "not given" (HTML forms'
        # habit); `?unit=` is a value the schema refuses, so it is refused here too.
        empty = sorted(str(name) for name in self.fields if data.get(name, None) == "")
        if empty:
            raise serializers.ValidationError({name: ["must not be empty."] for name in empty})
        values: dict[str, Any] = super().to_internal_value(data)
        return values

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)  # a misspelled `widht=` is refused, not ignored
        attrs["size"] = output_size(attrs)
        return attrs


class ConvertRequestSerializer(
    DesignOptionsMixin, OutputOptionsMixin, StrictKeysMixin, serializers.Serializer[None]
):
    file_id = FileIdField()
    converter = serializers.ChoiceField(
        choices=["vtracer"],
        default="vtracer",
        error_messages={"invalid_choice": "must be 'vtracer' (the only converter); got {input}."},
    )

    def get_fields(self) -> dict[str, AnyField]:
        return {**super().get_fields(), **trace_param_fields()}

    def trace_params(self) -> TraceParams:
        """Return the validated vtracer parameters."""
        names = set(CHOICES) | set(RANGES)
        return TraceParams(**{k: v for k, v in self.validated_data.items() if k in names})


class AIConvertRequestSerializer(
    DesignOptionsMixin, OutputOptionsMixin, StrictKeysMixin, serializers.Serializer[None]
):
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
    include_analysis = StrictBooleanField(default=True)
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

    def validate_time_budget(self, value: float | None) -> float | None:
        return anonymous_time_budget(value, self.context.get("request"))


# -- responses ---------------------------------------------------------------------------------
# Bodies the API answers with. Conversions go through these serializers; the health and report
# bodies are built by conversions.health and conversions.reports, and these describe them.
