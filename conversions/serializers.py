"""Request and response shapes of the conversion API (field names are a client contract)."""

from __future__ import annotations

import json
import uuid
from typing import Any, TypeAlias

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers

from conversions import exports, limits
from conversions.design import DesignOptionsMixin
from conversions.design import problems as design_problems
from conversions.fields import (
    BriefChoiceField,
    StrictBooleanField,
    StrictFloatField,
    StrictIntegerField,
    brief,
)
from conversions.models import Conversion, Upload
from conversions.outcomes import problems_of
from vectorizer import exports as formats
from vectorizer.routing import DEFAULT_TARGET_QUALITY
from vectorizer.tracing import CHOICES, DEFAULT_PARAMS, FLOAT_PARAMS, RANGES, TraceParams

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


@extend_schema_field({"type": "boolean", "enum": [False], "example": False})
class FalseField(serializers.BooleanField):
    """`success` of an error body: documented as only ever false, so Swagger's examples and a
    client generator do not show an error that says `"success": true`."""


class ErrorSerializer(serializers.Serializer[None]):
    """Every error: one sentence in `error`; each field's messages in `errors` when a field is
    at fault (400)."""

    success = FalseField(help_text="Always false.")
    error = serializers.CharField(help_text="What is wrong and how to fix it.")

    def get_fields(self) -> dict[str, AnyField]:
        # `errors` is also Serializer's own property, so the field is added here, not declared.
        fields = super().get_fields()
        fields["errors"] = serializers.DictField(
            child=serializers.JSONField(),
            required=False,
            help_text="Per field (or dotted path): a list of messages.",
        )
        return fields


class UnavailableErrorSerializer(ErrorSerializer):
    """503: the server cannot convert now (busy, or the AI models are not loaded)."""

    fallback_suggestion = serializers.CharField(
        required=False, help_text="What to call instead while the AI models are not loaded."
    )


class ConversionFailedSerializer(serializers.Serializer[Conversion]):
    """422: the image could not be converted; the failed conversion is stored too."""

    success = FalseField(source="succeeded", help_text="Always false.")
    error = serializers.CharField()
    conversion_id = serializers.UUIDField(source="id")


ERROR_DESCRIPTIONS = {
    400: (ErrorSerializer, "Malformed request or an invalid option; `errors` names the field."),
    401: (ErrorSerializer, "Credentials required (SVGAI_REQUIRE_AUTH) or invalid."),
    403: (ErrorSerializer, "Not allowed: another client's record, or a cross-site request."),
    404: (ErrorSerializer, "No such file, record or page."),
    413: (ErrorSerializer, "Too large: the request body, or the image for this tier."),
    415: (ErrorSerializer, "Unsupported Content-Type."),
    422: (ConversionFailedSerializer, "The image could not be converted (stored as failed)."),
    429: (ErrorSerializer, "Too many requests or over the upload quota; see Retry-After."),
    503: (UnavailableErrorSerializer, "Busy (see Retry-After) or the AI models are not loaded."),
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """Return the documented error bodies for these HTTP status codes."""
    return {
        code: OpenApiResponse(ERROR_DESCRIPTIONS[code][0], description=ERROR_DESCRIPTIONS[code][1])
        for code in codes
    }


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
        help_text="Only when the budget stopped every trace: why the rescue trace (potrace at "
        "the input's own size) was returned instead of the tier's.",
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


class ModelEntrySerializer(serializers.Serializer[None]):
    version = serializers.CharField(allow_null=True)
    kind = serializers.CharField()
    sha256 = serializers.CharField(allow_null=True)
    loaded = serializers.BooleanField()
    load_time_ms = serializers.FloatField()
    error = serializers.CharField(allow_null=True)
    metrics = serializers.DictField(child=serializers.JSONField())
    trained_on = serializers.DictField(child=serializers.JSONField())


class ModelStatusSerializer(serializers.Serializer[None]):
    """/api/model-status (503 with the same body while a model is missing)."""

    models_available = serializers.BooleanField()
    models = serializers.DictField(child=ModelEntrySerializer())
    memory_report = serializers.DictField(child=serializers.JSONField())
    cache_stats = serializers.DictField(child=serializers.IntegerField())


class AIHealthSerializer(serializers.Serializer[None]):
    """/api/ai-health (503 with the same body when AI conversion cannot run)."""

    overall_status = serializers.CharField(help_text="healthy, degraded, unhealthy or error.")
    components = serializers.DictField(child=serializers.DictField(child=serializers.JSONField()))
    performance_metrics = serializers.DictField(child=serializers.JSONField())
    recommendations = serializers.ListField(child=serializers.CharField())
    timestamp = serializers.DateTimeField()


class QualityRowSerializer(serializers.Serializer[None]):
    tier = serializers.IntegerField(allow_null=True)
    logo_type = serializers.CharField()
    count = serializers.IntegerField()
    mean_predicted_ssim = serializers.FloatField(allow_null=True)
    mean_measured_ssim = serializers.FloatField(allow_null=True)
    prediction_mae = serializers.FloatField(allow_null=True)
    mean_time_ms = serializers.FloatField(allow_null=True)
    mean_bytes = serializers.FloatField(allow_null=True)
    with_legacy = serializers.IntegerField()
    mean_ssim_gain_vs_legacy = serializers.FloatField(allow_null=True)


class LegacyQualitySerializer(serializers.Serializer[None]):
    count = serializers.IntegerField()
    mean_measured_ssim = serializers.FloatField(allow_null=True)
    mean_time_ms = serializers.FloatField(allow_null=True)
    mean_bytes = serializers.FloatField(allow_null=True)


class QualityReportSerializer(serializers.Serializer[None]):
    """/api/reports/quality: AI quality per tier and logo type, legacy baselines, failures."""

    success = serializers.BooleanField()
    since = serializers.DateTimeField(allow_null=True)
    ai = QualityRowSerializer(many=True)
    legacy = LegacyQualitySerializer()
    failures = serializers.DictField(child=serializers.IntegerField(), help_text="Per kind.")
