import numpy as np
import pytest

from aimodels.ml.classifier import (
    LOGO_TYPES,
    LogoTypeModel,
    LogoTypeNet,
    evaluate,
    train_logo_type,
)
from vectorizer.features import FEATURE_NAMES, ImageFeatures


@pytest.fixture(autouse=True)
def _media_root():
    """Shadow the Django-only autouse fixture of tests/conftest.py: these tests need no Django."""


def _toy_data(n_per_class: int = 30, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    # Each class sits around its own centre in feature space, so a fitted model separates them.
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (len(LOGO_TYPES), len(FEATURE_NAMES)))
    rows, labels = [], []
    for index, name in enumerate(LOGO_TYPES):
        rows.append(centres[index] + rng.normal(0, 0.5, (n_per_class, len(FEATURE_NAMES))))
        labels += [name] * n_per_class
    return np.concatenate(rows).astype(np.float32), labels


def _features(vector: np.ndarray) -> ImageFeatures:
    return ImageFeatures(*(float(v) for v in vector))


@pytest.fixture(scope="module")
def trained() -> tuple[LogoTypeModel, np.ndarray, list[str]]:
    x, labels = _toy_data()
    return train_logo_type(x, labels, seed=0, epochs=30), x, labels


def test_train_logo_type_fits_separable_classes(trained):
    model, x, labels = trained

    report = evaluate(model, x, labels)

    assert report["accuracy"] > 0.95
    assert set(report["per_class"]) == set(LOGO_TYPES)
    assert np.asarray(report["confusion"]).sum() == len(labels)


def test_train_logo_type_is_deterministic(trained):
    model, x, labels = trained

    again = train_logo_type(x, labels, seed=0, epochs=30)

    assert np.array_equal(model.predict_proba(x), again.predict_proba(x))


def test_predict_returns_a_type_and_confidence(trained):
    model, x, labels = trained

    logo_type, confidence = model.predict(_features(x[0]))

    assert logo_type == labels[0]
    assert 1 / len(LOGO_TYPES) <= confidence <= 1


def test_save_and_load_round_trip(trained, tmp_path):
    model, x, _ = trained
    model.metrics["accuracy"] = 0.5
    path = tmp_path / "logo_type.pt"

    model.save(path)
    loaded = LogoTypeModel.load(path)

    assert loaded.feature_names == FEATURE_NAMES
    assert loaded.metrics["accuracy"] == 0.5
    assert np.allclose(loaded.predict_proba(x), model.predict_proba(x))


def test_evaluate_counts_mistakes():
    model = LogoTypeModel(
        net=LogoTypeNet(len(FEATURE_NAMES)),
        mean=np.zeros(len(FEATURE_NAMES), np.float32),
        std=np.ones(len(FEATURE_NAMES), np.float32),
    )
    x = np.zeros((4, len(FEATURE_NAMES)), np.float32)

    report = evaluate(model, x, list(LOGO_TYPES))

    # Identical inputs get one prediction, so exactly one of the four types is right.
    assert report["accuracy"] == 0.25
    assert sorted(report["per_class"].values()) == [0.0, 0.0, 0.0, 1.0]
