"""The conversion pipeline as Django sees it: store uploads, run conversions, record results.

Views, management commands and Celery tasks call these functions. They orchestrate and do not
decide: an AI conversion loads the image and what the models say about it (aimodels.analysis),
routes it, hands it to the budgeted search of the core (vectorizer.search) and records the
outcome. Every outcome is stored, failures included (history is benchmark data).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile

from aimodels import registry
from aimodels.analysis import Analysis, analyse
from aimodels.analysis import analysis_cache as analysis_cache  # read by health and benchmarks
from conversions import design as designs
from conversions.models import Conversion, Upload
from conversions.outcomes import AIOutcome
from conversions.owners import Owner
from vectorizer import pipeline, rescue, routing, search
from vectorizer.budget import Budget
from vectorizer.candidates import Candidate
from vectorizer.designer import NO_DESIGN, DesignOptions
from vectorizer.images import DecodedImage, ImageInfo, decode_image, probe_image
from vectorizer.pipeline import ConversionResult
from vectorizer.protocols import QualityModel
from vectorizer.search import timed
from vectorizer.tiers import Attempt, TierError, TierResult
from vectorizer.tracing import TraceParams
from vectorizer.workers import WorkerBusy, WorkerError, WorkerPool, shared_pool


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
    *, data: bytes, filename: str, owner: Owner | None = None
) -> tuple[Upload, DecodedImage]:
    """Validate an uploaded image and store it; raise ImageError for anything unusable.

    `owner`: who owns it and what quota it counts against (conversions.permissions).
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
    data: bytes, filename: str, owner: Owner | None, image: DecodedImage | ImageInfo
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
    )
    if owner is not None:
        upload.owner, upload.client, upload.quota_key = owner.user, owner.client, owner.quota_key
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
        data: bytes = handle.read()  # a FileField's file is untyped; "rb" reads bytes
    return data


def convert_image(
    *,
    upload: Upload,
    params: TraceParams,
    design: DesignOptions = NO_DESIGN,
    existing: Conversion | None = None,
    owner: Owner | None = None,
    timeout: float | None = None,
) -> Conversion:
    """Convert an upload with explicit vtracer parameters and record the result.

    `design`: the designer's options applied to the trace; `timeout`: the most seconds the trace
    may run (default SVGAI_CONVERT_TIMEOUT).
    """
    started, data = time.perf_counter(), read_upload(upload)
    conversion = Conversion(
        upload=upload,
        kind=Conversion.Kind.LEGACY,
        parameters=params.as_dict(),
        **designs.fields(design),
    )
    _reuse(conversion, existing)
    _start(conversion, owner)
    timeout, pool = timeout or settings.SVGAI_CONVERT_TIMEOUT, worker_pool()
    try:
        result = pool.run(
            pipeline.convert_bytes,
            data,
            params,
            settings.SVGAI_MAX_PIXELS,
            timeout=timeout,
        )
    except WorkerBusy as exc:  # never started: 503 with Retry-After (a batch retries the item)
        raise _refuse_busy(conversion, exc, keep=existing is not None) from None
    except WorkerError as exc:
        return record(conversion, exc, started=started)
    done = designs.finish(conversion, result, design, data=data, pool=pool, timeout=timeout)
    return record(conversion, done, started=started)


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


def _start(conversion: Conversion, owner: Owner | None) -> None:
    """Record the conversion as running before any work: a process that dies leaves a row."""
    if owner is not None:
        conversion.owner, conversion.client = owner.user, owner.client
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
    rgba: np.ndarray, candidates: Sequence[Candidate], *, proxy: bool = True
) -> list[Attempt | Exception]:
    """Return an Attempt (or the exception) per candidate, traced in this process's workers."""
    return search.evaluate_candidates(
        worker_pool(), rgba, candidates, proxy=proxy, timeout=settings.SVGAI_CONVERT_TIMEOUT
    )


def convert_with_ai(
    *,
    upload: Upload,
    tier: int | str = "auto",
    target_quality: float = routing.DEFAULT_TARGET_QUALITY,
    time_budget: float | None = None,
    max_bytes: int | None = None,
    design: DesignOptions = NO_DESIGN,
    existing: Conversion | None = None,
    owner: Owner | None = None,
    timeout: float | None = None,
) -> Conversion:
    """Choose a tier and settings, trace, and record prediction and result (`design`: applied
    to the chosen trace; `timeout`: per trace, default SVGAI_CONVERT_TIMEOUT)."""
    started, budget = time.perf_counter(), Budget.start(time_budget)
    pool, timeout = worker_pool(), timeout or settings.SVGAI_CONVERT_TIMEOUT
    predictor, asked = _quality_predictor(), AIRequest(tier, target_quality, time_budget, max_bytes)
    conversion = _start_ai(upload, asked, existing, owner, design)
    image, early, analysis, route = _decide(upload, asked, predictor, budget, conversion.timings)
    try:
        result = search.search(
            image,
            analysis.plan,
            route.tier,
            pool=pool,
            budget=budget,
            timeout=timeout,
            max_bytes=max_bytes,
            timings=conversion.timings,
            early=early,
        )
    except WorkerBusy as exc:  # nothing traced, no worker was free: 503 (a batch retries it)
        raise _refuse_busy(conversion, exc, keep=existing is not None) from None
    except TierError as exc:
        return record(AIOutcome(analysis, route).recorded_on(conversion), exc, started=started)
    outcome = AIOutcome(analysis, route, result)
    traced, data = outcome.traced(conversion.timings), read_upload(upload)
    done = designs.finish(
        outcome.recorded_on(conversion), traced, design, data=data, pool=pool, timeout=timeout
    )
    return record(conversion, done, started=started)


class RequestDict(TypedDict):
    """`AIRequest.as_dict()`: what a conversion record's `request` holds."""

    target_quality: float
    time_budget: float | None
    max_bytes: int | None


@dataclass(frozen=True)
class AIRequest:
    """What the caller asked of an AI conversion, as the record keeps it."""

    tier: int | str
    target_quality: float
    time_budget: float | None
    max_bytes: int | None

    def as_dict(self) -> RequestDict:
        """Return the options the record's `request` holds (the tier has a field of its own)."""
        return {
            "target_quality": self.target_quality,
            "time_budget": self.time_budget,
            "max_bytes": self.max_bytes,
        }


def _quality_predictor() -> QualityModel:
    """Return the loaded quality predictor; raise ModelsUnavailable without it."""
    predictor = registry.quality_predictor()
    if predictor is None:
        raise ModelsUnavailable("the quality predictor is not loaded")
    return predictor


def _start_ai(
    upload: Upload,
    asked: AIRequest,
    existing: Conversion | None,
    owner: Owner | None,
    design: DesignOptions,
) -> Conversion:
    """Return the running record of an AI conversion, saved before any work."""
    conversion = Conversion(
        upload=upload,
        kind=Conversion.Kind.AI,
        requested_tier=str(asked.tier),
        request=asked.as_dict(),
        model_versions=registry.versions(),
        timings={},
        **designs.fields(design),
    )
    _reuse(conversion, existing)
    _start(conversion, owner)
    return conversion


def _decide(
    upload: Upload,
    asked: AIRequest,
    predictor: QualityModel,
    budget: Budget,
    timings: dict[str, float],
) -> tuple[DecodedImage, Future[TierResult | None] | None, Analysis, routing.Route]:
    """Return the decoded image, its rescue trace when the budget is tight (started before the
    analysis, which under load may take most of it), what the models say, and the route."""
    with timed(timings, "decode"):
        image = decode_image(read_upload(upload), max_pixels=settings.SVGAI_MAX_PIXELS)
    early = rescue.start_rescue(image.rgba, budget, settings.SVGAI_CONVERT_TIMEOUT)
    skipped = rescue.rescue_only(budget) if early is not None else ""
    if skipped:  # the rescue alone fits: analysing beside it would only slow it
        tier = 1 if asked.tier == "auto" else int(asked.tier)
        return image, early, Analysis(), routing.Route(tier, f"analysis skipped: {skipped}")
    analysis = analyse(image.rgba, upload.sha256, predictor, timings)
    with timed(timings, "routing"):
        route = routing.route(
            analysis.plan,
            tier=asked.tier,
            target_quality=asked.target_quality,
            budget=budget,
            max_bytes=asked.max_bytes,
            workers=settings.SVGAI_WORKERS,
            pace=search.pace,
        )
    return image, early, analysis, route
