"""The three tiers: how much work to spend choosing settings for one image, as one anytime search.

1. Predict: rank every candidate with the quality predictor, trace the best one once.
2. Rank and verify: trace tier 1's pick beside the predictor's next best (in parallel), keep the
   better, and refine its outlines against the input.
3. Search: go on from tier 2's (refined) result, tracing the rest of the predictor's best four
   and then neighbouring candidates (scale, palette size, JPEG clean-up, alpha threshold,
   curve fitting) until shortly before the time budget ends, then refine the best further.

Each tier continues from the one below and replaces its result only with one that ranks higher
(`rank`: within `max_bytes`, then `worth`: the measured quality less BYTE_COST per doubling of
the SVG), so per image a higher tier never ranks below a lower one. "Measured" is one measure in
every tier, `Attempt.proxy` (quality.choosing_quality, measured as vectorizer/search.py asks).
Time for the refinement is reserved, candidates that trace the same thing are traced once, and
`TierResult.shortfalls` says what kept a result from being the tier's full search. Tracing
itself is injected (`Evaluator`, `Refiner`) so this module stays free of processes:
vectorizer/search.py gives it the worker pool, the budget and the rescue.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from vectorizer.budget import Budget, Pace
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
# Tiers 2 and 3 end by refining the best trace's outlines (vectorizer/refine.py), this many
# rounds in all: on 24 training variants 8 iterations leave 80 % of the fidelity error of the
# layers recipe's trace and 16 leave 79 % (0.18 and 0.33 s median); 4 are half the time of 8.
# Tier 3 goes on from tier 2's refined result when its best trace is still tier 2's.
REFINE_ITERATIONS = {2: 4, 3: 8}
# Kept (times the pace) for each tier's refinement: tier 2's first traces are chosen to leave
# it, tier 3's walk stops this long before the deadline.
REFINE_RESERVE_S = {2: 0.3, 3: 0.6}
# Tier 3 then optimises the best vector itself (vectorizer/optimise.py: fills, gradient stops and
# outlines against the input) for up to this long, also kept (times the pace) from its walk. On
# 15 held-out logos × 3 variants, 1.2 s took tier 2's result from 76.7 % to 84.2–84.7 % of
# vtracer's fidelity error removed, worse on none; 1.6 s beside it: 84.9 %, worse on 1, 0.2 s
# more on average (README "Optimising the vector itself").
OPTIMISE_S = 1.2
# What an optimisation may overrun its limit by (its first renders are not bounded).
OPTIMISE_OVERRUN_S = 0.4
# Less than this left: the optimiser is not started.
OPTIMISE_MIN_S = 0.2
# With a time budget, the traces chosen are predicted (times the pace) to fill at most this
# share of what remains: predictions are rough and the pace lags a sudden load.
BUDGET_SHARE = 0.7


@dataclass(frozen=True)
class Attempt:
    """One candidate traced and measured."""

    candidate: Candidate
    svg: str
    ssim: float
    proxy: float  # the quality every tier ranks by (quality.choosing_quality); else the SSIM
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
# Tiers 2 and 3 end with it: an attempt's outlines refined by this many more rounds (an
# Exception when it failed), measured as the evaluator measures.
Refiner = Callable[[Attempt, int], "Attempt | Exception"]
# Tier 3 ends with it: an attempt's vector optimised for at most this many seconds.
Optimiser = Callable[[Attempt, float], "Attempt | Exception"]


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


def rank(attempt: Attempt, max_bytes: int | None = None) -> tuple[bool, float]:
    """Return how an attempt ranks: within `max_bytes` first, then by `worth` (else by size).

    The one order every tier chooses by. A tier replaces its result only with an attempt that
    ranks strictly higher, and each tier continues from the result of the tier below, so per
    image a higher tier never ranks below a lower one.
    """
    fits = max_bytes is None or attempt.svg_bytes <= max_bytes
    return fits, worth(attempt.proxy, attempt.svg_bytes) if fits else -float(attempt.svg_bytes)


def pick_best(attempts: Sequence[Attempt], max_bytes: int | None = None) -> Attempt:
    """Return the attempt that ranks highest, the earliest of equals (see `rank`)."""
    return max(attempts, key=lambda a: rank(a, max_bytes))


def traced_as(candidate: Candidate, size: tuple[int, int] | None) -> object:
    """Return what `candidate` really traces on an image of `size` (height, width).

    Candidates that differ only in a knob their tracer ignores (vtracer's thresholds for
    potrace, σ and tolerance for vtracer) or in a trace resolution clamped to the same factor
    (a 128 px upload at 1024 and 2048 px is 8× both times) trace the same SVG: a tier traces
    each of these keys once.
    """
    if size is None:
        return candidate
    prep, params = candidate.materialize(*size)
    if candidate.tracer == "layers":
        return ("layers", prep, candidate.layer_params(*size), candidate.gradients)
    return ("vtracer", prep, params, candidate.gradients)


def first_batch(
    tier: int,
    plan: Plan | None,
    max_bytes: int | None = None,
    time_limit_ms: float | None = None,
) -> list[Candidate]:
    """Return the candidates a tier measures before it walks: the one place this choice is made.

    Tier 1's pick comes first, then the best predicted (`shortlist`), each tracing something
    the others do not. `time_limit_ms` is the predicted trace time that still fits the
    client's time budget.
    """
    if plan is None:
        return [FALLBACK_CANDIDATE]
    if tier == 1:
        limit = TIER1_TRACE_LIMIT_MS if time_limit_ms is None else time_limit_ms
        order = plan.order(max_bytes=max_bytes, time_limit_ms=limit)
        return [plan.candidates[order[0]]]
    n = TIER2_TRIES if tier == 2 else TIER3_SEED
    own = first_batch(1, plan, max_bytes, time_limit_ms)
    ranked = shortlist(plan, n + TIER3_SEED, max_bytes, time_limit_ms=time_limit_ms)
    return _distinct([*own, *ranked], plan.size)[:n]


def _distinct(candidates: Sequence[Candidate], size: tuple[int, int] | None) -> list[Candidate]:
    """Return `candidates` without those tracing the same as an earlier one (order kept)."""
    seen: set[object] = set()
    out = []
    for candidate in candidates:
        key = traced_as(candidate, size)
        if key not in seen:
            seen.add(key)
            out.append(candidate)
    return out


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
    optimise: Optimiser | None = None,
) -> TierResult:
    """Return the chosen conversion of one image for tier 1, 2 or 3: one anytime search.

    Each tier continues from the one below: tier 1 traces its pick; tier 2 traces it beside
    its second pick, keeps the better, and refines it; tier 3 goes on from tier 2's (refined)
    result, walking to neighbouring candidates until `REFINE_RESERVE_S[3]` before the deadline,
    then refines the best further. A result is replaced only by one that ranks higher (`rank`),
    so per image a higher tier is never behind a lower one on that measure. With `pace`, the
    budget binds every tier: only candidates predicted (times the pace) to finish before its
    deadline, less the time kept for the refinement, are traced. Without a budget, tier 3
    traces its seed and does not walk. What cut the search short is said in `shortfalls`.
    """
    search = _Search(tier, plan, evaluate, refine, max_bytes, budget, pace, optimise)
    search.start()
    lower: dict[int, Attempt | None] = {1: search.result.attempts[0]}
    if tier >= 2:
        search.refine_best(REFINE_ITERATIONS[2])
    if tier >= 3:
        lower[2] = search.result.best
        search.walk(workers=workers, has_alpha=has_alpha)
        search.refine_best(REFINE_ITERATIONS[3])
        search.optimise_best()
    if tier >= 2:
        search.fell_back(lower)
    return search.result


@dataclass
class _Search:
    """One image's run through the tiers: what was traced, the result so far, the time left."""

    tier: int
    plan: Plan | None
    evaluate: Evaluator
    refine: Refiner | None
    max_bytes: int | None
    budget: Budget | None
    pace: Pace | None
    optimise: Optimiser | None = None
    result: TierResult = field(init=False)
    traced: set[object] = field(default_factory=set)
    # Per traced key, its refined attempt and how many rounds of refinement it has had.
    refined: dict[object, tuple[Attempt, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.result = TierResult(tier=self.tier)

    @property
    def size(self) -> tuple[int, int] | None:
        return self.plan.size if self.plan is not None else None

    def start(self) -> None:
        """Trace tier 1's pick (beside tier 2's second pick from tier 2 on), keep the best."""
        limit = self.time_limit(self.reserve(2))
        batch = first_batch(min(self.tier, 2), self.plan, self.max_bytes, time_limit_ms=limit)
        self.trace(batch)
        if not self.result.attempts:
            raise TierError("; ".join(self.result.failures) or "no candidate could be traced")
        self.result.best = pick_best(self.result.attempts, self.max_bytes)
        wanted = len(first_batch(min(self.tier, 2), self.plan, self.max_bytes))
        if limit is not None and len(batch) < wanted:
            self.result.shortfalls.append(
                f"the time budget left room for {len(batch)} of tier 2's {wanted} first traces"
            )

    def reserve(self, tier: int) -> float:
        """Return the seconds (at pace 1) kept for tier `tier`'s refinement, if it refines."""
        if self.tier < tier or self.refine is None:
            return 0.0
        optimising = tier == 3 and self.optimise is not None
        return REFINE_RESERVE_S[tier] + (OPTIMISE_S if optimising else 0.0)

    def time_limit(self, reserve_s: float) -> float | None:
        """Return the predicted trace time that fits the client's budget, less `reserve_s`."""
        if self.pace is None or self.budget is None:
            return None
        left = self.budget.left(reserve_s * self.pace.factor)
        return self.pace.limit_ms(max(0.0, left) * BUDGET_SHARE)

    def fresh(self, candidates: Sequence[Candidate]) -> list[Candidate]:
        """Return the candidates that trace something not traced yet (one of each)."""
        distinct = _distinct(candidates, self.size)
        return [c for c in distinct if traced_as(c, self.size) not in self.traced]

    def trace(self, candidates: Sequence[Candidate]) -> None:
        """Trace the fresh ones of `candidates` in one batch; keep a better result."""
        batch = self.fresh(candidates)
        if not batch:
            return
        self.traced.update(traced_as(c, self.size) for c in batch)
        stopped = 0
        for candidate, outcome in zip(batch, self.evaluate(batch), strict=True):
            if isinstance(outcome, Exception):
                self.result.failures.append(f"{candidate.long_side} px trace: {outcome}")
                stopped += int(self.pace is not None and self.expired())
            else:
                self.result.attempts.append(outcome)
                self.offer(outcome)
        if stopped:
            self.result.shortfalls.append(f"the time budget stopped {stopped} trace(s) early")

    def offer(self, attempt: Attempt) -> None:
        """Make `attempt` the result if it ranks strictly higher than the result so far."""
        best = self.result.best
        if best is None or rank(attempt, self.max_bytes) > rank(best, self.max_bytes):
            self.result.best = attempt

    def expired(self) -> bool:
        return self.budget is not None and self.budget.expired()

    def refine_best(self, rounds: int) -> None:
        """Refine the best trace's outlines to `rounds` rounds in all, going on from earlier ones.

        The refined attempt replaces the result only if it ranks higher.
        """
        if self.refine is None:
            return
        raw = pick_best([a for a in self.result.attempts if not a.refined], self.max_bytes)
        key = traced_as(raw.candidate, self.size)
        start, done = self.refined.get(key, (raw, 0))
        if done >= rounds:
            return
        if self.expired():
            self.result.shortfalls.append("the time budget left no time to refine the outlines")
            return
        outcome = self.refine(start, rounds - done)
        if isinstance(outcome, Exception):
            self.result.failures.append(f"refinement: {outcome}")
            why = "stopped by the time budget" if self.expired() else f"failed ({outcome})"
            self.result.shortfalls.append(f"the outlines' refinement was {why}")
            return
        self.refined[key] = (outcome, rounds)
        self.result.attempts.append(outcome)
        self.offer(outcome)

    def optimise_best(self) -> None:
        """Tier 3: optimise the best result's vector in the time left, up to OPTIMISE_S.

        The optimised attempt replaces the result only if it ranks higher.
        """
        best = self.result.best
        if self.optimise is None or best is None:
            return
        seconds = OPTIMISE_S
        if self.budget is not None:
            pace = self.pace.factor if self.pace is not None else 1.0
            seconds = min(seconds, self.budget.left(OPTIMISE_OVERRUN_S * pace) / pace)
        if seconds < OPTIMISE_MIN_S:
            self.result.shortfalls.append("the time budget left no time to optimise the vector")
            return
        outcome = self.optimise(best, seconds)
        if isinstance(outcome, Exception):
            self.result.failures.append(f"optimisation: {outcome}")
            why = "stopped by the time budget" if self.expired() else f"failed ({outcome})"
            self.result.shortfalls.append(f"the vector's optimisation was {why}")
            return
        self.result.attempts.append(outcome)
        self.offer(outcome)

    def fell_back(self, lower: dict[int, Attempt | None]) -> None:
        """Say so when the result is still the result of a lower tier (`lower`: tier → result)."""
        tier = next((t for t, a in sorted(lower.items()) if a is self.result.best), None)
        if tier is None:
            return
        took = ""
        if self.budget is not None:
            took = f" within {self.budget.clock() - self.budget.started:.1f} s"
        self.result.shortfalls.append(
            f"tier {self.tier}'s search found nothing better than tier {tier}'s result{took}"
        )

    def walk(self, *, workers: int, has_alpha: bool) -> None:
        """Tier 3: trace the rest of its seed, then untried neighbours of the best trace.

        A batch per worker round while one fits: the walk stops `REFINE_RESERVE_S[3]` (times
        the pace) before the deadline, once another batch as long as the slowest so far would
        not fit. Without a budget it traces the seed alone.
        """
        seed = first_batch(3, self.plan, self.max_bytes)
        if self.budget is None:
            self.trace(seed)
            return
        budget, batch_times = self.budget, list[float]()
        reserve = self.reserve(3) * (self.pace.factor if self.pace is not None else 1.0)
        while budget.left(reserve) > (max(batch_times) if batch_times else 0.0):
            moves = self.moves(seed, has_alpha, budget.left(reserve))
            if not moves:
                break
            started = budget.clock()
            self.trace(moves[:workers])
            batch_times.append(budget.clock() - started)
        untraced = len(self.fresh(seed))
        if untraced:
            self.result.shortfalls.append(
                f"the time budget cut tier 3's search short: {untraced} of its first "
                f"{len(seed)} candidates were not traced"
            )

    def moves(self, seed: list[Candidate], has_alpha: bool, remaining: float) -> list[Candidate]:
        """Return what the walk may trace next: its seed first, then promising neighbours."""
        moves = self.fresh(seed)
        if not moves:
            raw = pick_best([a for a in self.result.attempts if not a.refined], self.max_bytes)
            around = self.fresh(neighbours(raw.candidate, has_alpha=has_alpha))
            moves = _promising(around, raw.candidate, self.plan)
        if self.pace is not None and self.plan is not None:
            fits = self.pace.limit_ms(remaining * BUDGET_SHARE)
            moves = [c for c in moves if self.plan.prediction_for(c).time_ms <= fits]
        return moves


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
