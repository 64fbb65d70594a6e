"""Request and response shapes of the conversion API (field names are a client contract)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from rest_framework import serializers

from conversions.models import Conversion, Upload
from vectorizer.tracing import CHOICES, DEFAULT_PARAMS, FLOAT_PARAMS, RANGES, TraceParams

# Form posts from the page carry these; they are not parameters.
IGNORED_KEYS = frozenset({"csrfmiddlewaretoken"})


def trace_param_fields() -> dict[str, serializers.Field]:
    """Return one optional serializer field per vtracer parameter, with its real range."""
    result: dict[str, serializers.Field] = {}
    for name, allowed in CHOICES.items():
        result[name] = serializers.ChoiceField(
            choices=allowed,
            required=False,
            default=getattr(DEFAULT_PARAMS, name),
            error_messages={
                "invalid_choice": f"must be one of {', '.join(allowed)}; got {{input}}."
            },
        )
    for name, (low, high) in RANGES.items():
        cls = serializers.FloatField if name in FLOAT_PARAMS else serializers.IntegerField
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


class FileIdField(serializers.UUIDField):
    default_error_messages = {
        "invalid": "must be the file_id returned by POST /api/upload (a UUID).",
        "required": "is required: upload the image with POST /api/upload and pass its file_id.",
    }


class StrictKeysMixin:
    """Refuse keys the serializer does not know: a misspelled option must not pass silently."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields) - IGNORED_KEYS)
        if unknown:
            raise serializers.ValidationError(
                {unknown[0]: [f"is not an option here; known options: {', '.join(self.fields)}."]}
            )
        return attrs


class UploadRequestSerializer(serializers.Serializer):
    file = serializers.FileField(
        error_messages={
            "required": "is required: send the image as multipart form field 'file'.",
            "empty": "is empty; upload a PNG, JPEG, WebP, GIF or BMP image.",
        }
    )

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


class TierField(serializers.Field):
    """'auto' or 1, 2, 3 (numbers may come as strings from forms)."""

    default_error_messages = {"invalid": 'must be "auto", 1, 2 or 3; got {input!r}.'}

    def to_internal_value(self, data: Any) -> int | str:
        if isinstance(data, str) and data.strip().lower() == "auto":
            return "auto"
        if isinstance(data, bool):
            self.fail("invalid", input=data)
        try:
            value = int(str(data).strip())
        except (TypeError, ValueError):
            self.fail("invalid", input=data)
        if value not in (1, 2, 3) or str(data).strip() not in {"1", "2", "3"}:
            self.fail("invalid", input=data)
        return value

    def to_representation(self, value: int | str) -> int | str:
        return value


class AIConvertRequestSerializer(StrictKeysMixin, serializers.Serializer):
    file_id = FileIdField()
    tier = TierField(required=False, default="auto")
    target_quality = serializers.FloatField(
        min_value=0.0,
        max_value=1.0,
        default=0.9,
        error_messages={
            "min_value": "must be from 0 to 1 (an SSIM target).",
            "max_value": "must be from 0 to 1 (an SSIM target).",
        },
    )
    time_budget = serializers.FloatField(
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
    max_bytes = serializers.IntegerField(
        min_value=256,
        required=False,
        allow_null=True,
        default=None,
        error_messages={"min_value": "must be at least 256 bytes."},
    )
