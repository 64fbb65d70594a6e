"""Automatic tier choice: the client contract for targets and time budgets."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fakes import FakePredictor
from vectorizer.budget import DEFAULT_TIME_BUDGET_S, Budget
from vectorizer.routing import (
    Route,
    choose_tier,
    estimate_tiers,
    floor_for,
    route_without_predictor,
)
from vectorizer.tiers import make_plan


@pytest.fixture(autouse=True)
def _media_root():
    """Shadow the Django-only autouse fixture of tests/conftest.py: these tests need no Django."""


# (name, predictor error, height, width): an easy and a hard image at several sizes.
IMAGES = {
    "easy-128": (0.03, 128, 128),
    "easy-512": (0.03, 512, 512),
    "hard-128": (0.25, 128, 128),
    "hard-900x300": (0.25, 300, 900),
    "very-hard-64": (0.4, 64, 64),
}
# (target_quality, time_budget) -> tiers the contract allows.
CONTRACT = [
    (0.7, None, {1, 2}),
    (0.9, None, {2, 3}),
    (0.95, None, {3}),
    (0.7, 0.3, {1}),
    (0.9, 0.3, {1}),
    (0.95, 0.3, {1}),
    (0.7, 2.0, {1, 2}),
    (0.9, 2.0, {1, 2}),
    (0.95, 2.0, {1, 2}),
]


def estimates_for(image: str):
    error, height, width = IMAGES[image]
    plan = make_plan(FakePredictor(error=error), np.zeros(8, np.float32), height, width)
    return estimate_tiers(plan)


def is_sentence(text: str) -> bool:
    return len(text.split()) >= 4 and text[0].isalpha()


@pytest.mark.parametrize("image", sorted(IMAGES))
@pytest.mark.parametrize(("target", "budget", "allowed"), CONTRACT)
def test_choose_tier_follows_the_client_contract(image, target, budget, allowed):
    route = choose_tier(estimates_for(image), target_quality=target, budget=Budget(budget))

    assert route.tier in allowed, route.reason
    assert is_sentence(route.reason), route.reason


@pytest.mark.parametrize(("target", "budget", "allowed"), CONTRACT)
def test_route_without_predictor_follows_the_client_contract(target, budget, allowed):
    route = route_without_predictor(target_quality=target, budget=Budget(budget))

    assert route.tier in allowed
    assert is_sentence(route.reason)


def test_estimate_tiers_orders_time_and_quality(fake_predictor):
    estimates = estimates_for("easy-512")

    by_tier = {e.tier: e for e in estimates}
    assert sorted(by_tier) == [1, 2, 3]
    assert by_tier[1].time_s < by_tier[2].time_s
    assert by_tier[3].time_s == DEFAULT_TIME_BUDGET_S
    assert by_tier[1].quality <= by_tier[2].quality <= by_tier[3].quality <= 1.0
    assert all(0 <= e.fidelity <= 1 for e in estimates)


def test_choose_tier_takes_the_cheapest_that_reaches_the_target():
    route = choose_tier(estimates_for("easy-128"), target_quality=0.5, budget=Budget(None))

    assert route.tier == 1
    assert "cheapest" in route.reason


def test_choose_tier_explains_a_budget_that_rules_out_the_floor():
    route = choose_tier(estimates_for("easy-512"), target_quality=0.95, budget=Budget(2.0))

    assert route.tier in (1, 2)
    assert "budget" in route.reason


def test_floor_for_maps_targets_to_minimum_tiers():
    assert [floor_for(t) for t in (0.5, 0.84, 0.85, 0.9, 0.93, 0.99)] == [1, 1, 2, 2, 3, 3]


def test_route_as_dict_reports_every_estimate():
    route = choose_tier(estimates_for("hard-128"), target_quality=0.9, budget=Budget(None))

    body = route.as_dict()

    assert body["tier"] == route.tier
    assert set(body["estimates"]) == {"1", "2", "3"}
    assert set(body["estimates"]["2"]) == {"tier", "quality", "fidelity", "time_s"}
    assert Route(1, "x").as_dict()["estimates"] == {}
