"""Automatic tier choice: the cheapest tier predicted to reach the target in the time budget.

Per-tier estimates come from the quality predictor's plan (what the tier would trace and how
long that takes). Measured SSIM saturates near 1 for most logos, so a high target also sets a
floor: asking for 0.9 or more means caring about quality, which tier 1 never verifies; the
floors are part of the routing contract existing clients rely on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypedDict

from vectorizer.budget import DEFAULT_TIME_BUDGET_S, MEASURE_MS, Budget, Pace
from vectorizer.tiers import Plan, first_batch

# What a client that names no target gets (the API's default too).
DEFAULT_TARGET_QUALITY = 0.9
# (minimum target, minimum tier): 0.95 → 3, 0.9 → 2 or 3, below 0.85 → any tier.
TIER_FLOORS = ((0.93, 3), (0.85, 2))
# Work outside tracing: decoding, features, measuring the result (~ms on 512 px logos).
OVERHEAD_S = {1: 0.25, 2: 0.35, 3: 0.5}
# Gain of measured choice over prediction alone, in SSIM, from benchmark runs.
SEARCH_GAIN = {1: 0.0, 2: 0.002, 3: 0.004}


@dataclass(frozen=True)
class TierEstimate:
    tier: int
    quality: float  # predicted measured SSIM
    fidelity: float  # predicted fidelity to the true vector
    time_s: float


class EstimateDict(TypedDict):
    tier: int
    quality: float
    fidelity: float
    time_s: float


class RouteDict(TypedDict):
    """`Route.as_dict()`: the routing decision as the API reports it."""

    tier: int
    reason: str
    estimates: dict[str, EstimateDict]


@dataclass(frozen=True)
class Route:
    tier: int
    reason: str
    estimates: tuple[TierEstimate, ...] = ()
    # The predicted SSIM the reason quotes ("predicted 0.999"), when it quotes one.
    quoted: float | None = None

    def settled(self, predicted: float | None) -> Route:
        """Return this route with its reason quoting `predicted`, the SSIM predicted for the
        SVG returned, in place of the tier's estimate: an answer states one prediction.

        A tier's estimate is the best it could reach; the search may keep another candidate
        (fewer bytes, a lower tier's trace, the rescue), and the answer's quality_prediction
        is that candidate's. The routing decision itself is unchanged (`estimates` keep it).
        """
        if self.quoted is None or predicted is None:
            return self
        before, after = f"predicted {self.quoted:.3f}", f"predicted {predicted:.3f}"
        if before == after:
            return self
        reason = self.reason.replace(before, f"{after} for the SVG returned", 1)
        return replace(self, reason=reason, quoted=predicted)

    def as_dict(self) -> RouteDict:
        """Return the routing decision as the API reports it."""
        return {
            "tier": self.tier,
            "reason": self.reason,
            "estimates": {
                str(e.tier): {
                    "tier": e.tier,
                    "quality": e.quality,
                    "fidelity": e.fidelity,
                    "time_s": e.time_s,
                }
                for e in self.estimates
            },
        }


def route(
    plan: Plan | None,
    *,
    tier: int | str = "auto",
    target_quality: float = DEFAULT_TARGET_QUALITY,
    budget: Budget | None = None,
    max_bytes: int | None = None,
    workers: int = 2,
    pace: Pace | None = None,
) -> Route:
    """Return the tier to run: the one requested, else the one the estimates call for."""
    estimates = (
        estimate_tiers(plan, workers=workers, max_bytes=max_bytes, pace=pace)
        if plan is not None
        else ()
    )
    if tier != "auto":
        return Route(int(tier), f"tier {tier} requested", estimates)
    budget = budget or Budget()
    if plan is None:
        return route_without_predictor(target_quality=target_quality, budget=budget)
    return choose_tier(estimates, target_quality=target_quality, budget=budget)


def estimate_tiers(
    plan: Plan, *, workers: int = 2, max_bytes: int | None = None, pace: Pace | None = None
) -> tuple[TierEstimate, ...]:
    """Return predicted quality and time for each tier on this image (times the pace)."""
    first = plan.candidates.index(first_batch(1, plan, max_bytes)[0])
    ranked = [plan.candidates.index(c) for c in first_batch(2, plan, max_bytes)]
    quality, fidelity = plan.predicted.ssim, plan.predicted.fidelity
    factor = pace.factor if pace is not None else 1.0
    # Measuring one result renders it twice and compares: MEASURE_MS beyond the trace.
    seconds = (plan.predicted.time_ms + MEASURE_MS) * factor / 1000.0
    measure = 0.0
    # Two workers: the slowest trace runs beside the others, so it sets the pace.
    tier2_traces = seconds[ranked] + measure
    tier2_time = max(float(tier2_traces.max()), float(tier2_traces.sum()) / max(1, workers))
    estimates = [
        TierEstimate(
            1,
            float(quality[first]),
            float(fidelity[first]),
            float(seconds[first]) + measure + OVERHEAD_S[1],
        ),
        TierEstimate(
            2,
            float(quality[ranked].max()) + SEARCH_GAIN[2],
            float(fidelity[ranked].max()),
            tier2_time + OVERHEAD_S[2],
        ),
        TierEstimate(
            3, float(quality.max()) + SEARCH_GAIN[3], float(fidelity.max()), DEFAULT_TIME_BUDGET_S
        ),
    ]
    return tuple(
        TierEstimate(e.tier, min(1.0, e.quality), min(1.0, e.fidelity), e.time_s) for e in estimates
    )


def floor_for(target_quality: float) -> int:
    """Return the lowest tier allowed for a quality target."""
    for minimum, tier in TIER_FLOORS:
        if target_quality >= minimum:
            return tier
    return 1


def choose_tier(
    estimates: tuple[TierEstimate, ...], *, target_quality: float, budget: Budget
) -> Route:
    """Return the cheapest tier predicted to reach `target_quality` within the client's budget."""
    by_tier = {e.tier: e for e in estimates}
    floor = floor_for(target_quality)
    fits = [e for e in estimates if budget.allows(e.time_s)]
    if not fits:
        return Route(
            1,
            f"no tier is predicted to finish in {budget.seconds:g} s; tier 1 is the fastest",
            estimates,
        )
    allowed = [e for e in fits if e.tier >= floor]
    if not allowed:
        best = max(fits, key=lambda e: e.tier)
        return Route(
            best.tier,
            f"target {target_quality:g} calls for tier {floor}, but its "
            f"predicted {by_tier[floor].time_s:.1f} s exceeds the {budget.seconds:g} s "
            f"budget; tier {best.tier} is the best that fits",
            estimates,
        )
    for e in sorted(allowed, key=lambda e: e.tier):
        if e.quality >= target_quality:
            return Route(
                e.tier,
                f"tier {e.tier} is the cheapest predicted to reach "
                f"{target_quality:g} in {e.time_s:.1f} s (predicted {e.quality:.3f})"
                + (
                    f"; targets from {floor_target(floor):g} use tier {floor} or above"
                    if floor > 1
                    else ""
                ),
                estimates,
                quoted=e.quality,
            )
    # Unreachable target: escalate at most one tier above the floor (0.7 → 1 or 2, never 3).
    reachable = [e for e in allowed if e.tier <= floor + 1] or allowed
    best = max(reachable, key=lambda e: (e.quality, -e.tier))
    return Route(
        best.tier,
        f"no tier is predicted to reach {target_quality:g}; tier {best.tier} is the best of "
        f"those the target calls for (predicted {best.quality:.3f})",
        estimates,
        quoted=best.quality,
    )


def floor_target(tier: int) -> float:
    """Return the lowest target that requires `tier`."""
    return next(minimum for minimum, t in TIER_FLOORS if t == tier)


def route_without_predictor(*, target_quality: float, budget: Budget) -> Route:
    """Return a route from the target and budget alone (the predictor is unavailable)."""
    tier = floor_for(target_quality)
    if not budget.allows(1.0):
        tier = 1
    elif not budget.allows(DEFAULT_TIME_BUDGET_S):
        tier = min(tier, 2)
    return Route(tier, "predictor unavailable: tier chosen from the target and budget alone")
