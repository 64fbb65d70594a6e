"""Response shapes of the reports: model status, AI health and the quality report."""

from __future__ import annotations

from rest_framework import serializers


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
