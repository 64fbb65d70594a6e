"""A request's time budget: the one place `time_budget` is turned into deadlines.

A client may give a `time_budget` in seconds. Then it is a promise: every trace is chosen to fit
it and stopped in time to record the result. Without one, the default budget bounds only what
may run on (tier 3's walk, the refinement). Either way the budget counts from the request's
start, so decoding and analysis spend it too. The clock is injected so tests drive it without
waiting.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Tier 3 searches until this many seconds after the request started, unless told otherwise.
DEFAULT_TIME_BUDGET_S = 4.0
# With a time budget: traces are stopped this long before its end, to record the result.
RECORD_RESERVE_S = 0.1
# Measuring a traced candidate (two renders and SSIM) beyond its predicted trace time.
MEASURE_MS = 120.0

Clock = Callable[[], float]


@dataclass(frozen=True)
class Budget:
    """The time a request may spend, from `started` on `clock` (seconds, monotonic)."""

    seconds: float | None = None  # the client's time budget; None when it gave none
    started: float = 0.0
    clock: Clock = time.monotonic

    @classmethod
    def start(cls, seconds: float | None, *, clock: Clock = time.monotonic) -> Budget:
        """Return the budget of a request that starts now."""
        return cls(seconds=seconds, started=clock(), clock=clock)

    @property
    def binding(self) -> bool:
        """Whether the client gave the budget: then every trace must fit it, not only the walk."""
        return self.seconds is not None

    @property
    def deadline(self) -> float:
        """Return when the search must be done: a client's budget less the time to record it."""
        if self.seconds is None:
            return self.started + DEFAULT_TIME_BUDGET_S
        return self.started + max(0.0, self.seconds) - RECORD_RESERVE_S

    @property
    def trace_deadline(self) -> float | None:
        """Return when a running trace is stopped: only a client's budget stops traces."""
        return self.deadline if self.binding else None

    def left(self, reserve: float = 0.0) -> float:
        """Return the seconds left before the deadline, keeping `reserve` for what follows."""
        return self.deadline - reserve - self.clock()

    def expired(self) -> bool:
        """Return whether the deadline has come."""
        return self.left() <= 0.0

    def allows(self, seconds: float) -> bool:
        """Return whether work predicted to take `seconds` fits the client's budget."""
        return self.seconds is None or seconds <= self.seconds


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


# Observed ÷ predicted trace time in this process, so time budgets hold under load.
pace = Pace()
