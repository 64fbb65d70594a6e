"""Bounded features, finite predictions, and no NaN or infinity ever stored."""

from __future__ import annotations

import math

import numpy as np
import pytest
from django.conf import settings

from aimodels.ml.predictor import QualityPredictor, decode_targets
from conversions.models import Conversion
from vectorizer.features import BLOCKINESS_MAX, FEATURE_NAMES, extract_features


def flat_square() -> np.ndarray:
    """Return the issue's image: a red square with a blue inner one, edges on columns 8n − 1."""
    pixels = np.zeros((64, 64, 3), np.uint8)
    pixels[..., 0] = 255
    pixels[16:48, 16:48, 2] = 156
    return pixels


def shipped_predictor() -> QualityPredictor:
    folder = settings.SVGAI_MODELS_DIR / "quality_predictor"
    return QualityPredictor.load(sorted(folder.glob("*.pt"))[-1])


def test_features_of_a_flat_square_are_bounded():
    features = extract_features(flat_square())

    assert 0 < features.blockiness <= BLOCKINESS_MAX
    assert all(math.isfinite(v) for v in features.as_vector())


@pytest.mark.parametrize("value", [2541.0, 1e30, np.inf, -np.inf, np.nan])
def test_predictor_answers_finite_numbers_for_any_input(value):
    predictor = shipped_predictor()
    vector = extract_features(flat_square()).as_vector().astype(np.float64)
    vector[FEATURE_NAMES.index("blockiness")] = value
    n_candidate = predictor.x_mean.shape[0] - len(vector)
    rows = np.hstack([np.repeat(vector[None, :], 3, axis=0), np.zeros((3, n_candidate))])

    predicted = predictor.predict_rows(rows.astype(np.float32))

    for name, values in predicted.items():
        assert np.isfinite(values).all(), (name, values)
    assert ((predicted["ssim"] >= 0) & (predicted["ssim"] <= 1)).all()


def test_decode_targets_never_overflows():
    y = np.array([[1e6, -1e6, 1e6, np.nan], [-1e6, np.inf, -np.inf, 1e6]], dtype=np.float32)

    decoded = decode_targets(y)

    assert all(np.isfinite(values).all() for values in decoded.values())


@pytest.mark.django_db
def test_non_finite_numbers_are_stored_as_null(make_conversion):
    conversion = make_conversion(
        kind=Conversion.Kind.AI,
        ssim=float("nan"),
        predicted_ssim=float("inf"),
        prediction={"ssim": float("nan"), "bytes": float("inf"), "time_ms": 12.0},
        features={"blockiness": np.float32(np.inf), "width": 64.0},
        routing={"estimates": {"1": [1.0, float("-inf")]}},
    )

    stored = Conversion.objects.get(pk=conversion.pk)
    assert stored.ssim is None
    assert stored.predicted_ssim is None
    assert stored.prediction == {"ssim": None, "bytes": None, "time_ms": 12.0}
    assert stored.features == {"blockiness": None, "width": 64.0}
    assert stored.routing == {"estimates": {"1": [1.0, None]}}
