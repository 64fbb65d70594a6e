"""Fake models and a fake clock for tests: known, simple outputs and time that moves on demand.

The fake predictor's outputs are a plain function of the candidate encoding (see
`FakePredictor.predict`), so a test can work out which candidate any tier should choose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vectorizer.protocols import Predictions

# Columns of Candidate.encode (see vectorizer/candidates.py).
LOG2_FACTOR, LOG2_COLORS, SPECKLE, LENGTH = 0, 3, 5, 7


@dataclass
class FakePredictor:
    """Predicts a candidate's outcome from its encoding alone.

    Fidelity grows with the upscale factor and the palette size and shrinks with the speckle
    filter and the minimum segment length; bytes grow with factor and colours; time grows 4×
    per doubling of the factor (40 ms as is, 2.56 s at 8×). `error` shifts every quality down:
    0.03 is an easy image, 0.25 a hard one.
    """

    error: float = 0.03
    fail: bool = False
    calls: int = 0
    feature_names: tuple[str, ...] = ()  # image features only: no logo-type odds

    def predict(self, image_vector: np.ndarray, candidate_matrix: np.ndarray) -> Predictions:
        self.calls += 1
        if self.fail:
            raise RuntimeError("predictor exploded")
        m = np.asarray(candidate_matrix, dtype=np.float64)
        fidelity = (
            1.0
            - self.error
            - 0.02 * (3 - m[:, LOG2_FACTOR])
            + 0.004 * m[:, LOG2_COLORS]
            - 0.01 * m[:, SPECKLE]
            - 0.01 * m[:, LENGTH]
        )
        fidelity = np.clip(fidelity, 0.0, 0.999)
        return Predictions(
            ssim=np.clip(fidelity + 0.005, 0.0, 0.9995),
            fidelity=fidelity,
            bytes=1000.0 * 2 ** m[:, LOG2_FACTOR] * (1 + m[:, LOG2_COLORS] / 5),
            time_ms=40.0 * 4 ** m[:, LOG2_FACTOR],
        )


@dataclass
class FakeClassifier:
    """Says every logo is "simple" with 0.9 confidence, or raises when `fail` is set."""

    fail: bool = False
    calls: list[Any] = field(default_factory=list)

    def predict(self, features: Any) -> tuple[str, float]:
        self.calls.append(features)
        if self.fail:
            raise RuntimeError("classifier exploded")
        return "simple", 0.9

    def predict_proba(self, vectors: np.ndarray) -> np.ndarray:
        """Return 0.9 for "simple" and the rest shared by the other three logo types."""
        odds = np.full((len(vectors), 4), 0.1 / 3, dtype=np.float32)
        odds[:, 0] = 0.9
        return odds


class FakeClock:
    """A monotonic clock that moves only when told: budgets are tested without waiting."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
