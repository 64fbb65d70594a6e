"""The budgeted search: one image's tier run in the worker pool, within the request's budget.

The tiers (vectorizer/tiers.py) decide what to trace; this module traces it: candidates in the
worker pool, stopped at the budget's deadline, the best one's outlines refined, and, when a
client's budget stopped every chosen trace (or left no room for one), the rescue trace
(vectorizer/rescue.py) returned instead of a failure. It also teaches the pace (observed ÷
predicted trace time, vectorizer/budget.py) every budget is checked with. A view, a task or a
benchmark calls `search`; nothing here calls back into them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from vectorizer import optimise, pipeline
from vectorizer.budget import Budget, pace
from vectorizer.candidates import Candidate
from vectorizer.images import DecodedImage
from vectorizer.rescue import (
    RESCUE_LONG_SIDE,
    RESCUE_MEASURE_SIDE,
    LateRescue,
    rescue,
    rescue_only,
    start_rescue,
)
from vectorizer.tiers import REFINE_ITERATIONS, Attempt, Plan, TierError, TierResult, run_tier
from vectorizer.workers import WorkerBusy, WorkerError, WorkerPool

logger = logging.getLogger(__name__)

# The measure every tier chooses by (`Attempt.proxy`, ranked by `tiers.rank`) is
# `quality.choosing_quality`: colour SSIM at the input's own size, for a small input the better
# of it and the SVG drawn at 2× and scaled down. (A 2× render against the input upscaled
# bicubically chose no better than SSIM on 18 held-out variants and saw sub-pixel moves less:
# it was dropped.) Tier 1 has one trace and nothing to compare it with: it skips that measure.
# Running traces are stopped this long (times the pace) before the budget's deadline: stopping
# one ends its worker, and under load traces stopped at the deadline itself ended the search
# 0.1-0.2 s past it (40 ms still left tier 2's 1 and 2 s budgets 10-60 ms over, without load).
STOP_S = 0.1


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
    late = (
        LateRescue(image.rgba, budget, lambda: tracing.traced, timeout)
        if early is None and budget.binding
        else None
    )
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
    traced: bool = False  # whether a trace has come back (then no rescue is needed)

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
        self.traced |= any(isinstance(o, Attempt) for o in outcomes)
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
