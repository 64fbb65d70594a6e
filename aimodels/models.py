"""The model registry's records: one row per trained model file, one active per name."""

from __future__ import annotations

from django.db import models


class ModelVersion(models.Model):
    class Kind(models.TextChoices):
        CLASSIFIER = "classifier", "Logo-type classifier"
        PREDICTOR = "predictor", "Quality predictor"

    name = models.CharField(max_length=64)  # "logo_type", "quality_predictor"
    kind = models.CharField(max_length=16, choices=Kind.choices)
    version = models.CharField(max_length=32)
    file = models.CharField(max_length=255)  # path relative to SVGAI_MODELS_DIR
    sha256 = models.CharField(max_length=64)
    metrics = models.JSONField(default=dict, blank=True)
    trained_on = models.JSONField(default=dict, blank=True)  # dataset, split, sample counts
    active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="modelversion_unique"),
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(active=True), name="modelversion_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version}{' (active)' if self.active else ''}"
