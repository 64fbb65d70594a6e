"""What svgai stores: every upload and every conversion of it, failed ones included.

Conversions are benchmark data: quality reports per tier and logo type are queries on this
table, so it keeps parameters, predictions, measurements, timings and model versions.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


def upload_path(instance: Upload, filename: str) -> str:
    """Return the storage path: derived from the content hash, never from user input."""
    extension = {"JPEG": "jpg"}.get(instance.format, instance.format.lower() or "bin")
    return f"uploads/{instance.sha256[:2]}/{instance.sha256}.{extension}"


class Upload(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file = models.FileField(upload_to=upload_path, max_length=255)
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=8)
    has_alpha = models.BooleanField(default=False)
    # Who may see it: a user, or (owner empty) the anonymous caller whose client id hashes to
    # `client` (see conversions.permissions); `quota_key` counts its bytes against a quota.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    client = models.CharField(max_length=64, blank=True, db_index=True)
    quota_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["quota_key", "created_at"], name="upload_quota_created")]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.width}×{self.height} {self.format})"


class Conversion(models.Model):
    class Kind(models.TextChoices):
        LEGACY = "legacy", "Legacy (vtracer parameters)"
        AI = "ai", "AI (learned settings)"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"  # recorded before the work starts
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    upload = models.ForeignKey(Upload, on_delete=models.PROTECT, related_name="conversions")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    client = models.CharField(max_length=64, blank=True, db_index=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.LEGACY)
    tier = models.PositiveSmallIntegerField(null=True, blank=True)  # empty for legacy
    requested_tier = models.CharField(max_length=8, blank=True)  # "auto", "1", ...
    parameters = models.JSONField(default=dict)  # the vtracer keywords actually used
    preparation = models.JSONField(default=dict, blank=True)  # input preparation (AI tiers)
    request = models.JSONField(default=dict, blank=True)  # target_quality, time_budget, ...
    routing = models.JSONField(default=dict, blank=True)
    # What the caller asked to download (svg, pdf, eps, dxf, png) and the size written into
    # the SVG ({"width", "height", "unit", "dpi"}; empty: the input's pixel size).
    output_format = models.CharField(max_length=8, default="svg", blank=True)
    output_size = models.JSONField(default=dict, blank=True)
    # The designer's options (vectorizer.designer) and what applying them cost: `design` holds
    # problems, SSIM and bytes before, colours before and after (empty: defaults, nothing done).
    max_colors = models.PositiveSmallIntegerField(null=True, blank=True)
    palette = models.JSONField(default=list, blank=True)  # ["#1f6feb", ...]
    shape_stacking = models.CharField(max_length=8, default="stacked", blank=True)
    group_by = models.CharField(max_length=8, default="none", blank=True)
    min_area_px = models.FloatField(default=0.0)
    design = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    error = models.TextField(blank=True)
    svg = models.TextField(blank=True)
    svg_bytes = models.PositiveIntegerField(null=True, blank=True)
    path_count = models.PositiveIntegerField(null=True, blank=True)
    ssim = models.FloatField(null=True, blank=True)  # measured, RGB, at the input's size
    predicted_ssim = models.FloatField(null=True, blank=True)
    prediction = models.JSONField(default=dict, blank=True)  # every predicted quantity
    features = models.JSONField(default=dict, blank=True)  # image descriptors the AI used
    logo_type = models.CharField(max_length=16, blank=True)
    logo_type_confidence = models.FloatField(null=True, blank=True)
    fallback_used = models.BooleanField(default=False)
    decode_ms = models.FloatField(null=True, blank=True)
    trace_ms = models.FloatField(null=True, blank=True)
    measure_ms = models.FloatField(null=True, blank=True)
    total_ms = models.FloatField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)  # finer steps (features, routing, ...)
    model_versions = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set on the instance by conversions.metrics once its finished record is counted.
    _svgai_observed: bool

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["kind", "tier", "created_at"], name="conv_kind_tier_created"),
            models.Index(fields=["logo_type", "tier"], name="conv_type_tier"),
            models.Index(fields=["status", "created_at"], name="conv_status_created"),
            models.Index(fields=["created_at"], name="conv_created"),
        ]

    def __str__(self) -> str:
        label = f"tier {self.tier}" if self.tier else self.kind
        return f"{self.upload.original_name} · {label} · {self.status}"

    @property
    def succeeded(self) -> bool:
        return self.status == self.Status.SUCCEEDED


class Batch(models.Model):
    """Many images converted with the same options; each image is a BatchItem."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"  # every item failed
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.DONE, Status.FAILED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Who may see it, as for uploads and conversions (conversions.permissions); its items'
    # uploads and conversions get the same owner.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    client = models.CharField(max_length=64, blank=True, db_index=True)
    kind = models.CharField(max_length=8, choices=Conversion.Kind.choices)
    options = models.JSONField(default=dict)  # the AI options or the vtracer parameters
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    item_count = models.PositiveIntegerField(default=0)
    refused = models.JSONField(default=list, blank=True)  # [{"name", "reason"}] not converted
    source = models.CharField(max_length=255, blank=True)  # the zip's name, or "files"
    runner = models.CharField(max_length=8, blank=True)  # "celery" or "local"
    error = models.TextField(blank=True)  # why the batch could not run at all
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "batches"
        indexes = [models.Index(fields=["status", "created_at"], name="batch_status_created")]

    def __str__(self) -> str:
        return f"batch {str(self.id)[:8]} · {self.item_count} items · {self.status}"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED


class BatchItem(models.Model):
    """One image of a batch; its conversion is an ordinary Conversion record."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.DONE, Status.FAILED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=255)  # the member's safe relative name
    upload = models.ForeignKey(Upload, on_delete=models.PROTECT, related_name="batch_items")
    # One record per item, whatever happens to the task that converts it (the unique key).
    conversion = models.OneToOneField(
        Conversion, null=True, blank=True, on_delete=models.SET_NULL, related_name="batch_item"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claim = models.UUIDField(null=True, blank=True)  # the attempt holding the item
    runner = models.CharField(max_length=120, blank=True)  # host and pid of that attempt
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["batch", "position"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "position"], name="batch_item_position")
        ]
        indexes = [models.Index(fields=["batch", "status"], name="batch_item_status")]

    def __str__(self) -> str:
        return f"{self.name} · {self.status}"
