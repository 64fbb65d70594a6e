"""Admin for conversions: read-only history with input and SVG previews side by side."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from aimodels.admin import pretty_json
from conversions import exports
from conversions.admin.previews import (
    DETAIL_PREVIEW_PX,
    LIST_THUMB_PX,
    as_ms,
    as_number,
    input_img,
    svg_img,
)
from conversions.models import Conversion
from vectorizer import exports as formats


class ConversionChangeList(ChangeList):
    """The conversion list: loads the SVG for thumbnails, defers the JSON it never shows."""

    DEFERRED = (
        "parameters",
        "preparation",
        "request",
        "routing",
        "prediction",
        "features",
        "timings",
        "model_versions",
    )

    def get_queryset(self, request: HttpRequest, *args: Any, **kwargs: Any) -> QuerySet[Conversion]:
        return super().get_queryset(request, *args, **kwargs).defer(*self.DEFERRED)


@admin.register(Conversion)
class ConversionAdmin(admin.ModelAdmin[Conversion]):
    list_display = [
        "thumbnails",
        "input_name",
        "kind",
        "tier",
        "status",
        "logo_type",
        "ssim_display",
        "predicted_ssim_display",
        "svg_bytes",
        "path_count",
        "total_ms_display",
        "fallback_used",
        "created_at",
    ]
    list_display_links = ["thumbnails", "input_name"]
    list_filter = ["kind", "tier", "status", "logo_type", "fallback_used", "created_at"]
    search_fields = ["upload__original_name", "upload__sha256", "id", "error"]
    list_select_related = ["upload"]
    # The list thumbnail needs each row's SVG, so the page size bounds how much SVG one page
    # loads and inlines (50 rows × a typical 5–50 KB); the JSON blobs the list never shows are
    # deferred instead.
    list_per_page = 50
    show_full_result_count = False  # no extra COUNT(*) over the whole history per page
    # What was decided and how it came out first; the raw JSON records (thousands of pixels
    # when expanded) stay folded below for whoever needs them.
    fieldsets = [
        (
            "Decisions",
            {
                "fields": [
                    "tier_decision",
                    "routing_reason",
                    "quality_decision",
                    "size_decision",
                    "time_decision",
                ]
            },
        ),
        ("Input and SVG (on white)", {"fields": ["previews", "download"]}),
        (
            "Result",
            {
                "fields": [
                    "id",
                    "upload_link",
                    "kind",
                    "status",
                    "error",
                    "tier",
                    "requested_tier",
                    "owner",
                    "created_at",
                ]
            },
        ),
        (
            "Metrics",
            {
                "fields": [
                    "ssim",
                    "predicted_ssim",
                    "svg_size",
                    "path_count",
                    "logo_type",
                    "logo_type_confidence",
                    "fallback_used",
                ]
            },
        ),
        (
            "Design options",
            {
                "fields": [
                    "max_colors",
                    "palette_display",
                    "shape_stacking",
                    "group_by",
                    "min_area_px",
                    "design_pretty",
                ]
            },
        ),
        (
            "Timings",
            {
                "fields": [
                    "decode_ms_display",
                    "trace_ms_display",
                    "measure_ms_display",
                    "total_ms_display",
                ]
            },
        ),
        (
            "Records (JSON)",
            {
                "classes": ["collapse"],
                "fields": [
                    "timings_pretty",
                    "parameters_pretty",
                    "preparation_pretty",
                    "request_pretty",
                    "output_format",
                    "output_size_pretty",
                    "routing_pretty",
                    "prediction_pretty",
                    "features_pretty",
                    "model_versions_pretty",
                ],
            },
        ),
    ]
    # Every field shown is computed or a record of what happened: all are read-only.
    readonly_fields = flatten_fieldsets(fieldsets)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Conversion]:
        return super().get_queryset(request).select_related("upload")

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return ConversionChangeList

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Conversion | None = None) -> bool:
        return False  # results are measurements: read-only

    def has_delete_permission(self, request: HttpRequest, obj: Conversion | None = None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    # -- list columns --------------------------------------------------------------------------

    @admin.display(description="Input · SVG")
    def thumbnails(self, conversion: Conversion) -> SafeString:
        return format_html(
            '<span style="display:inline-flex;gap:4px;align-items:center">{}{}</span>',
            input_img(conversion.upload_id, conversion.upload.original_name, LIST_THUMB_PX),
            svg_img(conversion, LIST_THUMB_PX),
        )

    @admin.display(description="Input", ordering="upload__original_name")
    def input_name(self, conversion: Conversion) -> str:
        return conversion.upload.original_name

    @admin.display(description="SSIM", ordering="ssim")
    def ssim_display(self, conversion: Conversion) -> str:
        return "—" if conversion.ssim is None else f"{conversion.ssim:.4f}"

    @admin.display(description="Predicted SSIM", ordering="predicted_ssim")
    def predicted_ssim_display(self, conversion: Conversion) -> str:
        return "—" if conversion.predicted_ssim is None else f"{conversion.predicted_ssim:.4f}"

    @admin.display(description="Total", ordering="total_ms")
    def total_ms_display(self, conversion: Conversion) -> str:
        return as_ms(conversion.total_ms)

    # -- detail fields -------------------------------------------------------------------------

    @admin.display(description="Tier")
    def tier_decision(self, conversion: Conversion) -> str:
        if conversion.kind != Conversion.Kind.AI:
            return "none: the caller's own vtracer settings"
        requested = conversion.requested_tier or "auto"
        return f"{conversion.tier if conversion.tier is not None else '—'} (requested {requested})"

    @admin.display(description="Why")
    def routing_reason(self, conversion: Conversion) -> str:
        routing = conversion.routing or {}
        # `degraded` (recorded since issue 19) names the rescue among the rest.
        degraded = routing.get("degraded", [routing.get("rescued", "")])
        reasons = [routing.get("reason", ""), *degraded]
        reasons += [f"problem: {p}" for p in routing.get("problems", [])]
        return "; ".join(r for r in reasons if r) or "—"

    @admin.display(description="SSIM predicted → measured")
    def quality_decision(self, conversion: Conversion) -> str:
        return f"{as_number(conversion.predicted_ssim, 4)} → {as_number(conversion.ssim, 4)}"

    @admin.display(description="Bytes predicted → actual")
    def size_decision(self, conversion: Conversion) -> str:
        predicted = (conversion.prediction or {}).get("bytes")
        return f"{as_number(predicted, 0)} → {as_number(conversion.svg_bytes, 0)}"

    @admin.display(description="Time predicted → total")
    def time_decision(self, conversion: Conversion) -> str:
        predicted = (conversion.prediction or {}).get("time_ms")
        return f"{as_ms(predicted)} → {as_ms(conversion.total_ms)}"

    @admin.display(description="Previews")
    def previews(self, conversion: Conversion) -> SafeString:
        cell = (
            '<figure style="margin:0;padding:8px;background:#fff;border:1px solid #ccc">'
            '{}<figcaption style="text-align:center">{}</figcaption></figure>'
        )
        return format_html(
            '<div style="display:flex;gap:16px;flex-wrap:wrap">{}</div>',
            format_html_join(
                "",
                cell,
                [
                    (
                        input_img(
                            conversion.upload_id, conversion.upload.original_name, DETAIL_PREVIEW_PX
                        ),
                        "Input",
                    ),
                    (svg_img(conversion, DETAIL_PREVIEW_PX), "SVG"),
                ],
            ),
        )

    @admin.display(description="Download")
    def download(self, conversion: Conversion) -> SafeString:
        if not conversion.succeeded:
            return format_html("<span>{}</span>", "No SVG: the conversion failed.")
        urls = {fmt: exports.download_url(conversion, fmt) for fmt in formats.FORMATS}
        urls["svg"] = f"/api/conversions/{conversion.pk}/svg"
        links = format_html_join(
            " · ", '<a href="{}" download>{}</a>', ((u, f.upper()) for f, u in urls.items())
        )
        return format_html("Download {}", links)

    @admin.display(description="Upload")
    def upload_link(self, conversion: Conversion) -> SafeString:
        url = reverse("admin:conversions_upload_change", args=[conversion.upload_id])
        return format_html('<a href="{}">{}</a>', url, str(conversion.upload))

    @admin.display(description="SVG size")
    def svg_size(self, conversion: Conversion) -> str:
        if conversion.svg_bytes is None:
            return "—"
        return f"{conversion.svg_bytes:,} bytes ({conversion.svg_bytes / 1024:.1f} KB)"

    @admin.display(description="Decode")
    def decode_ms_display(self, conversion: Conversion) -> str:
        return as_ms(conversion.decode_ms)

    @admin.display(description="Trace")
    def trace_ms_display(self, conversion: Conversion) -> str:
        return as_ms(conversion.trace_ms)

    @admin.display(description="Measure")
    def measure_ms_display(self, conversion: Conversion) -> str:
        return as_ms(conversion.measure_ms)

    @admin.display(description="Every step (ms)")
    def timings_pretty(self, conversion: Conversion) -> SafeString:
        return pretty_json(conversion.timings)

    @admin.display(description="Parameters")
    def parameters_pretty(self, conversion: Conversion) -> SafeString:
        return pretty_json(conversion.parameters)

    @admin.display(description="Preparation")
    def preparation_pretty(self, conversion: Conversion) -> SafeString:
        return pretty_json(conversion.preparation)

    @admin.display(description="Request")
    def request_pretty(self, conversion: Conversion) -> SafeString:
        return pretty_json(conversion.request)

    @admin.display(description="Output size")
    def output_size_pretty(self, conversion: Conversion) -> SafeString:
        return pretty_json(conversion.output_size)

    @admin.display(description="palette")
    def palette_display(self, conversion: Conversion) -> str:
        return ", ".join(conversion.palette or []) or "—"

    @admin.display(description="design (what the options cost)")
    def design_pretty(self, conversion: Conversion) -> SafeString:
        return pretty_json(conversion.design)

    @admin.display(description="Routing")
    def routing_pretty(self, conversion: Conversion) -> SafeString:
        return pretty_json(conversion.routing)

    @admin.display(description="Prediction")
    def prediction_pretty(self, conversion: Conversion) -> SafeString:
        return pretty_json(conversion.prediction)

    @admin.display(description="Image features")
    def features_pretty(self, conversion: Conversion) -> SafeString:
        return pretty_json(conversion.features)

    @admin.display(description="Model versions")
    def model_versions_pretty(self, conversion: Conversion) -> SafeString:
        return pretty_json(conversion.model_versions)


# -- batches ---------------------------------------------------------------------------------
