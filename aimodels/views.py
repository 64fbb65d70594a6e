"""Model status, AI health and quality reports over HTTP."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import psutil
from django.db.models import Avg, Count, Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from aimodels import registry
from conversions import reports, services
from conversions.models import Conversion

RECENT = timedelta(hours=24)


def _process_memory_mb() -> float:
    return psutil.Process(os.getpid()).memory_info().rss / 2**20


def _model_memory_mb(model: Any) -> float:
    """Return the bytes held by a model's torch parameters, in MB."""
    net = getattr(model, "net", None)
    if net is None:
        return 0.0
    return sum(p.numel() * p.element_size() for p in net.parameters()) / 2**20


def model_status() -> dict[str, Any]:
    """Return every model's load status plus memory and cache figures."""
    entries = registry.status()
    models = {
        name: {
            "version": entry.version or None,
            "kind": entry.kind,
            "sha256": entry.sha256 or None,
            "loaded": entry.loaded,
            "load_time_ms": round(entry.load_time_ms, 1),
            "error": entry.error or None,
            "metrics": entry.metrics,
            "trained_on": entry.trained_on,
        }
        for name, entry in entries.items()
    }
    return {
        "models_available": all(e.loaded for e in entries.values()),
        "models": models,
        "memory_report": {
            "current_memory_mb": round(_process_memory_mb(), 1),
            "models_memory_mb": round(sum(_model_memory_mb(e.model) for e in entries.values()), 3),
            "worker_processes": services.worker_pool().size,
        },
        "cache_stats": services.analysis_cache.stats(),
    }


class ModelStatusView(APIView):
    def get(self, request: Request) -> Response:
        body = model_status()
        code = (
            status.HTTP_200_OK if body["models_available"] else status.HTTP_503_SERVICE_UNAVAILABLE
        )
        return Response(body, status=code)


def recent_performance(since: timezone.datetime) -> dict[str, Any]:
    """Return per-tier counts, mean and max time and failure counts since a moment."""
    rows = (
        Conversion.objects.filter(kind=Conversion.Kind.AI, created_at__gte=since)
        .values("tier", "status")
        .annotate(count=Count("id"), mean_ms=Avg("total_ms"), max_ms=Max("total_ms"))
        .order_by("tier", "status")
    )
    tiers: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = tiers.setdefault(str(row["tier"]), {"count": 0, "failed": 0})
        if row["status"] == Conversion.Status.FAILED:
            entry["failed"] += row["count"]
        else:
            entry.update(
                count=row["count"],
                mean_time_ms=round(row["mean_ms"] or 0.0, 1),
                max_time_ms=round(row["max_ms"] or 0.0, 1),
            )
    return {"since": since.isoformat(), "tiers": tiers}


class AIHealthView(APIView):
    def get(self, request: Request) -> Response:
        now = timezone.now()
        try:
            status_body = model_status()
            performance = recent_performance(now - RECENT)
        except Exception as exc:  # the health endpoint must answer even when a part is broken
            return Response(
                {
                    "overall_status": "error",
                    "components": {},
                    "performance_metrics": {},
                    "recommendations": [f"health check failed: {exc}"],
                    "timestamp": now.isoformat(),
                },
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        models = status_body["models"]
        components = {
            name: {
                "status": "healthy" if m["loaded"] else "unavailable",
                "version": m["version"],
                "error": m["error"],
            }
            for name, m in models.items()
        }
        pool = services.worker_pool()
        components["workers"] = {"status": "healthy", "size": pool.size, "restarts": pool.restarts}
        recommendations = []
        predictor_ok = models["quality_predictor"]["loaded"]
        classifier_ok = models["logo_type"]["loaded"]
        if not predictor_ok:
            recommendations.append(
                "The quality predictor is not loaded: AI conversion answers 503. Run "
                "`manage.py train_models` or restore aimodels/weights; /api/convert still works."
            )
        if not classifier_ok:
            recommendations.append("The logo-type classifier is not loaded: logo_type is empty.")
        for tier, figures in performance["tiers"].items():
            if figures.get("failed"):
                recommendations.append(
                    f"Tier {tier} had {figures['failed']} failed conversions in 24 h: see "
                    "/api/conversions/?status=failed."
                )
        if pool.restarts:
            recommendations.append(
                f"{pool.restarts} conversion workers were restarted (timeouts or crashes)."
            )
        if predictor_ok and classifier_ok:
            overall = "healthy"
        elif predictor_ok:
            overall = "degraded"
        else:
            overall = "unhealthy"
        return Response(
            {
                "overall_status": overall,
                "components": components,
                "performance_metrics": performance,
                "recommendations": recommendations,
                "timestamp": now.isoformat(),
            },
            status=status.HTTP_200_OK
            if overall != "unhealthy"
            else status.HTTP_503_SERVICE_UNAVAILABLE,
        )


class QualityReportView(APIView):
    def get(self, request: Request) -> Response:
        since = None
        raw = request.query_params.get("since")
        if raw:
            try:
                since = parse_datetime(raw)
            except ValueError:  # well formed but impossible, e.g. month 13
                since = None
            if since is None:
                raise exceptions.ValidationError(
                    {"since": ["must be an ISO 8601 date-time, e.g. 2026-11-01T00:00:00Z."]}
                )
        return Response({"success": True, **reports.quality_report(since=since)})
