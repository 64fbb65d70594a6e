"""Admin for uploads and conversions: read-only history with input and SVG previews side by side.

Conversions are benchmark data, so nobody edits them here; superusers may delete them. The input
image is served by a small staff-only admin view (the media folder is not public); the SVG is
inlined as a base64 data: URI in an <img>, where it cannot run script (it is sanitised anyway).
"""

from __future__ import annotations

import base64
import io
import mimetypes
import uuid
from typing import TYPE_CHECKING, Any, TypedDict

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import flatten, flatten_fieldsets
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from PIL import Image

from aimodels.admin import pretty_json
from conversions import batches, exports
from conversions.models import Batch, BatchItem, Conversion, Upload
from vectorizer import exports as formats
from vectorizer.images import ImageError, decode_image

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    class _ConversionCount(TypedDict):
        _conversion_count: int  # annotated by UploadAdmin.get_queryset


LIST_THUMB_PX = 64
DETAIL_PREVIEW_PX = 360
# A thumbnail inlines the whole SVG; above this size the list shows a note instead, so one
# pathological trace cannot turn the changelist into a many-megabyte page.
MAX_INLINE_SVG_BYTES = 512 * 1024
IMAGE_TYPES = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
}
THUMB_SIZES = (LIST_THUMB_PX, DETAIL_PREVIEW_PX)


def _svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _image_url(upload_id: object, size: int | None = None) -> str:
    url = reverse("admin:conversions_upload_image", args=[upload_id])
    return f"{url}?size={size}" if size else url


def _input_img(upload_id: object, name: str, size: int) -> SafeString:
    return format_html(
        '<img class="svgai-thumb" src="{}" alt="Input: {}" loading="lazy" '
        'style="max-width:{}px;max-height:{}px;background:#fff;border:1px solid #ccc">',
        _image_url(upload_id, size),
        name,
        size,
        size,
    )


def _svg_img(conversion: Conversion, size: int) -> SafeString:
    if not conversion.succeeded or not conversion.svg:
        return format_html('<span title="{}">no SVG</span>', conversion.error[:300])
    if len(conversion.svg) > MAX_INLINE_SVG_BYTES and size <= LIST_THUMB_PX:
        return format_html("<span>SVG too large to preview ({} bytes)</span>", len(conversion.svg))
    return format_html(
        '<img class="svgai-thumb" src="{}" alt="SVG of {}" '
        'style="max-width:{}px;max-height:{}px;background:#fff;border:1px solid #ccc">',
        _svg_data_uri(conversion.svg),
        conversion.upload.original_name,
        size,
        size,
    )


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f} ms"


def _number(value: float | None, decimals: int) -> str:
    return "—" if value is None else f"{value:,.{decimals}f}"


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin[Upload]):
    list_display = [
        "thumbnail",
        "original_name",
        "format",
        "dimensions",
        "size_bytes",
        "has_alpha",
        "conversion_count",
        "created_at",
    ]
    list_display_links = ["thumbnail", "original_name"]
    list_filter = ["format", "has_alpha", "created_at"]
    search_fields = ["original_name", "sha256", "id", "owner__username"]
    list_per_page = 50
    readonly_fields = ["preview", "conversions_link"]
    fields = [
        "preview",
        "id",
        "original_name",
        "file",
        "sha256",
        "size_bytes",
        "width",
        "height",
        "format",
        "has_alpha",
        "owner",
        "created_at",
        "conversions_link",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Upload]:
        return super().get_queryset(request).annotate(_conversion_count=Count("conversions"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # uploads arrive through the API, validated and hashed

    def has_change_permission(self, request: HttpRequest, obj: Upload | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Upload | None = None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def get_urls(self) -> list[URLPattern]:
        image = path(
            "<uuid:pk>/image/",
            self.admin_site.admin_view(self.image_view),
            name="conversions_upload_image",
        )
        return [image, *super().get_urls()]

    def image_view(self, request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
        """Serve the stored input, or a PNG thumbnail of it when ?size= is one we use."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        upload = Upload.objects.filter(pk=pk).only("file", "format").first()
        if upload is None or not upload.file.name:
            raise Http404("No such upload.")
        try:
            with upload.file.open("rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise Http404("The stored file is missing.") from exc
        size = request.GET.get("size", "")
        if size.isdigit() and int(size) in THUMB_SIZES:
            data, content_type = _thumbnail_png(data, int(size))
        else:
            content_type = IMAGE_TYPES.get(upload.format) or (
                mimetypes.guess_type(upload.file.name)[0] or "application/octet-stream"
            )
        response = HttpResponse(data, content_type=content_type)
        # Uploads are stored under their content hash, so a URL's bytes never change.
        response["Cache-Control"] = "private, max-age=86400"
        response["Content-Security-Policy"] = "default-src 'none'"
        return response

    @admin.display(description="Input")
    def thumbnail(self, upload: Upload) -> SafeString:
        return _input_img(upload.pk, upload.original_name, LIST_THUMB_PX)

    @admin.display(description="Preview")
    def preview(self, upload: Upload) -> SafeString:
        return format_html(
            '<a href="{}">{}</a>',
            _image_url(upload.pk),
            _input_img(upload.pk, upload.original_name, DETAIL_PREVIEW_PX),
        )

    @admin.display(description="Size (px)")
    def dimensions(self, upload: Upload) -> str:
        return f"{upload.width}×{upload.height}"

    @admin.display(description="Conversions", ordering="_conversion_count")
    def conversion_count(self, upload: WithAnnotations[Upload, _ConversionCount]) -> int:
        return upload._conversion_count

    @admin.display(description="Conversions")
    def conversions_link(self, upload: Upload) -> SafeString:
        url = reverse("admin:conversions_conversion_changelist")
        return format_html(
            '<a href="{}?upload__id__exact={}">{} conversion(s)</a>',
            url,
            upload.pk,
            upload.conversions.count(),
        )


def _thumbnail_png(data: bytes, size: int) -> tuple[bytes, str]:
    try:
        image = decode_image(data, max_pixels=settings.SVGAI_MAX_PIXELS)
    except ImageError as exc:
        raise Http404(str(exc)) from exc
    picture = Image.fromarray(image.rgba)
    picture.thumbnail((size, size), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue(), "image/png"


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
            _input_img(conversion.upload_id, conversion.upload.original_name, LIST_THUMB_PX),
            _svg_img(conversion, LIST_THUMB_PX),
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
        return _ms(conversion.total_ms)

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
        return f"{_number(conversion.predicted_ssim, 4)} → {_number(conversion.ssim, 4)}"

    @admin.display(description="Bytes predicted → actual")
    def size_decision(self, conversion: Conversion) -> str:
        predicted = (conversion.prediction or {}).get("bytes")
        return f"{_number(predicted, 0)} → {_number(conversion.svg_bytes, 0)}"

    @admin.display(description="Time predicted → total")
    def time_decision(self, conversion: Conversion) -> str:
        predicted = (conversion.prediction or {}).get("time_ms")
        return f"{_ms(predicted)} → {_ms(conversion.total_ms)}"

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
                        _input_img(
                            conversion.upload_id, conversion.upload.original_name, DETAIL_PREVIEW_PX
                        ),
                        "Input",
                    ),
                    (_svg_img(conversion, DETAIL_PREVIEW_PX), "SVG"),
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
        return _ms(conversion.decode_ms)

    @admin.display(description="Trace")
    def trace_ms_display(self, conversion: Conversion) -> str:
        return _ms(conversion.trace_ms)

    @admin.display(description="Measure")
    def measure_ms_display(self, conversion: Conversion) -> str:
        return _ms(conversion.measure_ms)

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


class BatchItemInline(admin.TabularInline[BatchItem, Batch]):
    """A batch's items with their results, in order (read-only: they are measurements)."""

    model = BatchItem
    fields = ["position", "name", "status", "attempts", "conversion_link", "tier", "ssim",
              "svg_bytes", "error", "runner", "started_at", "finished_at"]  # fmt: skip
    readonly_fields = flatten(fields)
    extra = 0
    can_delete = False
    ordering = ["position"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[BatchItem]:
        return super().get_queryset(request).select_related("conversion").defer("conversion__svg")

    def has_add_permission(self, request: HttpRequest, obj: Batch | None = None) -> bool:
        return False

    @admin.display(description="Conversion")
    def conversion_link(self, item: BatchItem) -> SafeString:
        if item.conversion_id is None:
            return format_html("<span>{}</span>", "—")
        url = reverse("admin:conversions_conversion_change", args=[item.conversion_id])
        return format_html('<a href="{}">{}</a>', url, str(item.conversion_id)[:8])

    @admin.display(description="Tier")
    def tier(self, item: BatchItem) -> str:
        return str(item.conversion.tier or "—") if item.conversion else "—"

    @admin.display(description="SSIM")
    def ssim(self, item: BatchItem) -> str:
        value = item.conversion.ssim if item.conversion else None
        return "—" if value is None else f"{value:.4f}"

    @admin.display(description="Bytes")
    def svg_bytes(self, item: BatchItem) -> str:
        value = item.conversion.svg_bytes if item.conversion else None
        return "—" if value is None else f"{value:,}"


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin[Batch]):
    """Batches with their progress; the items inline. Requeue or cancel from the list."""

    list_display = ["short_id", "status", "progress", "item_count", "kind", "runner",
                    "source", "created_at", "finished_at", "rate"]  # fmt: skip
    list_filter = ["status", "kind", "runner", "created_at"]
    search_fields = ["id", "source", "items__name"]
    list_per_page = 50
    fields = ["id", "status", "progress", "kind", "options_pretty", "runner", "source",
              "item_count", "refused_pretty", "error", "owner", "client", "created_at",
              "started_at", "finished_at", "rate", "download"]  # fmt: skip
    readonly_fields = flatten(fields)
    inlines = [BatchItemInline]
    actions = ["requeue_items", "cancel_batches"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Batch]:
        finished = Q(items__status__in=BatchItem.FINISHED)
        return (
            super()
            .get_queryset(request)
            .annotate(
                _finished=Count("items", filter=finished),
                _failed=Count("items", filter=Q(items__status=BatchItem.Status.FAILED)),
            )
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # batches arrive through the API or convert_folder

    def has_change_permission(self, request: HttpRequest, obj: Batch | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Batch | None = None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    @admin.display(description="Batch", ordering="created_at")
    def short_id(self, batch: Batch) -> str:
        return str(batch.pk)[:8]

    @admin.display(description="Progress")
    def progress(self, batch: Batch) -> SafeString:
        finished = getattr(batch, "_finished", None)
        failed = getattr(batch, "_failed", None)
        if finished is None:  # the detail page: count here
            counts = batches.counts(batch)
            finished = sum(counts[s] for s in BatchItem.FINISHED)
            failed = counts[BatchItem.Status.FAILED]
        total = batch.item_count or 1
        return format_html(
            '<progress value="{}" max="{}"></progress> {}/{} ({}%){}',
            finished,
            total,
            finished,
            batch.item_count,
            round(100 * finished / total),
            format_html(", {} failed", failed) if failed else "",
        )

    @admin.display(description="Logos/min")
    def rate(self, batch: Batch) -> str:
        value = batches.throughput(batch, batches.counts(batch))["items_per_minute"]
        return "—" if value is None else f"{value:.1f}"

    @admin.display(description="Options")
    def options_pretty(self, batch: Batch) -> SafeString:
        return pretty_json(batch.options)

    @admin.display(description="Refused files")
    def refused_pretty(self, batch: Batch) -> SafeString:
        return pretty_json(batch.refused)

    @admin.display(description="Download")
    def download(self, batch: Batch) -> SafeString:
        url = f"/api/batches/{batch.pk}/download"
        return format_html('<a href="{}" download>SVGs and report.csv (ZIP)</a>', url)

    @admin.action(description="Requeue unfinished items (a finished item is never redone)")
    def requeue_items(self, request: HttpRequest, queryset: QuerySet[Batch]) -> None:
        count = sum(batches.requeue(batch) for batch in queryset if not batch.finished)
        self.message_user(request, f"{count} item(s) handed to the runners again.")

    @admin.action(description="Cancel (queued items stop; running ones finish)")
    def cancel_batches(self, request: HttpRequest, queryset: QuerySet[Batch]) -> None:
        count = sum(batches.cancel_batch(batch) for batch in queryset)
        self.message_user(request, f"{count} batch(es) cancelled.")
