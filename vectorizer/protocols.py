"""What the vectorizer needs from a learned model, whatever trained it.

The tiers and the router call models through these protocols, so the pure core never imports
torch or the registry: `aimodels` supplies trained models, tests supply fakes.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from vectorizer.features import ImageFeatures


class QualityModel(Protocol):
    def predict(
        self, image_vector: np.ndarray, candidate_matrix: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Return predicted ssim, fidelity, bytes and time_ms, one value per candidate row."""
        ...


class LogoTypeModel(Protocol):
    def predict(self, features: ImageFeatures) -> tuple[str, float]:
        """Return the logo type of an image and the model's confidence in it."""
        ...
