"""A request's time budget: the one place `time_budget` is turned into deadlines.

A client may give a `time_budget` in seconds. Then it is a promise: every trace is chosen to fit
it and stopped in time to record the result. Without one, the default budget bounds only what
may run on (tier 3's walk, the refinement). Either way the budget counts from the request's
start, so decoding and analysis spend it too. The clock is injected so tests drive it without
waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

# Tier 3 searches until this many seconds after the request started, unless told otherwise.
DEFAULT_TIME_BUDGET_S = 4.0
# With a time budget: traces are stopped this long before its end, to record the result.
RECORD_RESERVE_S = 0.1

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
