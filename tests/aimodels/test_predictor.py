"""The quality predictor: it learns, it is reproducible, its files load with weights_only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aimodels.ml.predictor import (
    TARGETS,
    QualityPredictor,
    decode_targets,
    encode_targets,
    evaluate_predictor,
    train_quality_predictor,
)
from vectorizer.protocols import Predictions


@pytest.fixture(autouse=True)
def _media_root():
    """Shadow the Django-only autouse fixture of tests/conftest.py: these tests need no Django."""


N_FEATURES = 6


def _synthetic(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return inputs and encoded targets where quality rises and bytes fall with column 0."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, N_FEATURES)).astype(np.float32)
    drive = x[:, 0]
    ssim = 1 - 0.1 * np.exp(-2 * (drive + 1))  # 0.9 … 0.998, monotone in x0
    fidelity = 1 - 0.2 * np.exp(-2 * (drive + 1))
    svg_bytes = 2000 * np.exp(1 - drive)
    time_ms = 50 + 100 * (x[:, 1] + 1)
    return x, encode_targets(ssim, fidelity, svg_bytes, time_ms)


@pytest.fixture(scope="module")
def trained() -> tuple[QualityPredictor, np.ndarray, np.ndarray]:
    x, y = _synthetic()
    return train_quality_predictor(x, y, seed=0, epochs=40, hidden=32), x, y


def test_train_quality_predictor_beats_predicting_the_mean(trained):
    model, _, _ = trained
    x_test, y_test = _synthetic(200, seed=1)

    predicted = model.predict_rows(x_test)
    truth = decode_targets(y_test)

    for name in ("ssim", "fidelity"):
        model_error = np.mean((predicted[name] - truth[name]) ** 2)
        mean_error = np.mean((truth[name].mean() - truth[name]) ** 2)
        assert model_error < 0.2 * mean_error, name


def test_train_quality_predictor_learns_a_monotone_relation(trained):
    model, _, _ = trained
    sweep = np.zeros((9, N_FEATURES), dtype=np.float32)
    sweep[:, 0] = np.linspace(-0.9, 0.9, 9)

    predicted = model.predict_rows(sweep)

    assert np.all(np.diff(predicted["fidelity"]) > 0)
    assert np.all(np.diff(predicted["bytes"]) < 0)


def test_train_quality_predictor_is_deterministic_for_a_seed(trained):
    model, x, y = trained

    again = train_quality_predictor(x, y, seed=0, epochs=40, hidden=32)
    other = train_quality_predictor(x, y, seed=1, epochs=40, hidden=32)

    first, second = model.predict_rows(x), again.predict_rows(x)
    for name in TARGETS:
        assert np.array_equal(first[name], second[name]), name
    assert not np.array_equal(first["ssim"], other.predict_rows(x)["ssim"])


def test_predict_repeats_the_image_vector_per_candidate(trained):
    model, x, _ = trained
    image, candidates = x[0, :2], x[:5, 2:]

    predicted = model.predict(image, candidates)
    rows = np.hstack([np.repeat(image[None, :], 5, axis=0), candidates])

    assert isinstance(predicted, Predictions)
    assert len(predicted) == 5
    for name in TARGETS:
        assert getattr(predicted, name).shape == (5,)
        assert np.array_equal(getattr(predicted, name), model.predict_rows(rows)[name])


def test_save_load_round_trip_gives_identical_predictions(trained, tmp_path):
    model, x, _ = trained
    model.metrics = {"ssim_mae": 0.01}
    path = tmp_path / "v1.pt"

    model.save(path)
    loaded = QualityPredictor.load(path)

    blob = torch.load(path, weights_only=True)  # plain tensors and lists: no pickled classes
    assert blob["n_inputs"] == N_FEATURES
    assert loaded.metrics == {"ssim_mae": 0.01}
    before, after = model.predict_rows(x), loaded.predict_rows(x)
    for name in TARGETS:
        assert np.array_equal(before[name], after[name]), name


def test_encode_decode_targets_round_trip():
    ssim = np.array([0.5, 0.9, 0.99, 0.999])
    fidelity = np.array([0.4, 0.8, 0.95, 0.9999])
    svg_bytes = np.array([10.0, 1e3, 1e5, 1e6])
    time_ms = np.array([1.0, 20.0, 300.0, 4000.0])

    encoded = encode_targets(ssim, fidelity, svg_bytes, time_ms)
    decoded = decode_targets(encoded)

    assert encoded.shape == (4, 4)
    assert np.isfinite(encoded).all()
    np.testing.assert_allclose(decoded["ssim"], ssim, atol=1e-5)
    np.testing.assert_allclose(decoded["fidelity"], fidelity, atol=1e-5)
    np.testing.assert_allclose(decoded["bytes"], svg_bytes, rtol=1e-5)
    np.testing.assert_allclose(decoded["time_ms"], time_ms, rtol=1e-5)


def test_encode_targets_keeps_perfect_quality_finite():
    encoded = encode_targets(np.ones(2), np.ones(2), np.zeros(2), np.zeros(2))

    assert np.isfinite(encoded).all()
    assert decode_targets(encoded)["ssim"] == pytest.approx([1.0, 1.0])


def test_evaluate_predictor_reports_errors_per_target(trained):
    model, x, y = trained

    report = evaluate_predictor(model, x, y)

    assert report["rows"] == len(x)
    assert 0 <= report["ssim_mae"] < 0.01
    assert 0 <= report["bytes_mape"] < 0.5


def test_predict_stays_sane_for_inputs_constant_in_training():
    # Tier 3 moves change knobs (denoise, splice, alpha) the training sweep never varies.
    x, y = _synthetic(200)
    x[:, 5] = 0.25  # constant while training

    model = train_quality_predictor(x, y, seed=0, epochs=20, hidden=16)
    moved = x[:20].copy()
    moved[:, 5] = 1.0

    base, after = model.predict_rows(x[:20]), model.predict_rows(moved)
    assert np.isfinite(after["bytes"]).all()
    assert np.abs(after["fidelity"] - base["fidelity"]).max() < 0.05
    assert 0.5 < after["bytes"].min() / base["bytes"].min() < 2
