"""What svgai stores: every upload and every conversion of it, failed ones included.

Conversions are benchmark data: quality reports per tier and logo type are queries on this
table, so it keeps parameters, predictions, measurements, timings and model versions.
"""

from __future__ import annotations

import uuid

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
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.width}×{self.height} {self.format})"


class Conversion(models.Model):
    class Kind(models.TextChoices):
        LEGACY = "legacy", "Legacy (vtracer parameters)"
        AI = "ai", "AI (learned settings)"

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    upload = models.ForeignKey(Upload, on_delete=models.PROTECT, related_name="conversions")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.LEGACY)
    tier = models.PositiveSmallIntegerField(null=True, blank=True)  # empty for legacy
    requested_tier = models.CharField(max_length=8, blank=True)  # "auto", "1", ...
    parameters = models.JSONField(default=dict)  # the vtracer keywords actually used
    preparation = models.JSONField(default=dict, blank=True)  # input preparation (AI tiers)
    request = models.JSONField(default=dict, blank=True)  # target_quality, time_budget, ...
    routing = models.JSONField(default=dict, blank=True)
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
