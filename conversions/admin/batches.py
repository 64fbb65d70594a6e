"""Admin for batches: each batch with its items and their results, read-only."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import flatten
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from aimodels.admin import pretty_json
from conversions import batches
from conversions.models import Batch, BatchItem


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
