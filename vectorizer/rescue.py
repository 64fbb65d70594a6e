"""The rescue trace: what a budgeted conversion returns when its budget leaves no tier result.

A client's `time_budget` is a promise (vectorizer/budget.py). When the deadline stops every
chosen trace, or leaves no room to start one, the search (vectorizer/search.py) returns this
cheapest of traces instead of failing: the input reduced, traced by potrace, in a worker process
of its own, started early enough to be ready. The answer says so (`TierResult.rescued`).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

import numpy as np
from PIL import Image

from vectorizer.budget import Budget, pace
from vectorizer.candidates import Candidate
from vectorizer.layers import trace_layers
from vectorizer.pipeline import ConversionResult
from vectorizer.preparation import palette_for
from vectorizer.quality import score
from vectorizer.svgclean import clean_svg
from vectorizer.tiers import Attempt, TierResult
from vectorizer.workers import WorkerError, WorkerPool

logger = logging.getLogger(__name__)

# What a budgeted conversion returns when the deadline stopped every chosen trace: potrace per
# colour layer of the input reduced to at most RESCUE_LONG_SIDE px (speckle in reduced px),
# traced in the rescue worker (`rescue_pool`), the SVG displayed at the input's size...
RESCUE_CANDIDATE = Candidate(
    long_side=0, max_colors=16, speckle=1, tracer="layers", sigma=0.5, tolerance=0.5
)
# ...which on 8 dev-set 512 px logos took 0.1 s instead of 0.33 s at the input's own size
# (SSIM at 512 px 0.9878 instead of 0.9923; 192 px with 8 colours: 0.07 s, 0.9831)...
RESCUE_LONG_SIDE = 256
# ...and measured at this size: at 256 px the SSIM took 12-65 ms of a 0.1-0.2 s rescue.
RESCUE_MEASURE_SIDE = 128
# ...started as soon as the image is decoded when less than this (times the pace) is left:
# under load the analysis alone may take most of a tight budget.
EARLY_RESCUE_S = 1.0
# The least a tier's own result takes on a quiet machine (times the pace): the analysis
# (features and prediction, about 0.1 s on a 512 px logo) and the fastest candidate traced
# and measured. With less left, the analysis is skipped and the rescue alone returned: under
# load, analysing beside the rescue slowed both past a 0.5 s budget.
TIER_FLOOR_S = 0.35
# Rescues are sent to the rescue worker from these threads (traced in one when it is not free).
_rescuers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="svgai-rescue")
_rescue_pool: WorkerPool | None = None
_rescue_pool_lock = threading.Lock()
# A rescue in a worker may run this long past the budget's deadline before it is stopped and
# traced in this process instead. Never shorter: a stopped worker is restarted, and under load
# the restart kept the express worker from the next rescues.
RESCUE_GRACE_S = 1.0


class LateRescue:
    """A roomy budget's rescue: started EARLY_RESCUE_S (times the pace) before the deadline if
    no trace has come back by then, so it is ready should the deadline stop every trace."""

    def __init__(
        self, rgba: np.ndarray, budget: Budget, traced: Callable[[], bool], timeout: float
    ) -> None:
        self.future: Future[TierResult | None] | None = None
        self._over = False
        self._lock = threading.Lock()
        wait = max(0.0, budget.left(EARLY_RESCUE_S * max(1.0, pace.factor)))
        self._timer = threading.Timer(wait, self._start, args=(rgba, budget, traced, timeout))
        self._timer.daemon = True
        self._timer.start()

    def _start(
        self, rgba: np.ndarray, budget: Budget, traced: Callable[[], bool], timeout: float
    ) -> None:
        with self._lock:
            if not (self._over or traced()):
                self.future = _rescuers.submit(
                    _rescue_in_worker, rescue_pool(), rgba, budget, timeout
                )

    def stop(self) -> Future[TierResult | None] | None:
        """Start no rescue from now on; return the one started, if any."""
        self._timer.cancel()
        with self._lock:
            self._over = True
            return self.future


def rescue(rgba: np.ndarray) -> TierResult | None:
    """Return the rescue trace of an image, traced in this process (see `trace_reduced`).

    Rather than fail a conversion the client gave a budget to, the cheapest recipe is traced:
    potrace (no vtracer, so no panic) on the input reduced to RESCUE_LONG_SIDE px, measured at
    RESCUE_MEASURE_SIDE. This is the fall-back when the rescue worker was not free in time.
    """
    try:
        outcome = trace_reduced(rgba, RESCUE_LONG_SIDE)
    except Exception:
        logger.exception("the rescue trace failed")
        return None
    return _rescue_result(outcome)


def _rescue_result(outcome: ConversionResult) -> TierResult:
    attempt = Attempt.of(RESCUE_CANDIDATE, outcome)
    return TierResult(tier=1, attempts=[attempt], best=attempt)


def rescue_pool() -> WorkerPool:
    """Return this process's rescue worker, created on first use (`warm_up` it at start).

    One process of its own, for rescues only: traced in the web process, a rescue fought the
    other requests' analyses for the GIL (0.4-1.5 s for 0.1 s of work); sent to the conversion
    pool, it waited for the express worker behind its own request's traces, or for the
    restart of a worker a deadline had stopped.
    """
    global _rescue_pool
    with _rescue_pool_lock:
        if _rescue_pool is None:
            _rescue_pool = WorkerPool(1, preload=("vectorizer.rescue",))
            atexit.register(_rescue_pool.close)
        return _rescue_pool


def _rescue_in_worker(
    pool: WorkerPool, rgba: np.ndarray, budget: Budget, timeout: float
) -> TierResult | None:
    """Return the rescue traced in `pool` (`rescue_pool`), else (not in time) in this thread."""
    try:
        outcome = pool.run(
            trace_reduced,
            rgba,
            RESCUE_LONG_SIDE,
            timeout=timeout,
            deadline=budget.deadline + RESCUE_GRACE_S,
        )
    except WorkerError as exc:
        logger.info("the rescue trace ran in this process: %s", exc)
        return rescue(rgba)
    return _rescue_result(outcome)


def trace_reduced(rgba: np.ndarray, long_side: int) -> ConversionResult:
    """Return RESCUE_CANDIDATE's trace of `rgba` reduced to `long_side` px, shown at its size
    (a worker job)."""
    started = time.perf_counter()
    height, width = rgba.shape[:2]
    small = _reduced(rgba, long_side)
    h, w = small.shape[:2]
    prep, _ = RESCUE_CANDIDATE.materialize(h, w)
    palette = palette_for(small, replace(prep, palette_size=prep.palette_size or -1))
    raw = trace_layers(
        small,
        palette if palette is not None else np.zeros((0, 3), np.uint8),
        RESCUE_CANDIDATE.layer_params(h, w),
        scale=1,
        alpha_threshold=prep.alpha_threshold,
    )
    # One decimal keeps a reduced trace's outlines where they are once shown at the input's size.
    precision = 1 if (h, w) != (height, width) else 0
    svg = clean_svg(raw, view_box=(0, 0, w, h), width=width, height=height, precision=precision)
    traced = time.perf_counter()
    measured = score(_reduced(rgba, RESCUE_MEASURE_SIDE), svg)
    return ConversionResult(
        svg=svg,
        ssim=measured.ssim,
        svg_bytes=measured.svg_bytes,
        path_count=measured.path_count,
        timings={
            "trace": (traced - started) * 1000,
            "measure": (time.perf_counter() - traced) * 1000,
        },
    )


def _reduced(rgba: np.ndarray, long_side: int) -> np.ndarray:
    """Return `rgba` box-filtered to at most `long_side` px on its long side (as is if smaller)."""
    height, width = rgba.shape[:2]
    scale = long_side / max(height, width)
    if scale >= 1:
        return rgba
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # PIL resamples RGBA premultiplied: transparent pixels lend no colour to the edges.
    return np.asarray(Image.fromarray(rgba, "RGBA").resize(size, Image.Resampling.BOX))


def start_rescue(
    rgba: np.ndarray, budget: Budget, timeout: float
) -> Future[TierResult | None] | None:
    """Start the rescue trace now if the budget is so tight it may stop every chosen trace.

    The caller starts it as soon as the image is decoded, beside the analysis, and hands it to
    `search`; it is traced in the rescue worker (`rescue_pool`).
    """
    if budget.binding and budget.left() < EARLY_RESCUE_S * max(1.0, pace.factor):
        return _rescuers.submit(_rescue_in_worker, rescue_pool(), rgba, budget, timeout)
    return None


def rescue_only(budget: Budget) -> str:
    """Return why only the rescue trace fits `budget` (empty when a tier's own result may).

    Then the caller skips the analysis too (`TIER_FLOOR_S`): nothing it says could be used.
    """
    need, left = TIER_FLOOR_S * max(1.0, pace.factor), budget.left()
    if not budget.binding or left >= need:
        return ""
    return (
        f"no trace was started: the analysis and the fastest trace would be stopped by the "
        f"budget ({need:.2f} s at this machine's pace, {max(0.0, left):.2f} s left)"
    )
