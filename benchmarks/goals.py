"""Issue 19's goals per tier, held against a tier benchmark's summary.

The README's benchmark section shows every goal beside what the last run measured, so whether a
goal is met is read off the same numbers as the tables, never written by hand. The goals are
those of the issue (held-out logos, quiet machine, sequential); the time-budget goal has its own
command and table (`benchmark_budget`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol


class _Figures(Protocol):
    """What a goal reads of a tier's figures (tier_report.Figures)."""

    @property
    def error_removed(self) -> float | None: ...
    @property
    def median_bytes_ratio(self) -> float: ...
    @property
    def mean_bytes_ratio(self) -> float: ...
    @property
    def p95_time_s(self) -> float: ...
    @property
    def worse_than_below(self) -> int | None: ...
    @property
    def compared_with_below(self) -> int | None: ...


def _worse_share(f: _Figures) -> float | None:
    if not f.compared_with_below or f.worse_than_below is None:
        return None
    return f.worse_than_below / f.compared_with_below


@dataclass(frozen=True)
class Goal:
    """A figure each tier must reach: at least (`at_least`) or at most its limit."""

    name: str
    value: Callable[[_Figures], float | None]
    limits: Mapping[str, float]  # by tier; a tier without a limit has no such goal
    at_least: bool
    unit: str  # "%" (a share, shown × 100), "×" or "s"

    def met(self, value: float, tier: str) -> bool:
        """Return whether `value` meets the goal for `tier`."""
        limit = self.limits[tier]
        return value >= limit if self.at_least else value <= limit

    def show(self, value: float) -> str:
        """Return `value` written in the goal's unit."""
        if self.unit == "%":
            return f"{value * 100:.1f} %"
        return f"{value:.2f}{' s' if self.unit == 's' else '×'}"


_EVERY_TIER = ("1", "2", "3")
GOALS = (
    Goal(
        "error removed vs vtracer's defaults",
        lambda f: f.error_removed,
        {"1": 0.75, "2": 0.80, "3": 0.84},
        at_least=True,
        unit="%",
    ),
    Goal(
        "images worse than the tier below (fidelity, > 0.001)",
        _worse_share,
        {"2": 0.03, "3": 0.03},
        at_least=False,
        unit="%",
    ),
    Goal(
        "bytes ÷ true SVG, median",
        lambda f: f.median_bytes_ratio,
        dict.fromkeys(_EVERY_TIER, 1.5),
        at_least=False,
        unit="×",
    ),
    Goal(
        "bytes ÷ true SVG, mean",
        lambda f: f.mean_bytes_ratio,
        dict.fromkeys(_EVERY_TIER, 2.2),
        at_least=False,
        unit="×",
    ),
    Goal(
        "p95 time, quiet and sequential",
        lambda f: f.p95_time_s,
        {"1": 0.5, "2": 1.5, "3": 5.0},
        at_least=False,
        unit="s",
    ),
)


def goals_table(figures: Mapping[str, _Figures]) -> list[str]:
    """Return Markdown lines: per goal, each tier's value, its limit and whether it is met.

    `figures` holds the measured tiers ("1", "2", "3"); a tier not measured shows "–".
    """
    if not any(tier in figures for tier in _EVERY_TIER):
        return []
    lines = ["", "Issue 19's goals on these images:", ""]
    lines.append("| goal | " + " | ".join(f"tier {t}" for t in _EVERY_TIER) + " |")
    lines.append("|---|" + "---|" * len(_EVERY_TIER))
    for goal in GOALS:
        cells = []
        for tier in _EVERY_TIER:
            f = figures.get(tier)
            value = goal.value(f) if f is not None and tier in goal.limits else None
            if value is None:
                cells.append("–")
                continue
            sign = "≥" if goal.at_least else "≤"
            verdict = "**met**" if goal.met(value, tier) else "not met"
            cells.append(f"{goal.show(value)} ({sign} {goal.show(goal.limits[tier])}): {verdict}")
        lines.append(f"| {goal.name} | " + " | ".join(cells) + " |")
    return lines
