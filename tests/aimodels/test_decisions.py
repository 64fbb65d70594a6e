"""The shipped models decide per image: these tests fail for an image-blind predictor.

Four real logos (one per category) in two upload variants each: the predictor must not pick
the same settings for all of them, and what it picks must beat the one fixed recipe
(`tiers.FALLBACK_CANDIDATE`, the best single setting on the training split) in fidelity to the
logo's true SVG. `BlindPredictor` shows the first test's teeth: it hides the image from the
real predictor, and then every image gets the same choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from django.conf import settings

from aimodels import registry
from aimodels.ml.inputs import predictor_inputs
from tests.conftest import DATA, REAL_LOGOS
from vectorizer.candidates import Candidate
from vectorizer.dataset import load_rgba, make_variant
from vectorizer.features import extract_features
from vectorizer.images import decode_image
from vectorizer.pipeline import convert_candidate
from vectorizer.protocols import Predictions, QualityModel
from vectorizer.quality import fidelity
from vectorizer.tiers import FALLBACK_CANDIDATE, first_batch, make_plan

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
VARIANTS = ("alpha", "jpeg")


@dataclass
class BlindPredictor:
    """The real predictor, shown one fixed image vector whatever the image."""

    inner: QualityModel
    vector: np.ndarray

    feature_names: tuple[str, ...] = ()

    def predict(self, image_vector: np.ndarray, candidate_matrix: np.ndarray) -> Predictions:
        return self.inner.predict(self.vector, candidate_matrix)


@pytest.fixture(scope="module")
def shipped_predictor() -> QualityModel:
    entry = registry.load_version(settings.SVGAI_MODELS_DIR, "quality_predictor")
    if entry.model is None:
        pytest.skip(f"no shipped quality predictor: {entry.error}")
    return entry.model


@pytest.fixture(scope="module")
def images() -> list[tuple[str, np.ndarray, str]]:
    """(name, decoded RGBA, true SVG) for each real logo in each upload variant."""
    out = []
    for stem in REAL_LOGOS.values():
        rgba = load_rgba(DATA / f"{stem}.png")
        true_svg = (DATA / f"{stem}.svg").read_text()
        for variant in VARIANTS:
            data, _ = make_variant(rgba, variant)
            out.append((f"{stem}/{variant}", decode_image(data).rgba, true_svg))
    return out


def tier1_choice(predictor: QualityModel, rgba: np.ndarray) -> Candidate:
    classifier = registry.load_version(settings.SVGAI_MODELS_DIR, "logo_type").model
    vector = predictor_inputs(predictor, extract_features(rgba).as_vector(), classifier)
    plan = make_plan(predictor, vector, *rgba.shape[:2])
    return first_batch(1, plan)[0]


def test_the_predictor_chooses_different_settings_for_different_logos(shipped_predictor, images):
    choices = {tier1_choice(shipped_predictor, rgba) for _, rgba, _ in images}

    assert len(choices) >= 3, choices


def test_an_image_blind_predictor_chooses_one_setting_for_every_logo(shipped_predictor, images):
    first = extract_features(images[0][1]).as_vector()
    blind = BlindPredictor(shipped_predictor, predictor_inputs(shipped_predictor, first))

    choices = {tier1_choice(blind, rgba) for _, rgba, _ in images}

    assert len(choices) == 1


def test_the_predicted_best_beats_the_fixed_recipe(shipped_predictor, images):
    chosen, fixed = [], []
    for _, rgba, true_svg in images:
        height, width = rgba.shape[:2]
        for candidate, scores in (
            (tier1_choice(shipped_predictor, rgba), chosen),
            (FALLBACK_CANDIDATE, fixed),
        ):
            result = convert_candidate(rgba, candidate, proxy=False)
            scores.append(fidelity(result.svg, true_svg, width, height))

    chosen_error = 1 - np.mean(chosen)
    fixed_error = 1 - np.mean(fixed)
    assert chosen_error < fixed_error, (chosen, fixed)
