"""Request and response shapes of the batch API (field names are a client contract)."""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from rest_framework import serializers

from conversions.batches.options import DEFAULT_FORMATS, BatchOptions
from conversions.design import DesignOptionsMixin
from conversions.fields import BriefChoiceField, FormListField, comma_items
from conversions.models import Conversion
from conversions.serializers.options import (
    AnyField,
    OutputSizeSerializer,
    StrictKeysMixin,
    anonymous_time_budget,
    output_size,
    trace_param_fields,
)
from conversions.serializers.requests import AIConvertRequestSerializer
from vectorizer.exports import FORMATS
from vectorizer.tracing import CHOICES, RANGES

AI_OPTIONS = ("tier", "target_quality", "time_budget", "max_bytes")
TRACE_PARAMS = frozenset(CHOICES) | frozenset(RANGES)


class FormatsField(FormListField):
    """The formats of each item in the ZIP: `svg,pdf,png` in one field, or the field repeated."""

    def __init__(self, **kwargs: Any) -> None:
        child = BriefChoiceField(
            choices=list(FORMATS),
            error_messages={
                "invalid_choice": f"must be one of {', '.join(FORMATS)}; got {{input}}."
            },
        )
        super().__init__(child=child, allow_empty=False, **kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        texts = [data] if isinstance(data, str) else data
        if isinstance(texts, list | tuple) and all(isinstance(t, str) for t in texts):
            data = comma_items(texts)
        values = super().to_internal_value(data)
        return list(dict.fromkeys(values))  # each format once, in the order asked


class BatchRequestSerializer(DesignOptionsMixin, StrictKeysMixin, serializers.Serializer[None]):
    """Several images or one zip of them, with the options of /api/convert-ai or /api/convert."""

    files = serializers.ListField(
        child=serializers.FileField(
            error_messages={"empty": "is an empty file; send images or a zip of images."}
        ),
        allow_empty=False,
        error_messages={
            "required": "is required: send the images (or one .zip of them) as multipart "
            "form fields named 'files'.",
            "empty": "is empty: send at least one image or a zip of images.",
        },
    )
    converter = serializers.ChoiceField(
        choices=["ai", "vtracer"],
        required=False,
        error_messages={"invalid_choice": "must be 'ai' or 'vtracer'; got {input}."},
    )

    formats = FormatsField(
        default=list(DEFAULT_FORMATS),
        help_text="The files of each image in the batch's ZIP: svg (the source of truth), pdf, "
        "eps, dxf, png; e.g. svg,pdf,png (one field, comma-separated, or the field repeated).",
        error_messages={"empty": "is empty: name at least one of svg, pdf, eps, dxf, png."},
    )
    output_size = OutputSizeSerializer(
        required=False,
        allow_null=True,
        default=None,
        help_text="Written into every SVG (the PDF/EPS page, the PNG's pixels): JSON such as "
        '{"width": 10, "unit": "cm", "dpi": 300}.',
    )

    def get_fields(self) -> dict[str, AnyField]:
        # The AI options come from /api/convert-ai's own fields: one default for each.
        ai = {
            name: copy.deepcopy(AIConvertRequestSerializer._declared_fields[name])
            for name in AI_OPTIONS
        }
        return {**super().get_fields(), **ai, **trace_param_fields()}

    def validate_files(self, files: list[UploadedFile[bytes]]) -> list[UploadedFile[bytes]]:
        total = sum(f.size or 0 for f in files)
        limit = settings.SVGAI_BATCH_MAX_BYTES
        if total > limit:
            raise serializers.ValidationError(
                f"The files are {total} bytes in all; a batch takes at most {limit}. "
                "Split it into several batches."
            )
        return files

    def validate_time_budget(self, value: float | None) -> float | None:
        return anonymous_time_budget(value, self.context.get("request"))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        sent = set(self.initial_data)
        params = sorted(sent & TRACE_PARAMS)
        options = sorted(sent & set(AI_OPTIONS))
        converter = attrs.get("converter") or ("vtracer" if params and not options else "ai")
        # An option at its default changes nothing, whatever the converter: a form that sends
        # every field (Swagger's "Try it out" does) is taken. Any other value would be ignored
        # by this converter, so it is refused rather than dropped.
        changed = [name for name in (*options, *params) if self._changed(name, attrs)]
        foreign = [n for n in changed if (n in TRACE_PARAMS) == (converter == "ai")]
        if converter == "vtracer" and foreign:
            raise serializers.ValidationError(
                {foreign[0]: ["is an AI option; with converter 'vtracer' send vtracer parameters."]}
            )
        if converter == "ai" and foreign:
            raise serializers.ValidationError(
                {foreign[0]: ["is a vtracer parameter; send converter 'vtracer' to use it."]}
            )
        attrs["converter"] = converter
        return attrs

    def _changed(self, name: str, attrs: dict[str, Any]) -> bool:
        """Return whether the option `name` was sent with a value other than its default."""
        default = self.fields[name].default
        return default is serializers.empty or attrs.get(name) != default

    def options(self) -> BatchOptions:
        """Return the validated conversion options."""
        data = self.validated_data
        size = data.get("output_size")
        output: dict[str, Any] = {
            "formats": tuple(data["formats"]),
            "output_size": output_size(size) if size else None,
        }
        if data["converter"] == "vtracer":
            params = {k: v for k, v in data.items() if k in TRACE_PARAMS}
            return BatchOptions(
                kind=Conversion.Kind.LEGACY, params=params, design=self.design_options(), **output
            )
        ai = {k: data[k] for k in AI_OPTIONS}
        return BatchOptions(kind=Conversion.Kind.AI, design=self.design_options(), **ai, **output)


STATUSES = ["queued", "running", "done", "failed", "cancelled"]


class RefusalSerializer(serializers.Serializer[None]):
    name = serializers.CharField(help_text="The file's or zip member's name.")
    reason = serializers.CharField(help_text="Why it is not converted.")
    code = serializers.CharField(
        help_text="The kind of reason, as counted in refused_by_reason (too_many, too_large, "
        "batch_total, quota, bad_image, pixel_budget, unsafe_name ...)."
    )


class RefusedFieldsMixin(serializers.Serializer[None]):
    """The refused files: the first 50 by name, then only counted (a zip may name thousands)."""

    refused = RefusalSerializer(many=True, help_text="The first 50 files or members not taken.")
    refused_total = serializers.IntegerField(help_text="How many files or members were refused.")
    refused_by_reason = serializers.DictField(
        child=serializers.IntegerField(), help_text="How many were refused for each code."
    )


class BatchCreatedSerializer(RefusedFieldsMixin, serializers.Serializer[None]):
    """202 of POST /api/batches: where to follow the batch."""

    success = serializers.BooleanField(help_text="Always true.")
    batch_id = serializers.UUIDField()
    status_url = serializers.CharField()
    download_url = serializers.CharField()
    items = serializers.IntegerField(help_text="How many images will be converted.")


class BatchItemSerializer(serializers.Serializer[None]):
    item_id = serializers.UUIDField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=STATUSES)
    conversion_id = serializers.UUIDField(allow_null=True)
    tier = serializers.IntegerField(allow_null=True)
    ssim = serializers.FloatField(allow_null=True, help_text="Measured colour SSIM.")
    predicted_ssim = serializers.FloatField(allow_null=True)
    problems = serializers.ListField(
        child=serializers.CharField(),
        help_text="As convert-ai's ai_metadata.problems: empty unless a model step failed or "
        "the result is degraded (rescue trace, max_bytes not met, search cut short).",
    )
    bytes = serializers.IntegerField(allow_null=True, help_text="Bytes of the SVG.")
    time = serializers.FloatField(allow_null=True, help_text="Conversion time, seconds.")
    error = serializers.CharField(allow_null=True)
    attempts = serializers.IntegerField(help_text="Runs started (a retry after a lost worker).")
    svg_url = serializers.CharField(allow_null=True)


class CountsSerializer(serializers.Serializer[None]):
    queued = serializers.IntegerField()
    running = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class ThroughputSerializer(serializers.Serializer[None]):
    elapsed_s = serializers.FloatField(allow_null=True, help_text="Since the first item started.")
    items_per_minute = serializers.FloatField(allow_null=True)


class BatchSummarySerializer(RefusedFieldsMixin, serializers.Serializer[None]):
    """A batch's state (built by batches.batch_status)."""

    success = serializers.BooleanField(help_text="Always true.")
    batch_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=STATUSES)
    kind = serializers.ChoiceField(choices=Conversion.Kind.choices)
    options = serializers.DictField(child=serializers.JSONField())
    runner = serializers.ChoiceField(choices=["celery", "local"])
    items_total = serializers.IntegerField()
    counts = CountsSerializer()
    progress = serializers.FloatField(help_text="Percent of items finished.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    throughput = ThroughputSerializer()
    error = serializers.CharField(allow_null=True, help_text="Why the batch could not run.")
    status_url = serializers.CharField()
    download_url = serializers.CharField()


class BatchStatusSerializer(BatchSummarySerializer):
    """GET /api/batches/<id>: the state and every item's result."""

    items = BatchItemSerializer(many=True)


class BatchListSerializer(serializers.Serializer[None]):
    """GET /api/batches: the caller's latest batches, without items."""

    success = serializers.BooleanField(help_text="Always true.")
    count = serializers.IntegerField()
    results = BatchSummarySerializer(many=True)
