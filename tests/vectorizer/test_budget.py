"""A request's time budget: deadlines from `time_budget`, driven by an injected clock."""

from __future__ import annotations

import pytest

from tests.fakes import FakeClock
from vectorizer.budget import DEFAULT_TIME_BUDGET_S, RECORD_RESERVE_S, Budget


@pytest.fixture(autouse=True)
def _media_root():
    """Shadow the Django-only autouse fixture of tests/conftest.py: these tests need no Django."""


def test_a_clients_budget_counts_from_the_request_start_and_keeps_time_to_record():
    clock = FakeClock(100.0)

    budget = Budget.start(1.5, clock=clock)

    assert budget.binding
    assert budget.deadline == pytest.approx(101.5 - RECORD_RESERVE_S)
    assert budget.trace_deadline == budget.deadline  # its traces are stopped in time
    clock.advance(1.0)
    assert budget.left() == pytest.approx(0.5 - RECORD_RESERVE_S)
    assert budget.left(reserve=0.2) == pytest.approx(0.3 - RECORD_RESERVE_S)
    assert not budget.expired()
    clock.advance(0.5 - RECORD_RESERVE_S)
    assert budget.expired()


def test_without_a_clients_budget_the_default_bounds_the_search_but_stops_no_trace():
    clock = FakeClock(100.0)

    budget = Budget.start(None, clock=clock)

    assert not budget.binding
    assert budget.deadline == 100.0 + DEFAULT_TIME_BUDGET_S
    assert budget.trace_deadline is None
    assert budget.allows(1e9)


def test_a_spent_budget_is_expired_from_the_start():
    budget = Budget.start(-3, clock=FakeClock(100.0))

    assert budget.deadline == pytest.approx(100.0 - RECORD_RESERVE_S)
    assert budget.expired()


def test_a_budget_allows_only_work_predicted_to_fit_it():
    budget = Budget(seconds=2.0)

    assert budget.allows(2.0)
    assert not budget.allows(2.01)
