"""Monitoring: Prometheus metrics at /metrics and one JSON log line per conversion.

Conversions are observed when their record is saved finished (a post_save receiver), so every
path that records one — views, commands, batches — is counted once, by the same code. The pool
and the models are read at scrape time.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db.models.signals import post_save
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from conversions.errors import allow_methods
from conversions.models import Conversion
from conversions.networks import address_allowed

log = logging.getLogger("svgai.conversions")

CONVERSIONS = Counter(
    "svgai_conversions", "Finished conversions.", ["kind", "tier", "status"], registry=REGISTRY
)
LATENCY = Histogram(
    "svgai_conversion_seconds",
    "Time to convert, from request to record, per tier.",
    ["kind", "tier"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120),
)
REJECTED = Counter(
    "svgai_requests_rejected",
    "Requests refused before any work: throttled, busy, over quota or budget, cross-site.",
    ["reason"],
)
PREDICTION_PROBLEMS = Counter(
    "svgai_prediction_problems",
    "AI conversions that fell back because a model step failed.",
)
ABANDONED = Counter(
    "svgai_conversions_abandoned",
    "Conversions left running by a process that died, marked failed by the sweeper.",
)


def rejected(reason: str) -> None:
    """Count one request refused for `reason`."""
    REJECTED.labels(reason=reason).inc()


def _tier_label(conversion: Conversion) -> str:
    return "legacy" if conversion.kind == Conversion.Kind.LEGACY else str(conversion.tier or "none")


def observe(conversion: Conversion) -> None:
    """Count a finished conversion and write its JSON log line."""
    tier = _tier_label(conversion)
    CONVERSIONS.labels(kind=conversion.kind, tier=tier, status=conversion.status).inc()
    if conversion.total_ms is not None:
        LATENCY.labels(kind=conversion.kind, tier=tier).observe(conversion.total_ms / 1000)
    problems = list((conversion.routing or {}).get("problems", []))
    if problems:
        PREDICTION_PROBLEMS.inc()
    log.info(json.dumps(log_record(conversion, problems), default=str, allow_nan=False))


def log_record(conversion: Conversion, problems: list[str]) -> dict[str, object]:
    """Return the structured log line of one finished conversion."""

    def num(value: Any, digits: int = 1) -> float | None:
        finite = isinstance(value, int | float) and math.isfinite(value)
        return round(value, digits) if finite else None

    return {
        "event": "conversion",
        "id": str(conversion.id),
        "upload": str(conversion.upload_id),
        "kind": conversion.kind,
        "tier": conversion.tier,
        "requested_tier": conversion.requested_tier or None,
        "outcome": conversion.status,
        "error": (conversion.error or "")[:300] or None,
        "fallback_used": conversion.fallback_used,
        "problems": [p[:200] for p in problems],
        "degraded": [d[:200] for d in (conversion.routing or {}).get("degraded", [])],
        "svg_bytes": conversion.svg_bytes,
        "ssim": num(conversion.ssim, 5),
        "total_ms": num(conversion.total_ms),
        "timings_ms": {k: num(v) for k, v in (conversion.timings or {}).items()},
        "owner": f"user:{conversion.owner_id}" if conversion.owner_id else "anonymous",
    }


def _on_save(sender: type[Conversion], instance: Conversion, **kwargs: Any) -> None:
    finished = instance.status in (Conversion.Status.SUCCEEDED, Conversion.Status.FAILED)
    if not finished or getattr(instance, "_svgai_observed", False):
        return
    instance._svgai_observed = True
    try:
        observe(instance)
    except Exception:  # monitoring must never fail a conversion
        logging.getLogger(__name__).exception("could not observe conversion %s", instance.pk)


post_save.connect(_on_save, sender=Conversion, dispatch_uid="svgai-metrics")


class _LiveCollector(Collector):
    """Pool and model state, read at each scrape."""

    def collect(self) -> Iterator[Any]:
        from aimodels import registry
        from conversions import services

        pool = services.worker_pool()
        yield GaugeMetricFamily(
            "svgai_worker_queue_length",
            "Jobs waiting for a conversion worker.",
            pool.queue_length(),
        )
        yield GaugeMetricFamily(
            "svgai_workers_busy", "Conversion workers running a job.", pool.running()
        )
        yield GaugeMetricFamily("svgai_workers", "Conversion worker processes allowed.", pool.size)
        yield CounterMetricFamily(
            "svgai_worker_restarts",
            "Workers replaced, for any cause (svgai_worker_stops counts each).",
            pool.restarts,
        )
        stops = CounterMetricFamily(
            "svgai_worker_stops",
            "Workers replaced: a job stopped at its client's deadline, past its timeout, or a "
            "worker that died.",
            labels=["cause"],
        )
        for cause, count in pool.stops.items():
            stops.add_metric([cause], count)
        yield stops
        yield CounterMetricFamily(
            "svgai_worker_rejected", "Jobs refused because the queue was full.", pool.rejected
        )
        loaded = GaugeMetricFamily(
            "svgai_model_loaded", "1 when the model is loaded.", labels=["model", "version"]
        )
        load_ms = GaugeMetricFamily(
            "svgai_model_load_seconds", "Time the model took to load.", labels=["model"]
        )
        for name, entry in registry.status().items():
            loaded.add_metric([name, entry.version or ""], 1.0 if entry.loaded else 0.0)
            load_ms.add_metric([name], entry.load_time_ms / 1000)
        yield loaded
        yield load_ms


REGISTRY.register(_LiveCollector())


@allow_methods("GET", "HEAD")
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Return the metrics in Prometheus' text format, to a holder of the token or a local network.

    With SVGAI_METRICS_TOKEN set, the scrape sends `Authorization: Bearer <token>`; without it,
    only addresses in SVGAI_METRICS_NETWORKS (default: this machine) may read.
    """
    token = settings.SVGAI_METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        allowed = hmac.compare_digest(sent.encode(), token.encode())
    else:
        allowed = address_allowed(request, settings.SVGAI_METRICS_NETWORKS)
    if not allowed:
        return JsonResponse(
            {
                "success": False,
                "error": "Metrics are private: send 'Authorization: Bearer <SVGAI_METRICS_TOKEN>' "
                "or scrape from an address in SVGAI_METRICS_NETWORKS.",
            },
            status=403,
        )
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
