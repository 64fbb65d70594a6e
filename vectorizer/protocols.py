"""What the vectorizer needs from a learned model, whatever trained it.

The tiers and the router call models through these protocols, so the pure core never imports
torch or the registry: `aimodels` supplies trained models, tests supply fakes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Protocol, runtime_checkable

import numpy as np

from vectorizer.features import ImageFeatures


@dataclass(frozen=True)
class Prediction:
    """What the quality predictor foresees for one candidate on one image."""

    ssim: float  # measured SSIM at the input's size
    fidelity: float  # SSIM against the true vector
    bytes: float  # size of the SVG
    time_ms: float  # preparing and tracing, on a quiet machine

    def as_dict(self) -> dict[str, float]:
        """Return the prediction as the API and the conversion record hold it."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Predictions:
    """The quality predictor's outputs for many candidates: one array per target, aligned."""

    ssim: np.ndarray
    fidelity: np.ndarray
    bytes: np.ndarray
    time_ms: np.ndarray

    def __len__(self) -> int:
        return len(self.ssim)

    def at(self, i: int) -> Prediction:
        """Return the prediction for candidate row `i`."""
        return Prediction(
            ssim=float(self.ssim[i]),
            fidelity=float(self.fidelity[i]),
            bytes=float(self.bytes[i]),
            time_ms=float(self.time_ms[i]),
        )


@runtime_checkable
class QualityModel(Protocol):
    @property
    def feature_names(self) -> tuple[str, ...]:
        """Return what each column of an image vector holds: the image's features, then (names
        starting "logo_type_") the logo-type classifier's odds when the model learned them."""
        ...

    def predict(self, image_vector: np.ndarray, candidate_matrix: np.ndarray) -> Predictions:
        """Return predicted ssim, fidelity, bytes and time_ms, one value per candidate row."""
        ...


@runtime_checkable
class LogoTypeModel(Protocol):
    def predict(self, features: ImageFeatures) -> tuple[str, float]:
        """Return the logo type of an image and the model's confidence in it."""
        ...

    def predict_proba(self, vectors: np.ndarray) -> np.ndarray:
        """Return the odds of each logo type (one column each) for rows of feature vectors."""
        ...
