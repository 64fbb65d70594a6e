"""The three tiers: how much work to spend choosing settings for one image.

1. Predict: rank every candidate with the quality predictor, trace the best one once.
2. Rank and verify: trace the predictor's best few (in parallel) and keep the best measured.
3. Search: start from tier 2's measurements and walk to neighbouring candidates (scale,
   palette size, JPEG clean-up, alpha threshold, curve fitting) with real measurements until
   the time budget ends.

"Measured" means `proxy` quality: SSIM of the SVG at 2× against the input upscaled
bicubically, which tracks fidelity to the true vector, where SSIM at the input's own size
rewards pixel staircases. Among near-equal results the smaller SVG wins, and an optional
`max_bytes` is honoured whenever any result meets it. Tracing itself is injected (`Evaluator`)
so this module stays free of processes and Django.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vectorizer.candidates import Candidate, candidate_space, neighbours

# Results within this much proxy quality of the best count as equal: then fewer bytes win.
NEAR_EQUAL = 0.002
# Tier 1 traces once; it skips candidates predicted slower than this.
TIER1_TRACE_LIMIT_MS = 300.0
# One trace per worker (two by default): a third would queue behind the others and add a
# whole trace to tier 2's time for well under a point of fidelity.
TIER2_TRIES = 2
TIER3_SEED = 4
# A candidate predicted to take longer than this to prepare and trace counts as slow.
SLOW_TRACE_MS = 400.0
# Tier 3 tries a move only when its predicted fidelity is at most this far below the current.
MOVE_TOLERANCE = 0.003
# The default when no predictor is available: 2× trace resolution, palette snapping.
FALLBACK_CANDIDATE = Candidate(long_side=1024, palette=-1, max_colors=16, speckle=4)


@dataclass(frozen=True)
class Attempt:
    candidate: Candidate
    svg: str
    ssim: float
    proxy: float
    svg_bytes: int
    path_count: int
    timings: dict[str, float]

    @classmethod
    def from_result(cls, candidate: Candidate, result: dict[str, Any]) -> Attempt:
        """Return an attempt from a pipeline.convert_prepared result dict."""
        return cls(
            candidate=candidate,
            svg=result["svg"],
            ssim=result["ssim"],
            proxy=result["proxy"] if result.get("proxy") is not None else result["ssim"],
            svg_bytes=result["svg_bytes"],
            path_count=result["path_count"],
            timings=result.get("timings", {}),
        )


Evaluator = Callable[[Sequence[Candidate]], list["Attempt | Exception"]]


@dataclass
class Plan:
    """The predictor's view of one image: every candidate with its predicted outcome."""

    candidates: list[Candidate]
    predicted: dict[str, np.ndarray]  # ssim, fidelity, bytes, time_ms per candidate

    def order(self, *, max_bytes: int | None = None, time_limit_ms: float | None = None):
        """Return candidate indices, best first: predicted fidelity, then fewer bytes."""
        fidelity = self.predicted["fidelity"]
        size = self.predicted["bytes"]
        allowed = np.ones(len(self.candidates), dtype=bool)
        if time_limit_ms is not None and (self.predicted["time_ms"] <= time_limit_ms).any():
            allowed &= self.predicted["time_ms"] <= time_limit_ms
        if max_bytes is not None and (allowed & (size <= max_bytes)).any():
            allowed &= size <= max_bytes
        # Fidelity bucketed to NEAR_EQUAL, so near-equal candidates sort by bytes.
        key = [(-round(float(fidelity[i]) / NEAR_EQUAL), float(size[i])) for i in range(len(size))]
        return [i for i in sorted(range(len(size)), key=key.__getitem__) if allowed[i]]

    def prediction_for(self, candidate: Candidate) -> dict[str, float] | None:
        """Return the predicted outcome of a candidate in the plan, if it is there."""
        try:
            i = self.candidates.index(candidate)
        except ValueError:
            return None
        return {name: float(values[i]) for name, values in self.predicted.items()}


def make_plan(predictor: Any, image_vector: np.ndarray, height: int, width: int, extra=()) -> Plan:
    """Return predictions for the whole candidate space (plus `extra`) on one image."""
    candidates = [*candidate_space(), *[c for c in extra if c not in candidate_space()]]
    matrix = np.stack([c.encode(height, width) for c in candidates])
    return Plan(candidates=candidates, predicted=predictor.predict(image_vector, matrix))


@dataclass
class TierResult:
    tier: int
    best: Attempt
    attempts: list[Attempt] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class TierError(RuntimeError):
    """No candidate could be traced."""


def pick_best(attempts: Sequence[Attempt], max_bytes: int | None = None) -> Attempt:
    """Return the best measured attempt: top proxy quality, fewer bytes among near-equals."""
    pool = list(attempts)
    if max_bytes is not None:
        fitting = [a for a in pool if a.svg_bytes <= max_bytes]
        pool = fitting or [min(pool, key=lambda a: a.svg_bytes)]
    top = max(a.proxy for a in pool)
    return min((a for a in pool if a.proxy >= top - NEAR_EQUAL), key=lambda a: a.svg_bytes)


def run_tier(
    tier: int,
    plan: Plan | None,
    evaluate: Evaluator,
    *,
    max_bytes: int | None = None,
    deadline: float | None = None,
    workers: int = 2,
    predictor: Any = None,
    image_vector: np.ndarray | None = None,
    size: tuple[int, int] = (0, 0),
    has_alpha: bool = True,
) -> TierResult:
    """Return the chosen conversion of one image for tier 1, 2 or 3."""
    if plan is None:
        first = [FALLBACK_CANDIDATE]
    elif tier == 1:
        first = [
            plan.candidates[plan.order(max_bytes=max_bytes, time_limit_ms=TIER1_TRACE_LIMIT_MS)[0]]
        ]
    else:
        first = shortlist(plan, TIER2_TRIES if tier == 2 else TIER3_SEED, max_bytes)
    result = TierResult(tier=tier, best=None)  # type: ignore[arg-type]
    _try(first, evaluate, result)
    if not result.attempts:
        raise TierError("; ".join(result.failures) or "no candidate could be traced")
    result.best = pick_best(result.attempts, max_bytes)
    if tier < 3:
        return result
    tried = {a.candidate for a in result.attempts}
    batch_times: list[float] = []
    while deadline is not None:
        remaining = deadline - time.monotonic()
        expected = max(batch_times) if batch_times else 0.0
        if remaining <= expected:
            break
        moves = [
            c for c in neighbours(result.best.candidate, has_alpha=has_alpha) if c not in tried
        ]
        moves = _promising(moves, result.best.candidate, predictor, image_vector, size)
        if not moves:
            break
        moves = moves[:workers]
        tried.update(moves)
        started = time.monotonic()
        _try(moves, evaluate, result)
        batch_times.append(time.monotonic() - started)
        result.best = pick_best(result.attempts, max_bytes)
    return result


def _try(candidates: Sequence[Candidate], evaluate: Evaluator, result: TierResult) -> None:
    for candidate, outcome in zip(candidates, evaluate(candidates), strict=True):
        if isinstance(outcome, Exception):
            result.failures.append(f"{candidate.long_side} px trace: {outcome}")
        else:
            result.attempts.append(outcome)


def shortlist(plan: Plan, n: int, max_bytes: int | None) -> list[Candidate]:
    """Return the n best-predicted candidates, at most one of them slow to trace.

    With two workers the slowest trace is the critical path, so one slow candidate (usually the
    biggest trace resolution) runs beside the fast ones instead of after another slow one.
    """
    picked: list[Candidate] = []
    slow = 0
    for i in plan.order(max_bytes=max_bytes):
        if len(picked) >= n:
            break
        is_slow = float(plan.predicted["time_ms"][i]) > SLOW_TRACE_MS
        if is_slow and slow >= 1:
            continue
        slow += int(is_slow)
        picked.append(plan.candidates[i])
    return picked


def _promising(
    moves: list[Candidate],
    current: Candidate,
    predictor: Any,
    image_vector: np.ndarray | None,
    size: tuple[int, int],
) -> list[Candidate]:
    """Return moves the predictor does not expect to lose fidelity, best predicted first.

    The runtime proxy judges what was traced; the predictor keeps the walk away from moves
    that the proxy is known to over-rate.
    """
    if predictor is None or image_vector is None or not moves:
        return moves
    height, width = size
    matrix = np.stack([c.encode(height, width) for c in [current, *moves]])
    fidelity = predictor.predict(image_vector, matrix)["fidelity"]
    floor = float(fidelity[0]) - MOVE_TOLERANCE
    ranked = sorted(range(len(moves)), key=lambda i: -float(fidelity[i + 1]))
    return [moves[i] for i in ranked if float(fidelity[i + 1]) >= floor]
