"""The three tiers: how much work to spend choosing settings for one image.

1. Predict: rank every candidate with the quality predictor, trace the best one once.
2. Rank and verify: trace the predictor's best few (in parallel), keep the best measured and
   refine its outlines against the input.
3. Search: start from tier 2's measurements and walk to neighbouring candidates (scale,
   palette size, JPEG clean-up, alpha threshold, curve fitting) with real measurements until
   shortly before the time budget ends, then refine the best.

"Measured" means `proxy` quality: SSIM of the SVG at 2× against the input upscaled
bicubically, which tracks fidelity to the true vector, where SSIM at the input's own size
rewards pixel staircases (tier 2, which then refines its pick, uses the input-size SSIM: the
evaluator decides, and `Attempt.proxy` holds whichever was measured). Every choice,
predicted or measured, weighs quality against bytes (`worth`: a doubling of the SVG must buy
BYTE_COST of quality), and an optional `max_bytes` is honoured whenever any result meets it.
Tracing itself is injected (`Evaluator`, `Refiner`) so this module stays free of processes:
vectorizer/search.py gives it the worker pool, the budget and the rescue.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from vectorizer.budget import Budget
from vectorizer.candidates import ANCHORS, Candidate, candidate_space, neighbours
from vectorizer.pipeline import ConversionResult
from vectorizer.protocols import Prediction, Predictions, QualityModel

# What one doubling of an SVG's bytes must buy in quality (fidelity or proxy SSIM) to be worth
# it. Chosen on the training split: tier 2 on 12 logos × 3 variants removes 75.5 % of vtracer's
# error at 1.5× the true SVG's mean bytes with 0.003, 74.7 % at 1.3× with 0.006; on the 8
# measured candidates per image of the training set, choosing by the truth, 0 gives 2.55× the
# true SVG's median bytes and 0.003 1.80×, for under a point of error removed.
BYTE_COST = 0.006
# Tiers may give up this much quality for a SVG of half the bytes or less (tests use it).
NEAR_EQUAL = BYTE_COST
# Tier 1 traces once; it skips candidates predicted slower than this.
TIER1_TRACE_LIMIT_MS = 300.0
# One trace per worker (two by default): a third would queue behind the others and add a
# whole trace to tier 2's time for well under a point of fidelity.
TIER2_TRIES = 2
TIER3_SEED = 4
# A candidate predicted to take longer than this to prepare and trace counts as slow.
SLOW_TRACE_MS = 400.0
# Tier 3 tries a move only when its predicted worth is at most this far below the current's.
MOVE_TOLERANCE = 0.003
# The default when no predictor is available, and the fixed recipe tier 1 must beat: potrace
# per colour layer at ~1024 px, 16 colours, σ 0.5 — on the training split the best single
# setting within tier 1's time (ANCHORS in candidates.py are measured on every image).
FALLBACK_CANDIDATE = ANCHORS[1]
# Measuring a traced candidate (two renders and SSIM) beyond its predicted trace time.
MEASURE_MS = 120.0
# Tiers 2 and 3 end by refining the best trace's outlines (vectorizer/refine.py), this many
# times: on 24 training variants 8 iterations leave 80 % of the fidelity error of the layers
# recipe's trace and 16 leave 79 % (0.18 and 0.33 s median); 4 are half the time of 8.
REFINE_ITERATIONS = {2: 4, 3: 8}
# Tier 3 stops its walk this long (times the pace) before its deadline, to refine the best.
REFINE_RESERVE_S = 0.6
# With a time budget, the traces chosen are predicted (times the pace) to fill at most this
# share of what remains: predictions are rough and the pace lags a sudden load.
BUDGET_SHARE = 0.7


class Pace:
    """How much slower traces run here and now than the predictor expects: observed ÷ predicted.

    The predictor learned trace times on a quiet machine; under load they run 2–4× longer, so
    a time budget kept with raw predictions is overrun. Every traced candidate updates this
    factor (a moving average in log space, so one outlier moves it little), and every time
    prediction is multiplied by it before a budget is checked.
    """

    def __init__(self, factor: float = 1.0, weight: float = 0.3) -> None:
        self.factor = factor
        self.weight = weight
        self._lock = threading.Lock()

    def update(self, predicted_ms: float, observed_ms: float) -> None:
        """Fold one observed trace (prepare + trace + measure) into the factor."""
        if not (predicted_ms > 0 and observed_ms > 0):
            return
        ratio = min(20.0, max(0.25, observed_ms / (predicted_ms + MEASURE_MS)))
        with self._lock:
            mixed = (1 - self.weight) * math.log(self.factor) + self.weight * math.log(ratio)
            self.factor = math.exp(mixed)

    def seconds(self, predicted_ms: float) -> float:
        """Return how long a trace predicted at `predicted_ms` takes now, measuring included."""
        return (predicted_ms + MEASURE_MS) * self.factor / 1000.0

    def limit_ms(self, seconds: float) -> float:
        """Return the predicted trace time that fits in `seconds` now (the inverse)."""
        return max(0.0, seconds * 1000.0 / self.factor - MEASURE_MS)


@dataclass(frozen=True)
class Attempt:
    """One candidate traced and measured."""

    candidate: Candidate
    svg: str
    ssim: float
    proxy: float  # the quality tiers compare by; the input-size SSIM when not measured
    svg_bytes: int
    path_count: int
    timings: dict[str, float]
    refined: bool = False  # the candidate's trace with its outlines refined (tiers 2 and 3)

    @classmethod
    def of(
        cls, candidate: Candidate, result: ConversionResult, *, refined: bool = False
    ) -> Attempt:
        """Return the attempt of `candidate` that produced `result`."""
        return cls(
            candidate=candidate,
            svg=result.svg,
            ssim=result.ssim,
            proxy=result.proxy if result.proxy is not None else result.ssim,
            svg_bytes=result.svg_bytes,
            path_count=result.path_count,
            timings=result.timings,
            refined=refined,
        )


Evaluator = Callable[[Sequence[Candidate]], "list[Attempt | Exception]"]
# Tiers 2 and 3 end with it: the best attempt's outlines refined (an Exception when it failed).
Refiner = Callable[[Attempt], "Attempt | Exception"]


@dataclass
class Plan:
    """The predictor's view of one image: every candidate with its predicted outcome."""

    candidates: list[Candidate]
    predicted: Predictions  # one row per candidate
    predictor: QualityModel
    image_vector: np.ndarray
    size: tuple[int, int]  # (height, width) of the input

    def order(
        self, *, max_bytes: int | None = None, time_limit_ms: float | None = None
    ) -> list[int]:
        """Return candidate indices, best first by predicted `worth` (fidelity against bytes).

        With `time_limit_ms`, only candidates predicted to trace within it; when none is, the
        fastest alone (a time limit is a promise, quality comes second).
        """
        fidelity = self.predicted.fidelity
        size = self.predicted.bytes
        times = self.predicted.time_ms
        allowed = np.ones(len(self.candidates), dtype=bool)
        if time_limit_ms is not None:
            if not (times <= time_limit_ms).any():
                return [int(np.argmin(times))]
            allowed &= times <= time_limit_ms
        if max_bytes is not None and (allowed & (size <= max_bytes)).any():
            allowed &= size <= max_bytes
        key = [-worth(float(fidelity[i]), float(size[i])) for i in range(len(size))]
        return [i for i in sorted(range(len(size)), key=key.__getitem__) if allowed[i]]

    def prediction_for(self, candidate: Candidate) -> Prediction:
        """Return the predicted outcome of a candidate (predicted now if it is not planned)."""
        if candidate in self.candidates:
            return self.predicted.at(self.candidates.index(candidate))
        height, width = self.size
        row = candidate.encode(height, width)[None, :]
        return self.predictor.predict(self.image_vector, row).at(0)


def make_plan(predictor: QualityModel, image_vector: np.ndarray, height: int, width: int) -> Plan:
    """Return predictions for the whole candidate space on one image."""
    candidates = candidate_space()
    matrix = np.stack([c.encode(height, width) for c in candidates])
    return Plan(
        candidates=candidates,
        predicted=predictor.predict(image_vector, matrix),
        predictor=predictor,
        image_vector=image_vector,
        size=(height, width),
    )


@dataclass
class TierResult:
    tier: int
    attempts: list[Attempt] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    best: Attempt | None = None
    # Why the rescue trace was returned instead (vectorizer/search.py); empty when it was not.
    rescued: str = ""
    # What kept this result from being the tier's full search (each a sentence for `problems`).
    shortfalls: list[str] = field(default_factory=list)


class TierError(RuntimeError):
    """No candidate could be traced."""


def worth(quality: float, svg_bytes: float) -> float:
    """Return what a result is worth: its quality less BYTE_COST per doubling of its bytes."""
    return quality - BYTE_COST * math.log2(max(svg_bytes, 1.0))


def pick_best(attempts: Sequence[Attempt], max_bytes: int | None = None) -> Attempt:
    """Return the measured attempt of most `worth` (proxy quality against bytes)."""
    pool = list(attempts)
    if max_bytes is not None:
        fitting = [a for a in pool if a.svg_bytes <= max_bytes]
        pool = fitting or [min(pool, key=lambda a: a.svg_bytes)]
    return max(pool, key=lambda a: worth(a.proxy, a.svg_bytes))


def first_batch(
    tier: int,
    plan: Plan | None,
    max_bytes: int | None = None,
    time_limit_ms: float | None = None,
) -> list[Candidate]:
    """Return what a tier traces first: the one place this choice is made.

    `time_limit_ms` is the predicted trace time that still fits the client's time budget.
    """
    if plan is None:
        return [FALLBACK_CANDIDATE]
    if tier == 1:
        limit = TIER1_TRACE_LIMIT_MS if time_limit_ms is None else time_limit_ms
        order = plan.order(max_bytes=max_bytes, time_limit_ms=limit)
        return [plan.candidates[order[0]]]
    n = TIER2_TRIES if tier == 2 else TIER3_SEED
    # Higher tiers always measure tier 1's pick too, so they can only do better than it.
    own = first_batch(1, plan, max_bytes, time_limit_ms)
    rest = [c for c in shortlist(plan, n, max_bytes, time_limit_ms=time_limit_ms) if c not in own]
    return [*own, *rest][:n]


def run_tier(
    tier: int,
    plan: Plan | None,
    evaluate: Evaluator,
    *,
    max_bytes: int | None = None,
    budget: Budget | None = None,
    workers: int = 2,
    has_alpha: bool = True,
    pace: Pace | None = None,
    refine: Refiner | None = None,
) -> TierResult:
    """Return the chosen conversion of one image for tier 1, 2 or 3.

    With `pace`, the budget binds every tier: only candidates predicted (times the pace) to
    finish before its deadline are traced. Without it, only tier 3's search stops at the
    deadline; without a budget tier 3 traces its seed alone. A tier given `refine` (the search
    gives it to tiers 2 and 3) ends by refining its best attempt's outlines, unless the
    deadline has come (vectorizer/refine.py).
    """
    result = TierResult(tier=tier)
    limit = None
    if pace is not None and budget is not None:
        limit = pace.limit_ms(budget.left() * BUDGET_SHARE)
    _try(first_batch(tier, plan, max_bytes, time_limit_ms=limit), evaluate, result)
    if not result.attempts:
        raise TierError("; ".join(result.failures) or "no candidate could be traced")
    result.best = pick_best(result.attempts, max_bytes)
    if tier == 3 and budget is not None:
        reserve = REFINE_RESERVE_S * (pace.factor if pace is not None else 1.0) if refine else 0.0
        _walk(
            result,
            plan,
            evaluate,
            budget,
            reserve=reserve,
            max_bytes=max_bytes,
            workers=workers,
            has_alpha=has_alpha,
            pace=pace,
        )
    if budget is None or not budget.expired():
        _refine(result, refine, max_bytes)
    return result


def _walk(
    result: TierResult,
    plan: Plan | None,
    evaluate: Evaluator,
    budget: Budget,
    *,
    reserve: float,
    max_bytes: int | None,
    workers: int,
    has_alpha: bool,
    pace: Pace | None,
) -> None:
    """Tier 3: trace untried neighbours of the best, a batch per worker round, while one fits.

    The walk stops `reserve` seconds before the deadline (the refinement's time) once another
    batch, as long as the slowest so far, would not fit.
    """
    best = result.best
    assert best is not None
    tried = {a.candidate for a in result.attempts}
    batch_times: list[float] = []
    while True:
        remaining = budget.left(reserve)
        if remaining <= (max(batch_times) if batch_times else 0.0):
            return
        moves = [c for c in neighbours(best.candidate, has_alpha=has_alpha) if c not in tried]
        moves = _promising(moves, best.candidate, plan)
        if pace is not None and plan is not None:
            fits = pace.limit_ms(remaining * BUDGET_SHARE)
            moves = [c for c in moves if plan.prediction_for(c).time_ms <= fits]
        if not moves:
            return
        moves = moves[:workers]
        tried.update(moves)
        started = budget.clock()
        _try(moves, evaluate, result)
        batch_times.append(budget.clock() - started)
        result.best = best = pick_best(result.attempts, max_bytes)


def _refine(result: TierResult, refine: Refiner | None, max_bytes: int | None) -> None:
    """Refine the best attempt's outlines; the refined attempt wins.

    The 2× proxy barely sees sub-pixel moves (fidelity to the true vector does: on 24 training
    variants the refined outlines left 81 % of the error for 7 % more bytes), and refine_svg
    keeps the traced outline unless the input's own error fell: so the refined attempt is kept,
    within max_bytes.
    """
    best = result.best
    if refine is None or best is None:
        return
    outcome = refine(best)
    if isinstance(outcome, Exception):
        result.failures.append(f"refinement: {outcome}")
        return
    result.attempts.append(outcome)
    if max_bytes is None or outcome.svg_bytes <= max_bytes:
        result.best = outcome


def _try(candidates: Sequence[Candidate], evaluate: Evaluator, result: TierResult) -> None:
    for candidate, outcome in zip(candidates, evaluate(candidates), strict=True):
        if isinstance(outcome, Exception):
            result.failures.append(f"{candidate.long_side} px trace: {outcome}")
        else:
            result.attempts.append(outcome)


def shortlist(
    plan: Plan, n: int, max_bytes: int | None, *, time_limit_ms: float | None = None
) -> list[Candidate]:
    """Return the n best-predicted candidates, at most one of them slow to trace.

    With two workers the slowest trace is the critical path, so one slow candidate (usually the
    biggest trace resolution) runs beside the fast ones instead of after another slow one.
    """
    picked: list[Candidate] = []
    slow = 0
    order = plan.order(max_bytes=max_bytes, time_limit_ms=time_limit_ms)
    for i in order:
        if len(picked) >= n:
            break
        is_slow = float(plan.predicted.time_ms[i]) > SLOW_TRACE_MS
        if is_slow and slow >= 1:
            continue
        slow += int(is_slow)
        picked.append(plan.candidates[i])
    # When every candidate is slow (a tiny upload traced at 8×), there is nothing faster to
    # run beside the slow one: take the best of them.
    for i in order:
        if len(picked) >= n:
            break
        if plan.candidates[i] not in picked:
            picked.append(plan.candidates[i])
    return picked


def _promising(moves: list[Candidate], current: Candidate, plan: Plan | None) -> list[Candidate]:
    """Return moves the predictor does not expect to lose worth, best predicted first.

    The runtime proxy judges what was traced; the predictor keeps the walk away from moves
    that the proxy is known to over-rate.
    """
    if plan is None or not moves:
        return moves
    height, width = plan.size
    matrix = np.stack([c.encode(height, width) for c in [current, *moves]])
    predicted = plan.predictor.predict(plan.image_vector, matrix)
    value = [
        worth(float(f), float(b)) for f, b in zip(predicted.fidelity, predicted.bytes, strict=True)
    ]
    floor = value[0] - MOVE_TOLERANCE
    ranked = sorted(range(len(moves)), key=lambda i: -value[i + 1])
    return [moves[i] for i in ranked if value[i + 1] >= floor]
