"""Response shapes of the conversion API: uploads, conversion records and their AI metadata."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from conversions import exports
from conversions.design import problems as design_problems
from conversions.models import Conversion, Upload
from conversions.outcomes import problems_of


class UploadSerializer(serializers.ModelSerializer[Upload]):
    success = serializers.SerializerMethodField()
    file_id = serializers.UUIDField(source="id")
    filename = serializers.CharField(source="original_name")

    class Meta:
        model = Upload
        fields = ["success", "file_id", "filename", "width", "height", "format", "has_alpha",
                  "size_bytes", "sha256", "created_at"]  # fmt: skip

    def get_success(self, upload: Upload) -> bool:
        return True


class ConversionSerializer(serializers.ModelSerializer[Conversion]):
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
                  "total_ms", "timings", "model_versions", "output_format", "output_size",
                  "max_colors", "palette", "shape_stacking", "group_by", "min_area_px", "design",
                  "created_at", "svg_url"]  # fmt: skip

    def get_svg_url(self, conversion: Conversion) -> str | None:
        return f"/api/conversions/{conversion.id}/svg" if conversion.succeeded else None


class ConversionDetailSerializer(ConversionSerializer):
    class Meta(ConversionSerializer.Meta):
        fields = [*ConversionSerializer.Meta.fields, "svg"]


class ConvertResponseSerializer(serializers.Serializer[Conversion]):
    """200 of /api/convert: the SVG and its measurements."""

    success = serializers.BooleanField(source="succeeded", help_text="Always true.")
    svg = serializers.CharField(help_text="The sanitised SVG markup.")
    ssim = serializers.FloatField(help_text="Colour SSIM of the SVG against the input, 0–1.")
    processing_time = serializers.SerializerMethodField(help_text="Seconds, server side.")
    file_size = serializers.IntegerField(source="svg_bytes", help_text="Bytes of `svg`.")
    path_count = serializers.IntegerField()
    conversion_id = serializers.UUIDField(source="id")
    download_url = serializers.SerializerMethodField(
        help_text="GET it for the file in the requested output_format (default svg)."
    )
    design = serializers.JSONField(
        help_text="What the design options cost: problems, ssim_before, svg_bytes_before, "
        "colors_before, colors_after (empty when none were asked)."
    )

    def get_download_url(self, conversion: Conversion) -> str:
        return exports.download_url(conversion)

    @extend_schema_field(OpenApiTypes.DOUBLE)
    def get_processing_time(self, conversion: Conversion) -> float:
        return round((conversion.total_ms or 0.0) / 1000, 4)


class RoutingSerializer(serializers.Serializer[None]):
    reason = serializers.CharField(
        help_text="Why this tier was used; the predicted SSIM it quotes is quality_prediction."
    )
    estimates = serializers.DictField(
        child=serializers.JSONField(),
        help_text='Per tier ("1", "2", "3"): predicted quality, time and bytes.',
    )
    rescued = serializers.CharField(
        required=False,
        help_text="Only when the budget stopped (or left no time for) every trace: why the rescue "
        "trace (potrace on a copy reduced to 256 px) was returned instead of the tier's.",
    )


class AttemptSerializer(serializers.Serializer[None]):
    candidate = serializers.DictField(child=serializers.JSONField())
    proxy = serializers.FloatField(allow_null=True)
    ssim = serializers.FloatField(allow_null=True)
    svg_bytes = serializers.IntegerField(allow_null=True)


class AnalysisSerializer(serializers.Serializer[Conversion]):
    """The image features the models saw and every candidate traced (from the record)."""

    features = serializers.DictField(child=serializers.FloatField(allow_null=True))
    attempts = AttemptSerializer(many=True)

    def to_representation(self, conversion: Conversion) -> dict[str, Any]:
        return {
            "features": conversion.features,
            "attempts": conversion.routing.get("attempts", []),
        }


class AIMetadataSerializer(serializers.Serializer[Conversion]):
    """What the AI decided and measured for one conversion."""

    tier_used = serializers.IntegerField(source="tier")
    tier_requested = serializers.CharField(source="requested_tier", help_text='"auto" or "1"–"3".')
    routing = serializers.SerializerMethodField()
    quality_prediction = serializers.FloatField(
        source="predicted_ssim",
        allow_null=True,
        help_text="The SSIM predicted for the SVG returned (routing.reason quotes the same).",
    )
    predicted = serializers.DictField(
        source="prediction",
        child=serializers.FloatField(allow_null=True),
        help_text="Every quantity predicted for the candidate returned: ssim (as "
        "quality_prediction), fidelity, bytes, time_ms.",
    )
    actual_ssim = serializers.FloatField(source="ssim")
    logo_type = serializers.SerializerMethodField()
    confidence = serializers.FloatField(source="logo_type_confidence", allow_null=True)
    parameters = serializers.DictField(
        child=serializers.JSONField(),
        help_text="The tracer's settings that made the SVG: vtracer's parameters, or for "
        'potrace per colour layer (`"tracer": "layers"`) potrace\'s sigma, alphamax, '
        "opttolerance and turdsize in input px.",
    )
    preparation = serializers.DictField(
        child=serializers.JSONField(), help_text="Upscale, palette snapping and the candidate."
    )
    model_versions = serializers.DictField(child=serializers.CharField())
    fallback_used = serializers.BooleanField()
    problems = serializers.SerializerMethodField(
        help_text="Empty when the result is the tier's own: else a sentence per model step "
        "that failed and per degradation (rescue trace, max_bytes not met, search cut short)."
    )
    timings = serializers.SerializerMethodField()
    analysis = AnalysisSerializer(
        source="*",
        required=False,
        help_text="Only with include_analysis (the default): features and every attempt.",
    )

    @extend_schema_field(RoutingSerializer)
    def get_routing(self, conversion: Conversion) -> dict[str, Any]:
        routing = conversion.routing
        shown = {"reason": routing.get("reason", ""), "estimates": routing.get("estimates", {})}
        if routing.get("rescued"):
            shown["rescued"] = routing["rescued"]
        return shown

    @extend_schema_field({"type": "string", "nullable": True})
    def get_logo_type(self, conversion: Conversion) -> str | None:
        return conversion.logo_type or None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_problems(self, conversion: Conversion) -> list[str]:
        return problems_of(conversion) + design_problems(conversion)

    @extend_schema_field(serializers.DictField(child=serializers.FloatField()))
    def get_timings(self, conversion: Conversion) -> dict[str, float]:
        timings = {k: round(v, 1) for k, v in conversion.timings.items() if v is not None}
        return {**timings, "total": round(conversion.total_ms or 0.0, 1)}

    def to_representation(self, instance: Conversion) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not self.context.get("include_analysis", True):
            del data["analysis"]
        return data


class AIConvertResponseSerializer(ConvertResponseSerializer):
    """200 of /api/convert-ai: the SVG, its measurements and what the AI decided."""

    ai_metadata = AIMetadataSerializer(source="*")
