"""What the quality predictor reads for an image: its features, then the logo type's odds.

Shared by training (which builds the rows) and serving (which builds one row per request), so
it lives beside the predictor rather than in the training module the request path should not
import.
"""

from __future__ import annotations

import numpy as np

from vectorizer.protocols import LogoTypeModel, QualityModel

# Predictor inputs named so are the logo-type classifier's probabilities (see image_inputs).
LOGO_TYPE_PREFIX = "logo_type_"


def image_inputs(features: np.ndarray, logo_type: LogoTypeModel | None = None) -> np.ndarray:
    """Return what the predictor learns an image by: its features, then logo-type odds.

    The classifier was trained on every image variant's true category; its probabilities are
    how the logo type steers the choice of tracer, blur and gradients per image.
    """
    if logo_type is None:
        return features
    odds = logo_type.predict_proba(features[None, :].astype(np.float32))[0]
    return np.concatenate([features, odds.astype(np.float32)])


def predictor_inputs(
    predictor: QualityModel, features: np.ndarray, classifier: LogoTypeModel | None = None
) -> np.ndarray:
    """Return the image inputs a trained `predictor` expects: features, then logo-type odds.

    The logo type steers the choice when the predictor learned with it; without a classifier
    its inputs are unknown (NaN), which the predictor replaces by their training mean.
    """
    wanted = sum(1 for name in predictor.feature_names if name.startswith(LOGO_TYPE_PREFIX))
    if not wanted:
        return features
    if classifier is None:
        return np.concatenate([features, np.full(wanted, np.nan, dtype=np.float32)])
    return image_inputs(features, classifier)
