"""The budgeted search: one image's tier run in the worker pool, within the request's budget.

The tiers (vectorizer/tiers.py) decide what to trace; this module traces it: candidates in the
worker pool, stopped at the budget's deadline, the best one's outlines refined, and, when a
client's budget stopped every chosen trace, the rescue trace returned instead of a failure.
It also keeps the pace (observed ÷ predicted trace time) every budget is checked with. A view,
a task or a benchmark calls `search`; nothing here calls back into them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from vectorizer import optimise, pipeline
from vectorizer.budget import Budget
from vectorizer.candidates import Candidate
from vectorizer.images import DecodedImage
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
# colour layer at the input's own size, about 0.1 s, traced in this process...
RESCUE_CANDIDATE = Candidate(
    long_side=0, max_colors=16, speckle=2, tracer="layers", sigma=0.5, tolerance=0.5
)
# ...started beside the tier's traces when less than this (times the pace) is left for them.
EARLY_RESCUE_S = 1.0

# The measure every tier chooses by (`Attempt.proxy`, ranked by `tiers.rank`) is
# `quality.choosing_quality`: colour SSIM at the input's own size, for a small input the better
# of it and the SVG drawn at 2× and scaled down. (A 2× render against the input upscaled
# bicubically chose no better than SSIM on 18 held-out variants and saw sub-pixel moves less:
# it was dropped.) Tier 1 has one trace and nothing to compare it with: it skips that measure.
# Observed ÷ predicted trace time in this process, so time budgets hold under load.
pace = Pace()
# Rescue traces run here, beside the worker processes (each is mostly numpy and potrace).
_rescuers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="svgai-rescue")


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
) -> TierResult:
    """Return the chosen conversion of `image` by `tier`, within `budget`.

    `timeout`: the most seconds each trace may run. `timings` receives "search" (and "rescue"
    when the rescue trace was waited for), in ms. Raises WorkerBusy when nothing was traced
    because no worker was free (the caller answers 503, a batch retries the item), and
    TierError when nothing could be traced and no rescue applies.
    """
    timings = {} if timings is None else timings
    early = _early_rescue(image.rgba, budget)
    tracing = _Tracing(pool, image.rgba, tier, budget.trace_deadline, timeout)
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
        result = _rescued(exc, image.rgba, early, timings)
    _keep_pace(plan, result)
    return result


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

    `proxy` measures the quality used to compare candidates (quality.choosing_quality); a
    single trace (tier 1) has nothing to compare, so it skips it. A trace still running at
    `deadline` (time.monotonic) or after `timeout` seconds is stopped and returns a
    WorkerDeadline or WorkerTimeout.
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

    def evaluate(self, candidates: Sequence[Candidate]) -> list[Attempt | Exception]:
        outcomes = evaluate_candidates(
            self.pool,
            self.rgba,
            candidates,
            # Tier 1 has nothing to compare its one trace with: it skips the choosing measure.
            proxy=self.tier > 1,
            deadline=self.deadline,
            timeout=self.timeout,
        )
        self.busy.extend(o for o in outcomes if isinstance(o, WorkerBusy))
        return outcomes

    def refine(self, attempt: Attempt, rounds: int) -> Attempt | Exception:
        try:
            outcome = self.pool.run(
                pipeline.refine_conversion,
                self.rgba,
                attempt.svg,
                rounds,
                True,
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


def rescue(rgba: np.ndarray) -> TierResult | None:
    """Return the rescue trace of an image, for when a budget stopped every chosen trace.

    Rather than fail a conversion the client gave a budget to, the cheapest candidate is traced
    here, in this process (potrace at the input's own size: about 0.1 s, no vtracer, so no
    panic and no GIL held while it runs). With a tight budget it starts beside the tier's
    traces (`EARLY_RESCUE_S`), so it is ready when the deadline comes.
    """
    try:
        outcome = pipeline.convert_candidate(rgba, RESCUE_CANDIDATE, proxy=False)
    except Exception:
        logger.exception("the rescue trace failed")
        return None
    attempt = Attempt.of(RESCUE_CANDIDATE, outcome)
    return TierResult(tier=1, attempts=[attempt], best=attempt)


def _early_rescue(rgba: np.ndarray, budget: Budget) -> Future[TierResult | None] | None:
    """Start the rescue trace now if the budget is so tight it may stop every chosen trace."""
    if budget.binding and budget.left() < EARLY_RESCUE_S * max(1.0, pace.factor):
        return _rescuers.submit(rescue, rgba)
    return None


def _rescued(
    stopped: TierError,
    rgba: np.ndarray,
    early: Future[TierResult | None] | None,
    timings: dict[str, float],
) -> TierResult:
    """Return the rescue trace after the budget stopped every trace; raise `stopped` without."""
    logger.info("budget: every trace was stopped (%s); returning the rescue trace", stopped)
    with timed(timings, "rescue"):
        rescued = early.result() if early is not None else rescue(rgba)
    if rescued is None:
        raise stopped
    rescued.rescued = f"every chosen trace was stopped by the budget: {stopped}"
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
