"""The budgeted search: tiers traced in a pool, stopped at the budget, rescued when stopped.

The pool here runs each job in this process (or answers it with a refusal), so these tests
see what the search asks of the worker pool; the clock is injected, so nothing waits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pytest

from tests.conftest import draw_logo
from tests.fakes import FakeClock, FakePredictor
from vectorizer import rescue as rescues
from vectorizer import search
from vectorizer.budget import Budget
from vectorizer.images import decode_image
from vectorizer.rescue import RESCUE_CANDIDATE
from vectorizer.tiers import REFINE_ITERATIONS, TIER2_TRIES, Pace, TierError, make_plan
from vectorizer.workers import WorkerBusy, WorkerDeadline


@pytest.fixture(autouse=True)
def _media_root():
    """Shadow the Django-only autouse fixture of tests/conftest.py: these tests need no Django."""


class InlinePool:
    """A worker pool that runs jobs in this process, or answers every job with `refuse()`."""

    size = 2

    def __init__(self, refuse: Callable[[], Exception] | None = None) -> None:
        self.refuse = refuse
        self.traced: list[int] = []  # jobs per map() call
        self.deadlines: list[float | None] = []
        self.refined: list[int] = []  # iterations per refinement
        self.rescues: list[float | None] = []  # the deadline of each rescue sent to a worker

    def map(
        self, fn: Callable[..., Any], items: Iterable[tuple], *, timeout: float, deadline=None
    ) -> list[Any]:
        items = list(items)
        self.traced.append(len(items))
        self.deadlines.append(deadline)
        if self.refuse is not None:
            return [self.refuse() for _ in items]
        return [fn(*item) for item in items]

    def run(self, fn: Callable[..., Any], *args: Any, timeout: float, deadline=None) -> Any:
        if fn is rescues.trace_reduced:  # a rescue: never refused here
            self.rescues.append(deadline)
            return fn(*args)
        else:
            self.deadlines.append(deadline)
            self.refined.append(args[2])
        if self.refuse is not None:
            raise self.refuse()
        return fn(*args)


@pytest.fixture(autouse=True)
def rescuer(monkeypatch) -> InlinePool:
    """The rescue worker, run in this process: its `rescues` are the rescues sent to it."""
    pool = InlinePool()
    monkeypatch.setattr(rescues, "rescue_pool", lambda: pool)
    return pool


def stopped() -> Exception:
    return WorkerDeadline("Deadline", "the deadline came before a worker was free")


@pytest.fixture
def image():
    return decode_image(draw_logo(64))


@pytest.fixture
def plan(image):
    return make_plan(FakePredictor(), np.zeros(8, np.float32), image.height, image.width)


@pytest.fixture
def pace(monkeypatch) -> Pace:
    """A fresh process pace, so one test's traces do not steer another's."""
    fresh = Pace()
    monkeypatch.setattr(search, "pace", fresh)
    monkeypatch.setattr(rescues, "pace", fresh)
    return fresh


def run(image, plan, tier: int, pool: InlinePool, budget: Budget, timings=None):
    return search.search(image, plan, tier, pool=pool, budget=budget, timeout=60.0, timings=timings)


@pytest.mark.parametrize("seconds", [None, 30.0])
def test_search_traces_in_the_pool_and_only_a_clients_budget_stops_traces(
    image, plan, pace, seconds
):
    pool = InlinePool()
    budget = Budget.start(seconds, clock=FakeClock())
    timings: dict[str, float] = {}
    # Stopping a trace takes a moment (its worker ends): traces stop a little before the end.
    stop = None if seconds is None else budget.trace_deadline - search.STOP_S * pace.factor

    result = run(image, plan, 2, pool, budget, timings)

    assert pool.traced == [TIER2_TRIES]
    assert pool.refined == [REFINE_ITERATIONS[2]]
    assert result.best.refined
    assert pool.deadlines == [stop] * 2
    assert (pool.deadlines[0] is None) == (seconds is None)
    assert set(timings) == {"search"}
    assert pace.factor != 1.0  # the search taught the pace what this machine took


def test_search_returns_the_rescue_trace_when_a_clients_budget_stopped_every_trace(
    image, plan, pace
):
    timings: dict[str, float] = {}

    result = run(image, plan, 2, InlinePool(stopped), Budget.start(3.0, clock=FakeClock()), timings)

    assert result.best.candidate == RESCUE_CANDIDATE
    assert result.rescued.startswith("every chosen trace was stopped by the budget: ")
    assert "deadline came" in result.rescued
    assert result.best.svg.startswith("<svg")
    assert {"search", "rescue"} <= set(timings)


def test_search_without_a_clients_budget_fails_rather_than_rescue(image, plan, pace):
    with pytest.raises(TierError, match="deadline came"):
        run(image, plan, 2, InlinePool(stopped), Budget.start(None, clock=FakeClock()))


def test_search_raises_worker_busy_when_no_worker_was_free(image, plan, pace):
    def busy() -> Exception:
        return WorkerBusy("all 2 conversion workers are busy", retry_after=3)

    with pytest.raises(WorkerBusy):
        run(image, plan, 2, InlinePool(busy), Budget.start(3.0, clock=FakeClock()))


def test_a_tight_budget_starts_the_rescue_beside_the_traces(image, plan, pace, monkeypatch):
    started = threading.Event()
    real = rescues.trace_reduced

    def watched(rgba: np.ndarray, long_side: int):
        started.set()
        return real(rgba, long_side)

    def stopped_after_the_rescue_started() -> Exception:
        assert started.wait(timeout=60), "the rescue was not started beside the traces"
        return stopped()

    monkeypatch.setattr(rescues, "trace_reduced", watched)
    pace.factor = 0.1  # a machine fast enough for the fastest trace to fit the tight budget
    tight = Budget.start(rescues.EARLY_RESCUE_S / 2, clock=FakeClock())

    result = run(image, plan, 2, InlinePool(stopped_after_the_rescue_started), tight)

    assert result.best.candidate == RESCUE_CANDIDATE


def test_a_roomy_budget_starts_the_rescue_only_when_every_trace_was_stopped(
    image, plan, pace, monkeypatch
):
    started = threading.Event()
    real = search.rescue

    def watched(rgba: np.ndarray):
        started.set()
        return real(rgba)

    def stopped_before_any_rescue() -> Exception:
        assert not started.is_set()
        return stopped()

    monkeypatch.setattr(search, "rescue", watched)
    roomy = Budget.start(rescues.EARLY_RESCUE_S * 3, clock=FakeClock())

    result = run(image, plan, 2, InlinePool(stopped_before_any_rescue), roomy)

    assert started.is_set()
    assert result.best.candidate == RESCUE_CANDIDATE


def test_the_pace_binds_only_a_clients_budget(image, plan, pace):
    # Every fake candidate is predicted at 2.56 s: three seconds fit one trace, not two.
    unbudgeted, budgeted = InlinePool(), InlinePool()

    run(image, plan, 2, unbudgeted, Budget.start(None, clock=FakeClock()))
    pace.factor = 1.0
    run(image, plan, 2, budgeted, Budget.start(3.0, clock=FakeClock()))

    assert unbudgeted.traced == [TIER2_TRIES]
    assert budgeted.traced == [1]  # the fastest candidate alone


def test_a_budget_too_short_for_the_fastest_trace_starts_none_and_returns_the_rescue(
    image, plan, pace, rescuer
):
    pace.factor = 20.0  # a machine so loaded that nothing is predicted to fit in a second
    pool = InlinePool()
    timings: dict[str, float] = {}

    budget = Budget.start(1.0, clock=FakeClock())
    result = run(image, plan, 2, pool, budget, timings)

    assert pool.traced == []
    assert pool.refined == []
    # The rescue itself went to its worker (its own GIL), allowed a grace past the deadline.
    assert rescuer.rescues == [budget.deadline + rescues.RESCUE_GRACE_S]
    assert result.best.candidate == RESCUE_CANDIDATE
    assert result.rescued.startswith("no trace was started: the fastest would be stopped by")
    assert f"at most {rescues.RESCUE_LONG_SIDE} px" in result.rescued
    assert {"search", "rescue"} <= set(timings)


def test_the_rescue_traces_a_reduced_copy_and_shows_it_at_the_inputs_size():
    big = decode_image(draw_logo(rescues.RESCUE_LONG_SIDE * 2))

    result = rescues.rescue(big.rgba)

    svg = result.best.svg
    side = rescues.RESCUE_LONG_SIDE
    assert f'viewBox="0 0 {side} {side}"' in svg
    assert f'width="{side * 2}"' in svg
    assert f'height="{side * 2}"' in svg
    assert result.best.ssim > 0.9


def test_a_roomy_budget_starts_the_rescue_before_its_deadline_while_no_trace_came_back(
    image, plan, pace, rescuer
):
    # 1.15 s: too roomy to rescue from the start, so the rescue waits until EARLY_RESCUE_S
    # before the deadline (0.05 s from now) and starts then, as no trace has come back.
    pool = InlinePool()
    sent = threading.Event()

    def stopped_after_the_rescue_was_sent() -> Exception:
        assert sent.wait(timeout=60), "no rescue was started while the traces ran"
        return stopped()

    real = rescuer.run

    def run_and_tell(fn, *args, **kwargs):
        answer = real(fn, *args, **kwargs)
        if fn is rescues.trace_reduced:
            sent.set()
        return answer

    pool.refuse = stopped_after_the_rescue_was_sent
    rescuer.run = run_and_tell  # type: ignore[method-assign]
    budget = Budget.start(rescues.EARLY_RESCUE_S + 0.15, clock=FakeClock())

    result = run(image, plan, 2, pool, budget)

    assert rescuer.rescues == [budget.deadline + rescues.RESCUE_GRACE_S]
    assert result.best.candidate == RESCUE_CANDIDATE
    assert result.rescued.startswith("every chosen trace was stopped by the budget")
