"""AI health policy: model load state, worker pool and recent performance, judged.

The views only serialise what these functions return, so `/api/ai-health`, `/api/model-status`
and a monitoring scrape all apply the same rules.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, TypedDict

import psutil
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

from aimodels import registry
from conversions import batches, reports, services
from conversions.batches.runner import BrokerStatus
from conversions.models import Conversion
from conversions.reports import Performance
from vectorizer.workers import WorkerPool

RECENT = timedelta(hours=24)
# Prediction health: the latest AI conversions within this window, at most this many.
PREDICTION_WINDOW = timedelta(hours=1)
PREDICTION_SAMPLE = 20


class PredictionHealth(TypedDict):
    status: str
    recent: int
    with_problems: int
    last_problem: str | None


class ModelEntry(TypedDict):
    version: str | None
    kind: str
    sha256: str | None
    loaded: bool
    load_time_ms: float
    error: str | None
    metrics: dict[str, object]
    trained_on: dict[str, object]


class MemoryReport(TypedDict):
    current_memory_mb: float
    models_memory_mb: float
    worker_processes: int


class ModelStatus(TypedDict):
    """`model_status()`: /api/model-status's body."""

    models_available: bool
    models: dict[str, ModelEntry]
    memory_report: MemoryReport
    cache_stats: dict[str, int]


class WorkersHealth(TypedDict):
    status: str
    size: int
    restarts: int
    deadline_stops: int
    timeouts: int
    crashes: int


# batch_health() is the broker's status with its stall fields filled in.
BatchHealth = BrokerStatus


# A component of /api/ai-health: a model's state, the workers, the batches or the predictions.
Component = Mapping[str, object]


class AIHealth(TypedDict):
    """`ai_health()`: /api/ai-health's body."""

    overall_status: str
    components: dict[str, Component]
    performance_metrics: Performance | dict[str, object]
    recommendations: list[str]
    timestamp: str


def prediction_health(now: datetime) -> PredictionHealth:
    """Return how the latest AI conversions' model steps fared (their recorded `problems`).

    Failing when the latest one fell back on a failed step, or a quarter of the recent ones did:
    conversions still succeed then, on default settings, so only this shows it.
    """
    routings = list(
        Conversion.objects.filter(kind=Conversion.Kind.AI, created_at__gte=now - PREDICTION_WINDOW)
        .exclude(status=Conversion.Status.RUNNING)
        .order_by("-created_at")
        .values_list("routing", flat=True)[:PREDICTION_SAMPLE]
    )
    problems = [(r or {}).get("problems") or [] for r in routings]
    failing = sum(1 for p in problems if p)
    bad = bool(problems) and (bool(problems[0]) or failing * 4 >= len(problems))
    return {
        "status": "failing" if bad else "healthy",
        "recent": len(problems),
        "with_problems": failing,
        "last_problem": next((p[0] for p in problems if p), None),
    }


def _process_memory_mb() -> float:
    return psutil.Process(os.getpid()).memory_info().rss / 2**20


def _model_memory_mb(model: Any) -> float:
    """Return the bytes held by a model's torch parameters, in MB."""
    net = getattr(model, "net", None)
    if net is None:
        return 0.0
    return float(sum(p.numel() * p.element_size() for p in net.parameters())) / 2**20


def model_status() -> ModelStatus:
    """Return every model's load status plus memory and cache figures."""
    entries = registry.status()
    models: dict[str, ModelEntry] = {
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


# What a caller who is not staff sees of a component: its state, and a model's version (the
# page tells models from other parts by it), and how far batch work stalled, in counts (an id
# would read a batch). Hosts, ports, worker names and errors are staff's.
PUBLIC_COMPONENT_FIELDS = (
    "status",
    "version",
    "configured",
    "stall",
    "stalled_batches",
    "stale_items",
    "last_progress_at",
)


def ai_health(
    *, scope: QuerySet[Conversion] | None = None, details: bool = True
) -> tuple[AIHealth, int]:
    """Return the AI health report and its HTTP status (503 when AI cannot convert).

    `scope`: the conversions the performance figures count (default: all; a caller's own).
    `details`: include hosts, errors, worker names and operator advice (staff only): they map
    the deployment for an attacker and help no one else.
    """
    now = timezone.now()
    try:
        status_body = model_status()
        performance = reports.recent_performance(now - RECENT, scope)
        predictions = prediction_health(now)
    except Exception as exc:  # the health endpoint must answer even when a part is broken
        shown = f"health check failed: {exc}" if details else "health check failed; see the logs"
        body: AIHealth = {
            "overall_status": "error",
            "components": {},
            "performance_metrics": {},
            "recommendations": [shown],
            "timestamp": now.isoformat(),
        }
        return body, 503
    models = status_body["models"]
    components: dict[str, Component] = {
        name: {
            "status": "healthy" if m["loaded"] else "unavailable",
            "version": m["version"],
            "error": m["error"],
        }
        for name, m in models.items()
    }
    pool = services.worker_pool()
    components["workers"] = workers_health(pool)
    components["batches"] = batches_body = batch_health()
    predictor_ok = models["quality_predictor"]["loaded"]
    classifier_ok = models["logo_type"]["loaded"]
    components["predictions"] = predictions
    predictions_ok = predictions["status"] == "healthy"
    overall = "healthy" if predictor_ok and classifier_ok and predictions_ok else "degraded"
    if batches_body["status"] in BATCH_TROUBLE:
        overall = "degraded" if overall == "healthy" else overall
    if not predictor_ok:
        overall = "unhealthy"
    advice = _recommendations(
        predictor_ok, classifier_ok, performance, pool.stops, predictions, details=details
    ) + _batch_recommendations(batches_body, details=details)
    if not details:
        components = {
            name: {k: v for k, v in part.items() if k in PUBLIC_COMPONENT_FIELDS}
            for name, part in components.items()
        }
    return {
        "overall_status": overall,
        "components": components,
        "performance_metrics": performance,
        "recommendations": advice,
        "timestamp": now.isoformat(),
    }, 503 if overall == "unhealthy" else 200


def workers_health(pool: WorkerPool) -> WorkersHealth:
    """Return the worker pool's size and how many workers were replaced, by cause."""
    return {
        "status": "healthy",
        "size": pool.size,
        "restarts": pool.restarts,
        # Traces stopped because their request's time budget ended: asked for, not a fault.
        "deadline_stops": pool.stops["deadline"],
        "timeouts": pool.stops["timeout"],
        "crashes": pool.stops["crash"],
    }


def _recommendations(
    predictor_ok: bool,
    classifier_ok: bool,
    performance: Performance,
    stops: dict[str, int],
    predictions: PredictionHealth,
    *,
    details: bool,
) -> list[str]:
    advice = []
    if predictions["status"] != "healthy":
        cause = f" ({predictions['last_problem']})" if details else ""
        advice.append(
            f"{predictions['with_problems']} of the last {predictions['recent']} AI conversions "
            f"fell back to default settings{cause}: see the logs; "
            "conversions still succeed, with lower quality."
        )
    if not predictor_ok:
        advice.append(
            "The quality predictor is not loaded: AI conversion answers 503. Run "
            "`manage.py train_models` or restore aimodels/weights; /api/convert still works."
        )
    if not classifier_ok:
        advice.append("The logo-type classifier is not loaded: logo_type is empty.")
    for tier, figures in performance["tiers"].items():
        if figures.get("failed"):
            advice.append(
                f"Tier {tier} had {figures['failed']} failed conversions in 24 h: see "
                "/api/conversions/?status=failed."
            )
    if details and (advice_on_stops := _stops_advice(stops)):
        advice.append(advice_on_stops)
    return advice


def _stops_advice(stops: dict[str, int]) -> str:
    """Return what the workers replaced after timeouts and crashes say, or "" when none were.

    A trace stopped at its request's deadline (the client's time budget ran out) replaces its
    worker too, but it is what the client asked for: counted apart, never called a fault.
    """
    faults = [
        f"{count} after {what}"
        for count, what in ((stops["timeout"], "a timeout"), (stops["crash"], "a crash"))
        if count
    ]
    if not faults:
        return ""
    deadlines = stops["deadline"]
    apart = (
        f"; {deadlines} more {'trace was' if deadlines == 1 else 'traces were'} stopped at "
        "their client's time budget, as asked"
        if deadlines
        else ""
    )
    restarted = stops["timeout"] + stops["crash"]
    workers = (
        "1 conversion worker was" if restarted == 1 else f"{restarted} conversion workers were"
    )
    return (
        f"{workers} restarted: {' and '.join(faults)}{apart}. See the logs for the images "
        "that caused them."
    )


# Batch states that need an operator: Redis away, items waiting with no worker to run them, or
# batch work that stopped (the sweepers hand it out again; the state shows until it moves).
BATCH_TROUBLE = ("unreachable", "stalled")


def batch_health() -> BatchHealth:
    """Return the batch runner's state: the broker, its workers and queue, or the local pool."""
    from conversions import tasks  # Celery loads here, not at import of the health views

    body = tasks.broker_status().copy()
    if body["status"] == "no_workers" and body.get("queue_length"):
        body["status"] = "stalled"
        body["stall"] = f"{body['queue_length']} batch items wait and no Celery worker answers"
    stalls = batches.find_stalls()
    # Counts only: a batch's id lets anyone read it, and this body is public.
    body["stalled_batches"] = len(stalls.batches)
    body["stale_items"] = stalls.stale_items
    body["last_progress_at"] = stalls.last_progress.isoformat() if stalls.last_progress else None
    if stalls.stalled:
        body["stall"] = "; ".join(filter(None, [body.get("stall"), stalls.describe()]))
        if body["status"] != "unreachable":  # the broker away says more; the stall shows too
            body["status"] = "stalled"
    return body


def _batch_recommendations(batch_body: BatchHealth, *, details: bool = True) -> list[str]:
    if batch_body["status"] == "unreachable":
        cause = f" ({batch_body.get('error')})" if details else ""
        return [
            f"The batch broker is unreachable{cause}: POST /api/batches answers 503. Check "
            "Redis and CELERY_BROKER_URL."
        ]
    if batch_body["status"] == "stalled":
        advice = f"Batch work stalled: {batch_body['stall']}."
        if batch_body.get("configured") and not batch_body.get("workers"):
            advice += " Start workers with `make worker`."
        else:
            advice += (
                " Lost and orphaned items are handed out again automatically every "
                f"{settings.SVGAI_SWEEP_INTERVAL:g} s; if it lasts, see the worker logs."
            )
        return [advice]
    return []


@dataclasses.dataclass(repr=False)
class BrokerCheck(HealthCheck):
    """/health/: the batch broker and its workers, when CELERY_BROKER_URL is set.

    Fails when Redis is unreachable, when items wait and no worker answers, or when batch
    work stalled (nothing moved for SVGAI_BATCH_STALL_S, or a runner died); no workers and an
    empty queue is only reported (the fields show in the check's name).
    """

    runner: str | None = None
    workers: int | None = None
    queue_length: int | None = None

    def __repr__(self) -> str:  # the report's key: what is known, e.g. runner and workers
        known = {"runner": self.runner, "workers": self.workers, "queue": self.queue_length}
        shown = ", ".join(f"{k}={v!r}" for k, v in known.items() if v is not None)
        return f"BrokerCheck({shown})"

    def run(self) -> None:
        body = batch_health()
        self.runner = "celery" if body["configured"] else "local"
        self.workers = body.get("workers")
        self.queue_length = body.get("queue_length")
        if body["status"] == "unreachable":
            stall = f"; batch work stalled: {body['stall']}" if body.get("stall") else ""
            raise ServiceUnavailable(f"batch broker unreachable: {body.get('error')}{stall}")
        if body["status"] == "stalled":
            raise ServiceUnavailable(f"batch work stalled: {body['stall']}")
