"""The conversion pipeline as Django sees it: store uploads, run conversions, record results.

Views, management commands and (later) Celery tasks call these functions; they call the pure
engine in worker processes and store every outcome, failures included (history is benchmark
data).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile

from aimodels import registry
from aimodels.ml.inputs import predictor_inputs
from conversions.models import Conversion, Upload
from vectorizer import pipeline, routing, tiers
from vectorizer.candidates import Candidate
from vectorizer.features import extract_features
from vectorizer.images import DecodedImage, ImageInfo, decode_image, probe_image
from vectorizer.pipeline import ConversionResult
from vectorizer.protocols import QualityModel
from vectorizer.tiers import Attempt
from vectorizer.tracing import TraceParams
from vectorizer.workers import WorkerBusy, WorkerError, WorkerPool, shared_pool

logger = logging.getLogger(__name__)


def worker_pool() -> WorkerPool:
    """Return this process's conversion worker pool."""
    return shared_pool(
        settings.SVGAI_WORKERS,
        settings.SVGAI_WORKER_MEMORY_MB,
        max_queue=settings.SVGAI_QUEUE_MAX,
        queue_wait=settings.SVGAI_QUEUE_WAIT,
        expected_wait=settings.SVGAI_QUEUE_EXPECTED_WAIT or None,
        express=settings.SVGAI_EXPRESS_WORKERS,
        preload=("vectorizer.pipeline",),
    )


def store_upload(
    *, data: bytes, filename: str, owner: dict[str, Any] | None = None
) -> tuple[Upload, DecodedImage]:
    """Validate an uploaded image and store it; raise ImageError for anything unusable.

    `owner`: the owner, client and quota_key fields (conversions.permissions), when known.
    """
    image = decode_image(data, max_pixels=settings.SVGAI_MAX_PIXELS)
    return _save_upload(data, filename, owner, image), image


def store_batch_upload(*, data: bytes, filename: str) -> Upload:
    """Store one image of a batch, checked by its header only; raise ImageError if unusable.

    A batch takes in many images in one request, and a small file can decode to hundreds of
    megabytes: the web process reads headers only, and the item's conversion decodes the pixels
    (a file damaged past its header fails that item, with its reason). `has_alpha` then says
    whether the image has an alpha channel, not whether a pixel uses it.
    """
    return _save_upload(
        data, filename, None, probe_image(data, max_pixels=settings.SVGAI_MAX_PIXELS)
    )


def _save_upload(
    data: bytes, filename: str, owner: dict[str, Any] | None, image: DecodedImage | ImageInfo
) -> Upload:
    digest = hashlib.sha256(data).hexdigest()
    upload = Upload(
        original_name=(filename or "upload")[-255:],
        sha256=digest,
        size_bytes=len(data),
        width=image.width,
        height=image.height,
        format=image.format,
        has_alpha=image.has_alpha,
        **(owner or {}),
    )
    twin = Upload.objects.filter(sha256=digest).only("file").first()
    if twin is not None and twin.file.name and twin.file.storage.exists(twin.file.name):
        upload.file.name = twin.file.name  # same bytes: share the stored file
    else:
        upload.file.save("upload", ContentFile(data), save=False)
    upload.save()
    return upload


def read_upload(upload: Upload) -> bytes:
    """Return the stored bytes of an upload."""
    with upload.file.open("rb") as handle:
        return handle.read()


def convert_image(
    *,
    upload: Upload,
    params: TraceParams,
    existing: Conversion | None = None,
    owner: dict[str, Any] | None = None,
    timeout: float | None = None,
) -> Conversion:
    """Convert an upload with explicit vtracer parameters and record the result.

    `timeout`: the most seconds the trace may run (default SVGAI_CONVERT_TIMEOUT).
    """
    started = time.perf_counter()
    conversion = Conversion(upload=upload, kind=Conversion.Kind.LEGACY, parameters=params.as_dict())
    _reuse(conversion, existing)
    _start(conversion, owner)
    try:
        result = worker_pool().run(
            pipeline.convert_bytes,
            read_upload(upload),
            params,
            max_pixels=settings.SVGAI_MAX_PIXELS,
            timeout=timeout or settings.SVGAI_CONVERT_TIMEOUT,
        )
    except WorkerBusy as exc:  # never started: 503 with Retry-After (a batch retries the item)
        raise _refuse_busy(conversion, exc, keep=existing is not None) from None
    except WorkerError as exc:
        return record(conversion, exc, started=started)
    return record(conversion, result, started=started)


def record(
    conversion: Conversion, outcome: ConversionResult | Exception, *, started: float
) -> Conversion:
    """Store a finished conversion, succeeded or failed: the one place results are recorded."""
    if isinstance(outcome, Exception):
        conversion.status = Conversion.Status.FAILED
        conversion.error = f"Conversion failed: {outcome}"
    else:
        conversion.status = Conversion.Status.SUCCEEDED
        conversion.svg = outcome.svg
        conversion.svg_bytes = outcome.svg_bytes
        conversion.path_count = outcome.path_count
        conversion.ssim = outcome.ssim
        conversion.trace_ms = outcome.timings.get("trace")
        conversion.measure_ms = outcome.timings.get("measure")
        conversion.decode_ms = conversion.timings.get("decode", outcome.timings.get("decode"))
        conversion.timings = {**outcome.timings, **conversion.timings}
    conversion.total_ms = (time.perf_counter() - started) * 1000
    conversion.save()
    return conversion


def _reuse(conversion: Conversion, existing: Conversion | None) -> None:
    """Make `conversion` overwrite `existing`, a record made before the work, when there is one.

    A batch item makes its record before converting, so a retried item (its worker died)
    fills the same record again instead of leaving a second one behind.
    """
    if existing is None:
        return
    conversion.pk = existing.pk
    conversion.created_at = existing.created_at
    conversion.owner_id = existing.owner_id
    conversion.client = existing.client
    conversion._state.adding = False


def _start(conversion: Conversion, owner: dict[str, Any] | None) -> None:
    """Record the conversion as running before any work: a process that dies leaves a row."""
    for name, value in (owner or {}).items():
        setattr(conversion, name, value)
    conversion.status = Conversion.Status.RUNNING
    conversion.save()


def _refuse_busy(conversion: Conversion, busy: WorkerBusy, *, keep: bool) -> WorkerBusy:
    """Return `busy` to raise after dropping the record of work that never started."""
    if not keep:
        conversion.delete()
    return busy


class ModelsUnavailable(RuntimeError):
    """The quality predictor is not loaded, so AI conversion cannot run."""


def evaluate_candidates(
    rgba: np.ndarray,
    candidates: Sequence[Candidate],
    *,
    proxy: bool = True,
    deadline: float | None = None,
    timeout: float | None = None,
) -> list[Attempt | Exception]:
    """Return an Attempt (or the exception) per candidate, traced in parallel workers.

    `proxy` measures the 2× quality used to compare candidates; a single trace (tier 1) has
    nothing to compare, so it skips that render. A trace still running at `deadline`
    (time.monotonic) or after `timeout` seconds (default SVGAI_CONVERT_TIMEOUT) is stopped
    and returns a WorkerDeadline or WorkerTimeout.
    """
    jobs = [(rgba, candidate, proxy) for candidate in candidates]
    results = worker_pool().map(
        pipeline.convert_candidate,
        jobs,
        timeout=timeout or settings.SVGAI_CONVERT_TIMEOUT,
        deadline=deadline,
    )
    return [
        outcome if isinstance(outcome, Exception) else Attempt.of(candidate, outcome)
        for candidate, outcome in zip(candidates, results, strict=True)
    ]


def convert_with_ai(
    *,
    upload: Upload,
    tier: int | str = "auto",
    target_quality: float = routing.DEFAULT_TARGET_QUALITY,
    time_budget: float | None = None,
    max_bytes: int | None = None,
    existing: Conversion | None = None,
    owner: dict[str, Any] | None = None,
    timeout: float | None = None,
) -> Conversion:
    """Choose a tier and settings for this image, trace, and record prediction and result.

    `timeout`: the most seconds each trace may run (default SVGAI_CONVERT_TIMEOUT).
    """
    started, clock = time.perf_counter(), time.monotonic()
    predictor = registry.get("quality_predictor")
    if predictor is None:
        raise ModelsUnavailable("the quality predictor is not loaded")
    request = {"target_quality": target_quality, "time_budget": time_budget, "max_bytes": max_bytes}
    conversion = Conversion(
        upload=upload,
        kind=Conversion.Kind.AI,
        requested_tier=str(tier),
        request=request,
        model_versions=registry.versions(),
    )
    _reuse(conversion, existing)
    _start(conversion, owner)
    timings: dict[str, float] = {}
    with _timed(timings, "decode"):
        image = decode_image(read_upload(upload), max_pixels=settings.SVGAI_MAX_PIXELS)
    analysis = _analyse(image.rgba, upload.sha256, predictor, timings)
    with _timed(timings, "routing"):
        route = routing.route(
            analysis.plan,
            tier=tier,
            target_quality=target_quality,
            time_budget=time_budget,
            max_bytes=max_bytes,
            workers=settings.SVGAI_WORKERS,
            pace=pace,
        )
    conversion.timings = timings
    _describe(conversion, analysis, route)
    busy: list[WorkerBusy] = []
    deadline = tiers.deadline_for(time_budget, started=clock)
    # A client's time budget is a promise: traces stop in time to record the result.
    stop_at = deadline - tiers.RECORD_RESERVE_S if time_budget is not None else None

    # A tight budget may stop every trace: then the rescue trace must already be running.
    early_rescue: Future[tiers.TierResult | None] | None = None
    left = None if stop_at is None else stop_at - time.monotonic()
    if left is not None and left < tiers.EARLY_RESCUE_S * max(1.0, pace.factor):
        early_rescue = _rescuers.submit(_rescue, image.rgba)

    def evaluate(candidates: Sequence[Candidate]) -> list[Attempt | Exception]:
        # Only tier 3's walk compares by the 2× proxy. Tier 2 picks between two traces and
        # then refines the pick; choosing by input-size SSIM instead removed the same error on
        # 16 training logos × 3 variants (78.5 %) and saved the 2× render (p95 1.24 → 1.03 s).
        outcomes = evaluate_candidates(
            image.rgba, candidates, proxy=route.tier > 2, deadline=stop_at, timeout=timeout
        )
        busy.extend(o for o in outcomes if isinstance(o, WorkerBusy))
        return outcomes

    def refine(attempt: Attempt) -> Attempt | Exception:
        try:
            outcome = worker_pool().run(
                pipeline.refine_conversion,
                image.rgba,
                attempt.svg,
                tiers.REFINE_ITERATIONS[route.tier],
                timeout=timeout or settings.SVGAI_CONVERT_TIMEOUT,
                deadline=stop_at,
            )
        except WorkerError as exc:
            return exc
        return Attempt.of(attempt.candidate, outcome, refined=True)

    try:
        with _timed(timings, "search"):
            result = tiers.run_tier(
                route.tier,
                analysis.plan,
                evaluate,
                max_bytes=max_bytes,
                deadline=stop_at if stop_at is not None else deadline,
                workers=settings.SVGAI_WORKERS,
                has_alpha=image.has_alpha,
                # With a budget every tier picks only what is predicted to fit in it.
                pace=pace if time_budget is not None else None,
                refine=refine if route.tier in tiers.REFINE_ITERATIONS else None,
            )
    except tiers.TierError as exc:
        if busy:  # nothing traced because no worker was free: 503 (a batch retries the item)
            raise _refuse_busy(conversion, busy[0], keep=existing is not None) from None
        if time_budget is None:
            return record(conversion, exc, started=started)
        logger.info("budget: every trace was stopped (%s); returning the rescue trace", exc)
        with _timed(timings, "rescue"):
            rescued = early_rescue.result() if early_rescue is not None else _rescue(image.rgba)
        if rescued is None:
            return record(conversion, exc, started=started)
        result = rescued
        conversion.routing["rescued"] = f"every chosen trace was stopped by the budget: {exc}"
    _describe_result(conversion, analysis, result)
    _keep_pace(analysis.plan, result)
    best = result.best
    assert best is not None  # run_tier raises when nothing was traced
    outcome = ConversionResult(
        svg=best.svg,
        ssim=best.ssim,
        svg_bytes=best.svg_bytes,
        path_count=best.path_count,
        timings={
            **{f"best_{k}": v for k, v in best.timings.items()},
            "trace": timings["search"],
            "measure": best.timings.get("measure", 0.0),
        },
    )
    return record(conversion, outcome, started=started)


def _rescue(rgba: np.ndarray) -> tiers.TierResult | None:
    """Return the rescue trace of an image, for when a budget stopped every chosen trace.

    Rather than fail a conversion the client gave a budget to, the cheapest candidate is traced
    here, in this process (potrace at the input's own size: about 0.1 s, no vtracer, so no
    panic and no GIL held while it runs). With a tight budget it starts beside the tier's
    traces (`EARLY_RESCUE_S`), so it is ready when the deadline comes.
    """
    try:
        outcome = pipeline.convert_candidate(rgba, tiers.RESCUE_CANDIDATE, proxy=False)
    except Exception:
        logger.exception("the rescue trace failed")
        return None
    attempt = Attempt.of(tiers.RESCUE_CANDIDATE, outcome)
    return tiers.TierResult(tier=1, attempts=[attempt], best=attempt)


# Rescue traces run here, beside the worker processes (each is mostly numpy and potrace).
_rescuers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="svgai-rescue")


def _keep_pace(plan: tiers.Plan | None, result: tiers.TierResult) -> None:
    """Teach the pace how long this machine really took for what the predictor foresaw."""
    if plan is None:
        return
    for attempt in result.attempts:
        if attempt.refined:  # not a trace the predictor foresaw
            continue
        observed = sum(attempt.timings.get(k, 0.0) for k in ("prepare", "trace", "measure"))
        pace.update(plan.prediction_for(attempt.candidate)["time_ms"], observed)


def _describe(conversion: Conversion, analysis: Analysis, route: routing.Route) -> None:
    """Copy what the models said and the route taken onto the record."""
    conversion.features = analysis.features
    conversion.logo_type = analysis.logo_type
    conversion.logo_type_confidence = analysis.confidence
    conversion.fallback_used = analysis.plan is None or bool(analysis.problems)
    conversion.tier = route.tier
    conversion.routing = route.as_dict()
    if analysis.problems:
        conversion.routing["problems"] = list(analysis.problems)


def _describe_result(conversion: Conversion, analysis: Analysis, result: tiers.TierResult) -> None:
    """Record the chosen candidate, every attempt, and what was predicted for the choice."""
    best = result.best
    assert best is not None
    height, width = conversion.upload.height, conversion.upload.width
    prep, params = best.candidate.materialize(height, width)
    conversion.parameters = params.as_dict()
    conversion.preparation = {
        **asdict(prep),
        "candidate": best.candidate.as_dict(),
        "refined": best.refined,
    }
    conversion.routing["attempts"] = [
        {
            "candidate": a.candidate.as_dict(),
            "refined": a.refined,
            "proxy": a.proxy,
            "ssim": a.ssim,
            "svg_bytes": a.svg_bytes,
        }
        for a in result.attempts
    ]
    if analysis.plan is not None:
        conversion.prediction = analysis.plan.prediction_for(best.candidate)
        conversion.predicted_ssim = conversion.prediction["ssim"]


@dataclass
class Analysis:
    """What the models say about one image before any tracing."""

    features: dict[str, float] = field(default_factory=dict)
    vector: np.ndarray | None = None
    logo_type: str = ""
    confidence: float | None = None
    plan: tiers.Plan | None = None
    problems: tuple[str, ...] = ()


def _analyse(
    rgba: np.ndarray, sha256: str, predictor: QualityModel, timings: dict[str, float]
) -> Analysis:
    """Return features, logo type and the predictor's plan, from the cache when possible.

    Each step may fail on its own; a failure is recorded in `problems` and the conversion
    carries on with what is left (in the end, with the fallback candidate).
    """
    key = (sha256, tuple(sorted(registry.versions().items())))
    cached = analysis_cache.get(key)
    if cached is not None:
        timings["analysis_cache"] = 1.0
        return cached
    height, width = rgba.shape[:2]
    analysis = Analysis()
    problems: list[str] = []
    try:
        with _timed(timings, "features"):
            features = extract_features(rgba)
            analysis.vector = features.as_vector()
            analysis.features = {k: round(float(v), 5) for k, v in asdict(features).items()}
        classifier = registry.get("logo_type")
        if classifier is None:
            problems.append("logo-type classifier not loaded")
        else:
            with _timed(timings, "classify"):
                analysis.logo_type, analysis.confidence = classifier.predict(features)
        analysis.vector = predictor_inputs(predictor, analysis.vector, classifier)
    except Exception as exc:  # one AI component failing must not fail the conversion
        logger.exception("AI analysis failed")
        problems.append(f"analysis failed: {exc}")
    if analysis.vector is not None:
        try:
            with _timed(timings, "predict"):
                analysis.plan = tiers.make_plan(predictor, analysis.vector, height, width)
        except Exception as exc:
            logger.exception("prediction failed")
            problems.append(f"prediction failed: {exc}")
    analysis.problems = tuple(problems)
    if not problems:
        analysis_cache.put(key, analysis)
    return analysis


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = (time.perf_counter() - started) * 1000


class AnalysisCache:
    """A small LRU of per-image analysis (features, logo type, plan) keyed by content hash.

    Converting the same upload again (another tier, another target) skips feature extraction
    and prediction; the key includes the model versions, so switching a model invalidates it.
    """

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple) -> Any | None:
        """Return the cached value for `key`, or None."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            self.misses += 1
            return None

    def put(self, key: tuple, value: Any) -> None:
        """Remember a value, evicting the least recently used beyond maxsize."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (benchmarks time each conversion from scratch)."""
        with self._lock:
            self._items.clear()

    def stats(self) -> dict[str, int]:
        """Return hits, misses, size and capacity."""
        with self._lock:
            return {
                "hits": self.hits,
                "misses": self.misses,
                "size": len(self._items),
                "maxsize": self.maxsize,
            }


analysis_cache = AnalysisCache()

# Observed ÷ predicted trace time in this process, so time budgets hold under load.
pace = tiers.Pace()
