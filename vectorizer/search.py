"""The budgeted search: one image's tier run in the worker pool, within the request's budget.

The tiers (vectorizer/tiers.py) decide what to trace; this module traces it: candidates in the
worker pool, stopped at the budget's deadline, the best one's outlines refined, and, when a
client's budget stopped every chosen trace (or left no room for one), the rescue trace returned
instead of a failure.
It also keeps the pace (observed ÷ predicted trace time) every budget is checked with. A view,
a task or a benchmark calls `search`; nothing here calls back into them.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image

from vectorizer import optimise, pipeline
from vectorizer.budget import Budget
from vectorizer.candidates import Candidate
from vectorizer.images import DecodedImage
from vectorizer.layers import trace_layers
from vectorizer.pipeline import ConversionResult
from vectorizer.preparation import palette_for
from vectorizer.quality import score
from vectorizer.svgclean import clean_svg
from vectorizer.tiers import (
    REFINE_ITERATIONS,
    Attempt,
    Pace,
    Plan,
    TierError,
    TierResult,
    run_tier,
)
from vectorizer.workers import WorkerBusy, WorkerError, WorkerPool

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

# The measure every tier chooses by (`Attempt.proxy`, ranked by `tiers.rank`): the 2× proxy
# (`quality.proxy_quality`) when True, else colour SSIM at the input's own size. Measured on 18
# held-out image variants (9 logos, PNG and JPEG; per image tier 3's seed and two neighbours,
# each traced and refined): choosing among traces and refined traces, either measure left the
# same fidelity error (0.0127, the truth's own choice 0.0107); among traces alone SSIM left
# 0.0162 and the proxy 0.0164; and between a trace and its refinement SSIM sided with fidelity
# on 93 of 105 pairs, the proxy on 79 (it barely sees sub-pixel moves). SSIM is measured anyway:
# the proxy's 2× render would only add time.
CHOOSE_BY_PROXY = False
# Observed ÷ predicted trace time in this process, so time budgets hold under load.
pace = Pace()
# Running traces are stopped this long (times the pace) before the budget's deadline: stopping
# one ends its worker, and under load traces stopped at the deadline itself ended the search
# 0.1-0.2 s past it (40 ms still left tier 2's 1 and 2 s budgets 10-60 ms over, without load).
STOP_S = 0.1
# Rescues are sent to the rescue worker from these threads (traced in one when it is not free).
_rescuers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="svgai-rescue")
_rescue_pool: WorkerPool | None = None
_rescue_pool_lock = threading.Lock()
# A rescue in a worker may run this long past the budget's deadline before it is stopped and
# traced in this process instead. Never shorter: a stopped worker is restarted, and under load
# the restart kept the express worker from the next rescues.
RESCUE_GRACE_S = 1.0


def search(
    image: DecodedImage,
    plan: Plan | None,
    tier: int,
    *,
    pool: WorkerPool,
    budget: Budget,
    timeout: float,
    max_bytes: int | None = None,
    timings: dict[str, float] | None = None,
    early: Future[TierResult | None] | None = None,
) -> TierResult:
    """Return the chosen conversion of `image` by `tier`, within `budget`.

    `timeout`: the most seconds each trace may run. `timings` receives "search" (and "rescue"
    when the rescue trace was waited for), in ms. `early`: the rescue `start_rescue` began
    (else it is started here when the budget is tight). Raises WorkerBusy when nothing was
    traced because no worker was free (the caller answers 503, a batch retries the item), and
    TierError when nothing could be traced and no rescue applies.
    """
    timings = {} if timings is None else timings
    early = early if early is not None else start_rescue(image.rgba, budget, timeout)
    hopeless = _no_room(plan, budget) if early is not None else ""
    if hopeless:  # a trace stopped at the deadline would only cost a worker and its restart
        timings["search"] = 0.0
        return _rescued(hopeless, image.rgba, early, timings)
    tracing = _Tracing(pool, image.rgba, tier, _stop_at(budget), timeout)
    late = _LateRescue(image.rgba, budget, tracing) if early is None and budget.binding else None
    try:
        with timed(timings, "search"):
            result = run_tier(
                tier,
                plan,
                tracing.evaluate,
                max_bytes=max_bytes,
                budget=budget,
                workers=pool.size,
                has_alpha=image.has_alpha,
                # With a client's budget every tier picks only what is predicted to fit in it.
                pace=pace if budget.binding else None,
                refine=tracing.refine if tier >= min(REFINE_ITERATIONS) else None,
                optimise=tracing.optimise if tier >= 3 else None,
            )
    except TierError as exc:
        if tracing.busy:
            raise tracing.busy[0] from None
        if not budget.binding:
            raise
        reason = f"every chosen trace was stopped by the budget: {exc}"
        early = early or (late.stop() if late is not None else None)
        result = _rescued(reason, image.rgba, early, timings, stopped=exc)
    for unneeded in (early, late.stop() if late is not None else None):
        if unneeded is not None:
            unneeded.cancel()  # not started yet: the rescue was not needed
    _keep_pace(plan, result)
    return result


def _stop_at(budget: Budget) -> float | None:
    """Return when running traces are stopped: STOP_S (times the pace) before the deadline."""
    deadline = budget.trace_deadline
    return None if deadline is None else deadline - STOP_S * max(1.0, pace.factor)


def evaluate_candidates(
    pool: WorkerPool,
    rgba: np.ndarray,
    candidates: Sequence[Candidate],
    *,
    timeout: float,
    proxy: bool = True,
    deadline: float | None = None,
) -> list[Attempt | Exception]:
    """Return an Attempt (or the exception) per candidate, traced in parallel workers.

    `proxy` measures the 2× quality used to compare candidates; a single trace (tier 1) has
    nothing to compare, so it skips that render. A trace still running at `deadline`
    (time.monotonic) or after `timeout` seconds is stopped and returns a WorkerDeadline or
    WorkerTimeout.
    """
    jobs = [(rgba, candidate, proxy) for candidate in candidates]
    results = pool.map(pipeline.convert_candidate, jobs, timeout=timeout, deadline=deadline)
    return [
        outcome if isinstance(outcome, Exception) else Attempt.of(candidate, outcome)
        for candidate, outcome in zip(candidates, results, strict=True)
    ]


@dataclass
class _Tracing:
    """How one request's candidates are traced and refined: in the pool, stopped in time."""

    pool: WorkerPool
    rgba: np.ndarray
    tier: int
    deadline: float | None  # when running traces are stopped (a client's budget only)
    timeout: float
    busy: list[WorkerBusy] = field(default_factory=list)  # traces no worker was free for
    traced: bool = False  # whether a trace has come back (then no rescue is needed)

    def evaluate(self, candidates: Sequence[Candidate]) -> list[Attempt | Exception]:
        outcomes = evaluate_candidates(
            self.pool,
            self.rgba,
            candidates,
            # Tier 1 has nothing to compare its one trace with: it skips the 2× render.
            proxy=CHOOSE_BY_PROXY and self.tier > 1,
            deadline=self.deadline,
            timeout=self.timeout,
        )
        self.busy.extend(o for o in outcomes if isinstance(o, WorkerBusy))
        self.traced |= any(isinstance(o, Attempt) for o in outcomes)
        return outcomes

    def refine(self, attempt: Attempt, rounds: int) -> Attempt | Exception:
        try:
            outcome = self.pool.run(
                pipeline.refine_conversion,
                self.rgba,
                attempt.svg,
                rounds,
                CHOOSE_BY_PROXY,
                timeout=self.timeout,
                deadline=self.deadline,
            )
        except WorkerError as exc:
            return exc
        return Attempt.of(attempt.candidate, outcome, refined=True)

    def optimise(self, attempt: Attempt, seconds: float) -> Attempt | Exception:
        try:
            outcome = self.pool.run(
                optimise.optimise_conversion,
                self.rgba,
                attempt.svg,
                seconds,
                timeout=self.timeout,
                deadline=self.deadline,
            )
        except WorkerError as exc:
            return exc
        return Attempt.of(attempt.candidate, outcome, refined=True)


class _LateRescue:
    """A roomy budget's rescue: started EARLY_RESCUE_S (times the pace) before the deadline if
    no trace has come back by then, so it is ready should the deadline stop every trace."""

    def __init__(self, rgba: np.ndarray, budget: Budget, tracing: _Tracing) -> None:
        self.future: Future[TierResult | None] | None = None
        self._over = False
        self._lock = threading.Lock()
        wait = max(0.0, budget.left(EARLY_RESCUE_S * max(1.0, pace.factor)))
        self._timer = threading.Timer(wait, self._start, args=(rgba, budget, tracing))
        self._timer.daemon = True
        self._timer.start()

    def _start(self, rgba: np.ndarray, budget: Budget, tracing: _Tracing) -> None:
        with self._lock:
            if not (self._over or tracing.traced):
                self.future = _rescuers.submit(
                    _rescue_in_worker, rescue_pool(), rgba, budget, tracing.timeout
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
            _rescue_pool = WorkerPool(1, preload=("vectorizer.search",))
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


def _no_room(plan: Plan | None, budget: Budget) -> str:
    """Return why no trace is worth starting (empty when one may fit the time left).

    When even the fastest candidate is predicted (times the pace) to outlast what is left, its
    trace would be stopped at the deadline, and its worker restarted, for nothing.
    """
    if plan is None:
        return rescue_only(budget)
    if not budget.binding:
        return ""
    fastest = pace.seconds(float(np.min(plan.predicted.time_ms)))
    left = budget.left()
    if fastest <= left:
        return ""
    return (
        f"no trace was started: the fastest would be stopped by the budget ({fastest:.2f} s "
        f"predicted at this machine's pace, {max(0.0, left):.2f} s left)"
    )


def _rescued(
    reason: str,
    rgba: np.ndarray,
    early: Future[TierResult | None] | None,
    timings: dict[str, float],
    *,
    stopped: TierError | None = None,
) -> TierResult:
    """Return the rescue trace, `reason` said; raise `stopped` (or TierError) without one."""
    logger.info("budget: %s; returning the rescue trace", reason)
    with timed(timings, "rescue"):
        rescued = early.result() if early is not None else rescue(rgba)
    if rescued is None:
        raise stopped if stopped is not None else TierError(reason)
    rescued.rescued = (
        f"{reason}; traced at most {RESCUE_LONG_SIDE} px and measured at most "
        f"{RESCUE_MEASURE_SIDE} px on the long side"
    )
    return rescued


def _keep_pace(plan: Plan | None, result: TierResult) -> None:
    """Teach the pace how long this machine really took for what the predictor foresaw."""
    if plan is None:
        return
    for attempt in result.attempts:
        if attempt.refined:  # not a trace the predictor foresaw
            continue
        observed = sum(attempt.timings.get(k, 0.0) for k in ("prepare", "trace", "measure"))
        pace.update(plan.prediction_for(attempt.candidate).time_ms, observed)


@contextmanager
def timed(timings: dict[str, float], name: str) -> Iterator[None]:
    """Add the milliseconds the block took to `timings` as `name`, even when it raised."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = (time.perf_counter() - started) * 1000
