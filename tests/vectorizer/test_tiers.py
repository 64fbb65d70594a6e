"""The three tiers, with a fake predictor and a fake evaluator standing in for vtracer."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from tests.fakes import FakeClock
from vectorizer.budget import MEASURE_MS, RECORD_RESERVE_S, Budget
from vectorizer.candidates import Candidate, neighbours
from vectorizer.protocols import Predictions
from vectorizer.tiers import (
    BYTE_COST,
    FALLBACK_CANDIDATE,
    MOVE_TOLERANCE,
    NEAR_EQUAL,
    OPTIMISE_S,
    REFINE_ITERATIONS,
    SLOW_TRACE_MS,
    TIER1_TRACE_LIMIT_MS,
    TIER2_TRIES,
    TIER3_SEED,
    Attempt,
    Pace,
    Plan,
    TierError,
    _promising,
    first_batch,
    make_plan,
    pick_best,
    rank,
    run_tier,
    shortlist,
    traced_as,
    worth,
)


@pytest.fixture(autouse=True)
def _media_root():
    """Shadow the Django-only autouse fixture of tests/conftest.py: these tests need no Django."""


SIZE = (512, 512)  # a 1024 trace is 2× (160 ms for the fake), a 2048 one 4× (640 ms)
VECTOR = np.zeros(8, dtype=np.float32)


def attempt(candidate: Candidate, proxy: float, svg_bytes: int) -> Attempt:
    return Attempt(
        candidate=candidate,
        svg=f"<svg><!-- {proxy} --></svg>",
        ssim=proxy,
        proxy=proxy,
        svg_bytes=svg_bytes,
        path_count=1,
        timings={"trace": 1.0},
    )


def measured_proxy(candidate: Candidate) -> float:
    """What "tracing" gives: unlike the fake predictor, it rewards corner 100 and speckle 2."""
    return (
        0.9
        + 0.01 * (candidate.corner_threshold == 100)
        + 0.005 * (candidate.speckle == 2)
        + 0.002 * (candidate.long_side > 0)
        + 0.0005 * candidate.splice_threshold / 90
    )


def budget_of(seconds: float, clock: FakeClock) -> Budget:
    """Return a client's budget whose deadline is `seconds` from now on `clock`."""
    return Budget(seconds=seconds + RECORD_RESERVE_S, started=clock(), clock=clock)


class FakeEvaluator:
    """Returns an Attempt per candidate from `proxy`/`size` functions; records every batch.

    Each batch takes `delay` seconds on `clock`.
    """

    def __init__(
        self,
        proxy: Callable[[Candidate], float] = measured_proxy,
        size: Callable[[Candidate], int] = lambda c: 1000 + 10 * c.max_colors,
        fails: Callable[[Candidate], bool] = lambda c: False,
        delay: float = 0.0,
        clock: FakeClock | None = None,
    ) -> None:
        self.proxy, self.size, self.fails, self.delay = proxy, size, fails, delay
        self.clock = clock or FakeClock()
        self.batches: list[list[Candidate]] = []
        self.finished_at: list[float] = []

    def __call__(self, candidates: Sequence[Candidate]) -> list[Attempt | Exception]:
        self.batches.append(list(candidates))
        self.clock.advance(self.delay)
        self.finished_at.append(self.clock())
        return [
            RuntimeError("vtracer panicked")
            if self.fails(c)
            else attempt(c, self.proxy(c), self.size(c))
            for c in candidates
        ]

    @property
    def traced(self) -> list[Candidate]:
        return [c for batch in self.batches for c in batch]


@pytest.fixture
def plan(fake_predictor) -> Plan:
    return make_plan(fake_predictor, VECTOR, *SIZE)


def test_tier1_traces_exactly_one_candidate(plan):
    evaluate = FakeEvaluator()

    result = run_tier(1, plan, evaluate)

    assert evaluate.batches == [[result.best.candidate]]
    assert result.tier == 1
    assert result.attempts == [result.best]


def test_tier1_respects_the_trace_time_limit(plan):
    evaluate = FakeEvaluator()

    result = run_tier(1, plan, evaluate)

    chosen = plan.prediction_for(result.best.candidate)
    assert chosen.time_ms <= TIER1_TRACE_LIMIT_MS
    # The best-predicted candidate overall is an 8× trace the limit rules out.
    fastest_ok = [i for i in range(len(plan.candidates)) if plan.predicted.time_ms[i] <= 300]
    best_overall = int(np.argmax(plan.predicted.fidelity))
    assert plan.predicted.time_ms[best_overall] > TIER1_TRACE_LIMIT_MS
    assert chosen.fidelity == pytest.approx(plan.predicted.fidelity[fastest_ok].max())


def test_tier2_traces_the_best_predicted_with_at_most_one_slow_and_keeps_the_best(plan):
    evaluate = FakeEvaluator()

    result = run_tier(2, plan, evaluate)

    assert len(evaluate.batches) == 1
    traced = evaluate.traced
    assert len(traced) == TIER2_TRIES
    slow = [c for c in traced if plan.prediction_for(c).time_ms > SLOW_TRACE_MS]
    assert len(slow) <= 1  # the slow trace runs beside the fast ones, not after another
    assert result.best.proxy == max(measured_proxy(c) for c in traced)
    predicted_first = plan.candidates[plan.order()[0]]
    assert predicted_first in traced


def test_pick_best_weighs_quality_against_bytes():
    a = attempt(Candidate(speckle=2), 0.950, 4000)
    b = attempt(Candidate(speckle=4), 0.950 - BYTE_COST / 2, 2000)  # half the bytes, for less
    c = attempt(Candidate(speckle=8), 0.950 - 3 * BYTE_COST, 1000)  # a quarter, for too much

    assert pick_best([a, b, c]) is b
    assert pick_best([a, c]) is a  # two doublings are worth 2 × BYTE_COST, not 3
    assert worth(0.95, 2000) == pytest.approx(worth(0.95 + BYTE_COST, 4000))


def test_tier2_picks_the_smaller_svg_among_near_equal_proxies(plan):
    # Finer traces measure a hair better but cost bytes: the smaller trace should win.
    evaluate = FakeEvaluator(
        proxy=lambda c: 0.95 + NEAR_EQUAL * c.long_side / 4096, size=lambda c: 1000 + c.long_side
    )

    result = run_tier(2, plan, evaluate)

    assert max(a.proxy for a in result.attempts) > result.best.proxy
    assert result.best.svg_bytes == min(a.svg_bytes for a in result.attempts)
    assert result.best.candidate.long_side == min(a.candidate.long_side for a in result.attempts)


def test_max_bytes_is_honoured_when_an_attempt_meets_it(plan):
    # The evaluator makes the worst-measuring shortlisted candidate the only compact one.
    small = min(shortlist(plan, TIER2_TRIES, None), key=measured_proxy)
    evaluate = FakeEvaluator(size=lambda c: 500 if c == small else 5000)

    result = run_tier(2, plan, evaluate, max_bytes=1000)

    assert small in evaluate.traced
    assert result.best.candidate == small
    assert result.best.svg_bytes <= 1000


def test_max_bytes_unreachable_returns_the_smallest(plan):
    evaluate = FakeEvaluator(size=lambda c: 4000 + c.long_side)

    result = run_tier(2, plan, evaluate, max_bytes=300)

    assert result.best.svg_bytes == min(a.svg_bytes for a in result.attempts)


class FlatPredictor:
    """Predicts the same outcome for every candidate: no move is expected to lose."""

    def predict(self, image_vector: np.ndarray, candidate_matrix: np.ndarray) -> Predictions:
        n = len(candidate_matrix)
        return Predictions(
            ssim=np.full(n, 0.95),
            fidelity=np.full(n, 0.95),
            bytes=np.full(n, 1000.0),
            time_ms=np.full(n, 50.0),
        )


def test_tier3_searches_until_the_deadline_and_not_beyond_one_batch(plan):
    delay = 0.03
    clock = FakeClock()
    evaluate = FakeEvaluator(delay=delay, clock=clock)
    plan = dataclasses.replace(plan, predictor=FlatPredictor())
    budget = budget_of(0.4, clock)

    # Every neighbour is worth a try, so only the deadline ends the walk.
    result = run_tier(3, plan, evaluate, budget=budget, workers=2)

    # Tier 2's traces first, then the rest of tier 3's seed, then neighbours.
    assert evaluate.batches[0] == first_batch(2, plan)
    assert evaluate.batches[0] + evaluate.batches[1] == first_batch(3, plan)
    assert len(first_batch(3, plan)) == TIER3_SEED
    assert len(evaluate.batches) > 3  # kept walking to neighbours
    assert all(len(batch) <= 2 for batch in evaluate.batches)
    # Every batch started while one more fitted, and the walk stopped when one more would not.
    assert clock() <= budget.deadline
    assert budget.deadline - evaluate.finished_at[-1] <= delay
    assert all(budget.deadline - t > delay for t in evaluate.finished_at[:-1])
    assert len(set(evaluate.traced)) == len(evaluate.traced)  # never traces a candidate twice
    assert len(result.attempts) == len(evaluate.traced)


def test_tier3_is_at_least_as_good_as_tier2(fake_predictor, plan):
    tier2 = run_tier(2, plan, FakeEvaluator())

    clock = FakeClock()
    tier3 = run_tier(3, plan, FakeEvaluator(delay=0.03, clock=clock), budget=budget_of(0.3, clock))

    assert tier3.best.proxy >= tier2.best.proxy - NEAR_EQUAL
    assert len(tier3.attempts) > len(tier2.attempts)


def test_tier3_only_tries_moves_the_predictor_does_not_expect_to_lose(fake_predictor, plan):
    current = Candidate(long_side=1024, speckle=4, length_threshold=4.0)
    moves = neighbours(current)

    kept = _promising(moves, current, plan)

    def predicted(c: Candidate) -> float:  # predicted fidelity less the price of its bytes
        outcome = fake_predictor.predict(VECTOR, np.stack([c.encode(*SIZE)]))
        return worth(float(outcome.fidelity[0]), float(outcome.bytes[0]))

    floor = predicted(current) - MOVE_TOLERANCE
    assert kept
    assert len(kept) < len(moves)
    assert all(predicted(c) >= floor for c in kept)
    assert all(predicted(c) < floor for c in moves if c not in kept)
    assert [predicted(c) for c in kept] == sorted((predicted(c) for c in kept), reverse=True)


def test_tier3_without_deadline_stops_after_its_seed(plan):
    evaluate = FakeEvaluator()

    run_tier(3, plan, evaluate, budget=None)

    assert [c for batch in evaluate.batches for c in batch] == first_batch(3, plan)
    assert len(first_batch(3, plan)) == TIER3_SEED


def test_evaluator_failures_are_recorded_and_the_rest_used(plan):
    broken = shortlist(plan, TIER2_TRIES, None)[0]
    evaluate = FakeEvaluator(fails=lambda c: c == broken)

    result = run_tier(2, plan, evaluate)

    assert len(result.failures) == 1
    assert f"{broken.long_side} px trace: vtracer panicked" in result.failures[0]
    assert len(result.attempts) == TIER2_TRIES - 1
    assert result.best.candidate != broken


def test_tier_error_only_when_every_candidate_failed(plan):
    evaluate = FakeEvaluator(fails=lambda c: True)

    with pytest.raises(TierError, match="vtracer panicked"):
        run_tier(2, plan, evaluate)


@pytest.mark.parametrize("tier", [1, 2, 3])
def test_run_tier_without_plan_uses_the_fallback_candidate(tier):
    evaluate = FakeEvaluator()

    result = run_tier(tier, None, evaluate)

    assert evaluate.batches[0] == [FALLBACK_CANDIDATE]
    assert result.best.candidate == FALLBACK_CANDIDATE


def test_plan_order_puts_best_predicted_first_and_filters_by_limits(plan):
    order = plan.order()
    limited = plan.order(time_limit_ms=TIER1_TRACE_LIMIT_MS, max_bytes=3500)

    assert sorted(order) == list(range(len(plan.candidates)))
    predicted = zip(plan.predicted.fidelity, plan.predicted.bytes, strict=True)
    value = [worth(f, b) for f, b in predicted]
    assert value[order[0]] == max(value)
    assert limited
    assert all(plan.predicted.time_ms[i] <= TIER1_TRACE_LIMIT_MS for i in limited)
    assert all(plan.predicted.bytes[i] <= 3500 for i in limited)


def test_prediction_for_an_unplanned_candidate_asks_the_predictor(fake_predictor, plan):
    extra = Candidate(long_side=1024, speckle=16)
    assert extra not in plan.candidates

    predicted = plan.prediction_for(extra)

    row = extra.encode(*SIZE)[None, :]
    assert predicted.fidelity == pytest.approx(
        float(fake_predictor.predict(VECTOR, row).fidelity[0])
    )
    assert plan.prediction_for(plan.candidates[0]).bytes == pytest.approx(
        float(plan.predicted.bytes[0])
    )


def test_pace_follows_observed_over_predicted_time_and_stays_bounded():
    pace = Pace()

    for _ in range(20):
        pace.update(predicted_ms=100.0, observed_ms=3 * (100.0 + MEASURE_MS))

    assert pace.factor == pytest.approx(3.0, rel=0.01)
    assert pace.seconds(100.0) == pytest.approx(3 * (100.0 + MEASURE_MS) / 1000, rel=0.01)
    assert pace.limit_ms(pace.seconds(100.0)) == pytest.approx(100.0, rel=0.01)
    for _ in range(50):
        pace.update(predicted_ms=1.0, observed_ms=1e9)
    assert pace.factor <= 20.0


def test_a_time_limit_keeps_only_candidates_that_fit_else_the_fastest(plan):
    times = plan.predicted.time_ms
    limit = float(np.median(times))

    batch = first_batch(2, plan, time_limit_ms=limit)
    nothing_fits = first_batch(1, plan, time_limit_ms=float(times.min()) / 2)

    assert batch
    assert all(plan.prediction_for(c).time_ms <= limit for c in batch)
    assert nothing_fits == [plan.candidates[int(np.argmin(times))]]


@pytest.mark.parametrize("tier", [1, 2, 3])
def test_with_a_pace_every_tier_traces_only_what_fits_the_deadline(plan, tier):
    pace = Pace(factor=1.5)  # 2× traces (160 ms) fit in 1 s at this pace, 4× (640 ms) do not
    clock = FakeClock()
    evaluate = FakeEvaluator(delay=0.03, clock=clock)

    run_tier(tier, plan, evaluate, budget=budget_of(1.0, clock), pace=pace)

    fits = pace.limit_ms(1.0)
    assert all(plan.prediction_for(c).time_ms <= fits for c in evaluate.traced)


def test_tiers_refine_their_best_only_while_the_deadline_is_not_past(plan):
    refined: list[Attempt] = []

    def refine(best: Attempt, rounds: int) -> Attempt:
        refined.append(best)
        return dataclasses.replace(best, proxy=best.proxy + 0.001, refined=True)

    clock = FakeClock()
    slow, slower = FakeEvaluator(delay=0.2, clock=clock), FakeEvaluator(delay=0.4, clock=clock)
    in_time = run_tier(2, plan, slow, budget=budget_of(0.3, clock), refine=refine)
    late = run_tier(2, plan, slower, budget=budget_of(0.3, clock), refine=refine)

    assert in_time.best.refined
    assert refined == [pick_best(in_time.attempts[:-1])]
    assert not late.best.refined
    assert not any(a.refined for a in late.attempts)
    assert "the time budget left no time to refine the outlines" in late.shortfalls
    assert not in_time.shortfalls


def _noise(*parts: object) -> float:
    """Return a number in [-1, 1) fixed by `parts` (the same on every run)."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**31 - 1


class WorldOfNoise:
    """An image whose traces measure as noise: proxies and sizes fixed per candidate, and a
    refinement that helps or hurts by up to a point of quality."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def evaluator(self, clock: FakeClock) -> FakeEvaluator:
        return FakeEvaluator(
            proxy=lambda c: 0.93 + 0.03 * _noise(self.seed, c),
            size=lambda c: int(3000 + 2000 * _noise(self.seed, "bytes", c)),
            delay=0.05,
            clock=clock,
        )

    def refine(self, best: Attempt, rounds: int = 4) -> Attempt:
        change = 0.01 * _noise(self.seed, best.svg, rounds)
        svg = best.svg.replace("</svg>", f"<!-- refined {rounds} --></svg>")
        return dataclasses.replace(best, svg=svg, proxy=best.proxy + change, refined=True)


@pytest.mark.parametrize("max_bytes", [None, 3000])
def test_per_image_a_higher_tier_never_ranks_below_the_tier_below(plan, max_bytes):
    behind = []
    for seed in range(40):
        world = WorldOfNoise(seed)
        best = {}
        for tier in (1, 2, 3):
            clock = FakeClock()
            best[tier] = run_tier(
                tier,
                plan,
                world.evaluator(clock),
                budget=budget_of(1.0, clock),
                max_bytes=max_bytes,
                refine=world.refine,
            ).best
        ranks = [rank(best[tier], max_bytes) for tier in (1, 2, 3)]
        if not ranks[0] <= ranks[1] <= ranks[2]:
            behind.append((seed, ranks))
    assert behind == []


def test_tier3_goes_on_from_tier2s_refined_result(plan):
    world = WorldOfNoise(7)
    rounds = []

    def refine(best: Attempt, more: int = 4) -> Attempt:
        rounds.append((best.refined, more))
        return world.refine(best, more)

    clock = FakeClock()
    result = run_tier(3, plan, world.evaluator(clock), budget=budget_of(0.2, clock), refine=refine)

    tier2 = first_batch(2, plan)
    assert rounds[0] == (False, REFINE_ITERATIONS[2])
    # Nothing traced after tier 2's two beat them, so tier 3 refines tier 2's refined result on.
    if pick_best([a for a in result.attempts if not a.refined]).candidate in tier2:
        assert rounds[1] == (True, REFINE_ITERATIONS[3] - REFINE_ITERATIONS[2])


def test_candidates_that_trace_the_same_are_traced_once(fake_predictor):
    # At 100 px, 1024 and 2048 px both clamp to an 8× trace.
    small = make_plan(fake_predictor, VECTOR, 100, 100)
    a, b = Candidate(long_side=1024), Candidate(long_side=2048)
    layers = Candidate(tracer="layers", corner_threshold=30)
    clock = FakeClock()
    evaluate = FakeEvaluator(delay=0.03, clock=clock)

    run_tier(3, small, evaluate, budget=budget_of(2.0, clock))

    assert traced_as(a, (100, 100)) == traced_as(b, (100, 100))
    assert traced_as(a, SIZE) != traced_as(b, SIZE)
    assert traced_as(layers, SIZE) == traced_as(layers.with_changes(corner_threshold=90), SIZE)
    keys = [traced_as(c, small.size) for c in evaluate.traced]
    assert len(evaluate.traced) > TIER3_SEED
    assert len(set(keys)) == len(keys)
    assert len({traced_as(c, small.size) for c in first_batch(3, small)}) == TIER3_SEED


def test_a_budget_too_short_for_more_returns_tier1s_result_saying_so(plan):
    pace = Pace()
    clock = FakeClock()
    tier1 = run_tier(1, plan, FakeEvaluator(clock=clock), budget=budget_of(0.05, clock), pace=pace)
    evaluate = FakeEvaluator(clock=clock)

    tier2 = run_tier(2, plan, evaluate, budget=budget_of(0.05, clock), pace=pace)

    assert evaluate.traced == [tier1.best.candidate]
    assert tier2.best == tier1.best
    assert tier2.shortfalls == [
        "the time budget left room for 1 of tier 2's 2 first traces",
        "tier 2's search found nothing better than tier 1's result within 0.0 s",
    ]


def test_tier3_says_when_its_search_found_nothing_better_than_tier2(plan):
    clock = FakeClock()
    ours, theirs = first_batch(2, plan)  # tier 1's pick, tier 2's other
    proxy = {ours: 0.98, theirs: 0.99}
    evaluate = FakeEvaluator(proxy=lambda c: proxy.get(c, 0.9), delay=0.05, clock=clock)

    result = run_tier(3, plan, evaluate, budget=budget_of(0.5, clock))

    assert len(evaluate.traced) > TIER2_TRIES
    assert result.best.candidate == theirs
    (said,) = result.shortfalls
    assert re.fullmatch(
        r"tier 3's search found nothing better than tier 2's result within .* s", said
    )


def test_a_refinement_stopped_by_the_budget_keeps_the_trace_saying_so(plan):
    clock = FakeClock()
    budget = budget_of(0.3, clock)

    def refine(best: Attempt, rounds: int) -> Exception:
        clock.advance(budget.left())  # the refinement ran until the deadline stopped it
        return RuntimeError("the deadline came")

    result = run_tier(2, plan, FakeEvaluator(clock=clock), budget=budget, refine=refine)

    assert not result.best.refined
    assert result.shortfalls[0] == "the outlines' refinement was stopped by the time budget"
    assert result.failures == ["refinement: the deadline came"]


def _refine_a_little(best: Attempt, rounds: int) -> Attempt:
    return dataclasses.replace(best, proxy=best.proxy + 0.001, ssim=best.ssim + 0.001, refined=True)


@pytest.mark.parametrize("gain", [0.002, -0.002])
def test_tier3_keeps_its_optimised_vector_only_when_it_ranks_higher(plan, gain):
    asked: list[float] = []

    def optimise(best: Attempt, seconds: float) -> Attempt:
        asked.append(seconds)
        return dataclasses.replace(best, proxy=best.proxy + gain, ssim=best.ssim + gain)

    clock = FakeClock()
    result = run_tier(
        3,
        plan,
        FakeEvaluator(delay=0.05, clock=clock),
        budget=budget_of(4.0, clock),
        refine=_refine_a_little,
        optimise=optimise,
    )

    (seconds,) = asked
    assert 0 < seconds <= OPTIMISE_S
    optimised = result.attempts[-1]
    assert (result.best is optimised) == (gain > 0)
    assert not any("optimis" in s for s in result.shortfalls)


def test_tier3_skips_the_optimiser_when_the_budget_is_spent_saying_so(plan):
    clock = FakeClock()
    budget = budget_of(0.3, clock)

    def refine(best: Attempt, rounds: int) -> Attempt:
        clock.advance(budget.left())  # the refinement used what was left
        return _refine_a_little(best, rounds)

    def optimise(best: Attempt, seconds: float) -> Attempt:
        raise AssertionError("no time was left to optimise")

    result = run_tier(
        3, plan, FakeEvaluator(clock=clock), budget=budget, refine=refine, optimise=optimise
    )

    assert "the time budget left no time to optimise the vector" in result.shortfalls


def test_only_tier3_optimises(plan):
    calls: list[int] = []

    def optimise(best: Attempt, seconds: float) -> Attempt:
        calls.append(1)
        return best

    clock = FakeClock()
    for tier in (1, 2):
        run_tier(
            tier,
            plan,
            FakeEvaluator(clock=clock),
            budget=budget_of(4.0, clock),
            refine=_refine_a_little,
            optimise=optimise,
        )

    assert calls == []
