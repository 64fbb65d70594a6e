"""Training data: candidate sampling, measuring one image, the rows file and its arrays."""

from __future__ import annotations

import numpy as np
import pytest

from aimodels.ml.predictor import decode_targets
from aimodels.ml.training import (
    read_rows,
    sweep_image,
    to_arrays,
    write_rows,
)
from vectorizer.candidates import (
    ANCHORS,
    N_CANDIDATE_FEATURES,
    Candidate,
    candidate_space,
    training_sample,
)
from vectorizer.dataset import make_variant
from vectorizer.features import FEATURE_NAMES


@pytest.fixture(autouse=True)
def _media_root():
    """Shadow the Django-only autouse fixture of tests/conftest.py: these tests need no Django."""


SQUARE_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">'
    '<rect x="16" y="16" width="32" height="32" fill="#c81e1e"/></svg>'
)


def square_rgba() -> np.ndarray:
    rgba = np.zeros((64, 64, 4), dtype=np.uint8)
    rgba[16:48, 16:48] = (200, 30, 30, 255)
    return rgba


def test_training_sample_is_distinct_within_the_space_and_starts_with_the_anchors():
    picked = training_sample(8, np.random.default_rng(0))

    assert len(picked) == 8
    assert len(set(picked)) == 8
    assert set(picked) <= set(candidate_space())
    assert picked[: len(ANCHORS)] == list(ANCHORS)


def test_training_sample_is_seeded():
    first = training_sample(6, np.random.default_rng(3))

    assert first == training_sample(6, np.random.default_rng(3))
    assert first != training_sample(6, np.random.default_rng(4))


def test_sweep_image_measures_each_candidate_against_the_true_svg():
    image, _ = make_variant(square_rgba(), "alpha")
    candidates = [c.as_dict() for c in candidate_space()[:2]]

    meta = {"id": "square", "variant": "alpha", "split": "train", "category": "simple"}
    rows = sweep_image(image, SQUARE_SVG, candidates, meta)

    assert [r["candidate"] for r in rows] == candidates
    for row in rows:
        assert (row["id"], row["variant"], row["split"]) == ("square", "alpha", "train")
        assert (row["width"], row["height"]) == (64, 64)
        assert len(row["features"]) == len(FEATURE_NAMES)
        assert 0.9 < row["ssim"] <= 1.0 + 1e-6  # float error can overshoot 1 by ~1e-9
        assert 0.9 < row["fidelity"] <= 1.0 + 1e-6  # a square traces almost perfectly
        assert row["bytes"] > 0
        assert row["time_ms"] > 0
        assert row["baseline"]["bytes"] > 0


def test_write_rows_then_read_rows_skips_failed_measurements(tmp_path):
    path = tmp_path / "set" / "rows.jsonl.gz"
    good = {"id": "a", "variant": "alpha", "fidelity": 0.9}
    rows = [good, {"id": "b", "error": "vtracer panicked"}, {"id": "c", "fidelity": None}]

    count = write_rows(path, rows)

    assert count == 3
    assert list(read_rows(path)) == [good]


def test_to_arrays_joins_features_and_candidate_encoding():
    features = list(np.arange(len(FEATURE_NAMES), dtype=float))
    candidate = Candidate(long_side=1024)
    row = {
        "id": "a",
        "variant": "jpeg",
        "width": 200,
        "height": 100,
        "features": features,
        "candidate": candidate.as_dict(),
        "ssim": 0.95,
        "fidelity": 0.9,
        "bytes": 1234,
        "time_ms": 56.0,
    }

    x, y, keys = to_arrays([row, row])

    assert x.shape == (2, len(FEATURE_NAMES) + N_CANDIDATE_FEATURES)
    assert np.array_equal(x[0, len(FEATURE_NAMES) :], candidate.encode(100, 200))
    assert keys == ["a/jpeg", "a/jpeg"]
    decoded = decode_targets(y)
    assert decoded["fidelity"][0] == pytest.approx(0.9, abs=1e-5)
    assert decoded["bytes"][0] == pytest.approx(1234, rel=1e-5)
