"""Candidates: per-size materialisation, the encoding the predictor sees, tier 3's moves."""

from __future__ import annotations

import numpy as np
import pytest

from vectorizer.candidates import (
    MAX_FACTOR,
    N_CANDIDATE_FEATURES,
    Candidate,
    candidate_space,
    neighbours,
)
from vectorizer.tracing import RANGES, TraceParams


@pytest.fixture(autouse=True)
def _media_root():
    """Shadow the Django-only autouse fixture of tests/conftest.py: these tests need no Django."""


SIZES = [(1, 1), (64, 64), (256, 256), (512, 512), (10, 4000)]  # (height, width)


def _space_and_neighbours() -> list[Candidate]:
    out = list(candidate_space())
    for candidate in candidate_space():
        out.extend(neighbours(candidate))
    return list(dict.fromkeys(out))


ALL_CANDIDATES = _space_and_neighbours()


@pytest.mark.parametrize(("height", "width"), SIZES)
def test_materialize_scales_speckle_and_length_by_the_factor(height, width):
    for candidate in ALL_CANDIDATES:
        k = candidate.factor(height, width)
        prep, params = candidate.materialize(height, width)

        assert 1 <= k <= MAX_FACTOR
        assert prep.scale == k
        assert params.filter_speckle == min(128, candidate.speckle * k)
        assert params.length_threshold == pytest.approx(min(64.0, candidate.length_threshold * k))


@pytest.mark.parametrize(("height", "width"), SIZES)
def test_materialize_respects_trace_param_ranges(height, width):
    for candidate in ALL_CANDIDATES:
        _, params = candidate.materialize(height, width)

        # TraceParams validates itself; rebuilding from the dict proves the values are legal.
        assert TraceParams.from_dict(params.as_dict()) == params
        for name, (low, high) in RANGES.items():
            assert low <= getattr(params, name) <= high, (candidate, name)


def test_factor_brings_long_side_closest_to_the_target():
    candidate = Candidate(long_side=1024)

    assert candidate.factor(512, 512) == 2
    assert candidate.factor(256, 100) == 4
    assert candidate.factor(1, 1) == MAX_FACTOR  # capped: vtracer time grows with k²
    assert candidate.factor(10, 4000) == 1  # never downscales
    assert Candidate(long_side=0).factor(64, 64) == 1


@pytest.mark.parametrize(("height", "width"), SIZES)
def test_encode_is_finite_and_fixed_length(height, width):
    for candidate in ALL_CANDIDATES:
        vector = candidate.encode(height, width)

        assert vector.shape == (N_CANDIDATE_FEATURES,)
        assert vector.dtype == np.float32
        assert np.isfinite(vector).all(), candidate


def test_encode_tells_candidates_of_the_space_apart():
    vectors = {tuple(c.encode(512, 512)) for c in candidate_space()}

    assert len(vectors) == len(candidate_space())


def test_candidate_space_is_distinct_and_snaps_to_the_palette():
    space = candidate_space()

    assert len(set(space)) == len(space)
    assert all(c.palette == -1 for c in space)
    assert {c.long_side for c in space} == {1024, 2048}


def test_neighbours_exclude_the_candidate_and_are_distinct():
    for candidate in candidate_space():
        moves = neighbours(candidate)

        assert candidate not in moves
        assert len(set(moves)) == len(moves)
        assert moves, candidate


def test_neighbours_differ_in_few_fields():
    candidate = candidate_space()[0]
    base = candidate.as_dict()

    for move in neighbours(candidate):
        changed = {k for k, v in move.as_dict().items() if base[k] != v}
        # One knob per move; switching to the layers tracer also sets its own knobs.
        assert len(changed) == 1 or changed <= {"tracer", "sigma", "tolerance"}, changed


def test_with_changes_returns_a_new_candidate():
    candidate = Candidate()

    changed = candidate.with_changes(speckle=8)

    assert changed.speckle == 8
    assert candidate.speckle == 4
    assert changed.as_dict() == {**candidate.as_dict(), "speckle": 8}


def test_layers_candidates_map_speckle_to_potrace_area_at_the_trace_scale():
    candidate = Candidate(long_side=2048, tracer="layers", speckle=2, sigma=0.8, tolerance=1.5)

    params = candidate.layer_params(512, 512)  # 4× upscale

    assert params.turdsize == 2 * 2  # input px²: potrace gets (2 × 4)² traced px²
    assert (params.sigma, params.opttolerance) == (0.8, 1.5 / 4)  # 1.5 traced px
    assert candidate.precision(512, 512) == 0  # integer coordinates on the 4× grid
    assert candidate.precision(1024, 1024) == 1  # 2×: tenths keep ~1/20 input px


def test_candidate_space_offers_both_tracers_with_and_without_gradients():
    space = candidate_space()

    kinds = {(c.tracer, c.gradients) for c in space}

    assert kinds == {("vtracer", False), ("vtracer", True), ("layers", False), ("layers", True)}
    assert len(set(space)) == len(space)
    assert {c.sigma for c in space if c.tracer == "layers"} == {0.0, 0.5, 0.8}


def test_training_sample_starts_with_the_anchors_and_draws_distinct_candidates():
    import numpy as np

    from vectorizer.candidates import ANCHORS, training_sample

    sample = training_sample(10, np.random.default_rng(0))

    assert sample[: len(ANCHORS)] == list(ANCHORS)
    assert len(set(sample)) == 10
    assert sum(c.tracer == "layers" for c in sample) >= 5
