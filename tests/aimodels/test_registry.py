"""The model registry: loading from a folder, switching versions, mirroring to ModelVersion."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from aimodels import activation, registry, signals
from aimodels.ml.classifier import LOGO_TYPES, LogoTypeModel, train_logo_type
from aimodels.ml.predictor import QualityPredictor, encode_targets, train_quality_predictor
from aimodels.models import ModelVersion
from tests.fakes import FakeClassifier
from vectorizer.candidates import N_CANDIDATE_FEATURES
from vectorizer.features import FEATURE_NAMES


def tiny_classifier(seed: int) -> LogoTypeModel:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(8, len(FEATURE_NAMES))).astype(np.float32)
    return train_logo_type(x, [*LOGO_TYPES, *LOGO_TYPES], seed=seed, epochs=1, hidden=8)


def tiny_predictor(seed: int) -> QualityPredictor:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(16, len(FEATURE_NAMES) + N_CANDIDATE_FEATURES)).astype(np.float32)
    y = encode_targets(
        rng.uniform(0.8, 1, 16), rng.uniform(0.8, 1, 16), rng.uniform(1e3, 1e4, 16), np.full(16, 50)
    )
    return train_quality_predictor(x, y, seed=seed, epochs=1, hidden=8)


def write_versions(models_dir: Path, versions: tuple[str, ...] = ("v1", "v2")) -> None:
    """Write tiny trained weights and cards for both models, one file per version."""
    for name, make in (("logo_type", tiny_classifier), ("quality_predictor", tiny_predictor)):
        folder = models_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        for seed, version in enumerate(versions):
            make(seed).save(folder / f"{version}.pt")
            card = {"metrics": {"seed": seed}, "trained_on": {"rows": 8 + seed}}
            (folder / f"{version}.json").write_text(json.dumps(card))


@pytest.fixture
def models_dir(tmp_path, registry_snapshot) -> Path:
    folder = tmp_path / "models"
    write_versions(folder)
    return folder


def test_load_all_with_an_empty_dir_reports_errors(tmp_path, registry_snapshot):
    loaded = registry.load_all(tmp_path)

    assert set(loaded) == set(registry.MODELS)
    for name, entry in loaded.items():
        assert not entry.loaded
        assert "train_models" in entry.error, entry.error
        assert registry.get(name) is None
    assert registry.versions() == {}


def test_load_all_picks_the_newest_version_without_active_json(models_dir):
    loaded = registry.load_all(models_dir)

    assert {name: entry.version for name, entry in loaded.items()} == {
        "logo_type": "v2",
        "quality_predictor": "v2",
    }
    assert isinstance(registry.get("logo_type"), LogoTypeModel)
    assert isinstance(registry.get("quality_predictor"), QualityPredictor)
    assert registry.logo_classifier() is registry.get("logo_type")
    assert registry.quality_predictor() is registry.get("quality_predictor")
    entry = loaded["quality_predictor"]
    assert entry.sha256 == registry.file_sha256(models_dir / "quality_predictor" / "v2.pt")
    assert entry.metrics == {"seed": 1}
    assert entry.trained_on == {"rows": 9}


def test_load_all_records_a_corrupt_file_instead_of_raising(models_dir):
    (models_dir / "quality_predictor" / "v3.pt").write_bytes(b"not a torch file")

    loaded = registry.load_all(models_dir)

    assert not loaded["quality_predictor"].loaded
    assert "cannot load v3.pt" in loaded["quality_predictor"].error
    assert registry.get("quality_predictor") is None
    assert registry.get("logo_type") is not None


def test_activate_rewrites_active_json_and_reloads(models_dir):
    registry.load_all(models_dir)
    before = registry.get("quality_predictor")

    activation.activate(models_dir, {"quality_predictor": "v1"})

    active = json.loads((models_dir / registry.ACTIVE_FILE).read_text())
    assert active == {"logo_type": "v2", "quality_predictor": "v1"}
    assert registry.versions() == active
    assert registry.get("quality_predictor") is not before


def test_activate_leaves_a_registry_serving_another_folder_alone(models_dir, tmp_path):
    other = tmp_path / "other"
    write_versions(other, ("v7",))
    registry.load_all(other)

    activation.activate(models_dir, {"logo_type": "v1"})

    assert registry.versions() == {"logo_type": "v7", "quality_predictor": "v7"}
    assert registry.read_active(models_dir)["logo_type"] == "v1"


def test_activate_refuses_an_unknown_version_and_changes_nothing(models_dir):
    activation.activate(models_dir, {"logo_type": "v1"})
    before = (models_dir / registry.ACTIVE_FILE).read_text()

    with pytest.raises(ValueError, match="No weights file for logo_type v9"):
        activation.activate(models_dir, {"quality_predictor": "v1", "logo_type": "v9"})
    with pytest.raises(ValueError, match="Unknown model"):
        activation.activate(models_dir, {"styler": "v1"})

    assert (models_dir / registry.ACTIVE_FILE).read_text() == before


def test_another_process_switching_the_version_reloads_on_next_get(models_dir):
    activation.activate(models_dir, {"logo_type": "v2"})
    registry.load_all(models_dir)
    assert registry.versions()["logo_type"] == "v2"
    active_file = models_dir / registry.ACTIVE_FILE
    # Another process (the admin) rewrites the file; a later mtime is what this one notices.
    later = active_file.stat().st_mtime + 5
    active_file.write_text(json.dumps({"logo_type": "v1", "quality_predictor": "v2"}))
    os.utime(active_file, (later, later))

    assert isinstance(registry.get("logo_type"), LogoTypeModel)

    assert registry.status()["logo_type"].version == "v1"


def test_get_loads_the_configured_folder_lazily_and_status_loads_nothing(models_dir, settings):
    settings.SVGAI_MODELS_DIR = models_dir
    registry.restore(registry.Snapshot(models={}, folder=None, active_mtime=None, configured=False))

    waiting = registry.status()
    assert not any(entry.loaded for entry in waiting.values())
    assert "first use" in waiting["logo_type"].error
    assert registry.serving() is None

    assert isinstance(registry.get("quality_predictor"), QualityPredictor)
    assert registry.serving() == models_dir
    assert registry.versions() == {"logo_type": "v2", "quality_predictor": "v2"}


def test_override_installs_and_removes_then_restores(models_dir):
    registry.load_all(models_dir)
    real = registry.get("quality_predictor")
    fake = object()

    with registry.override(quality_predictor=fake, logo_type=None):
        assert registry.get("quality_predictor") is fake
        assert registry.get("logo_type") is None
        assert registry.versions() == {"quality_predictor": "installed"}
        assert registry.serving() is None  # installed models are not watched on disk

    assert registry.get("quality_predictor") is real
    assert registry.serving() == models_dir


def test_typed_getters_refuse_a_model_of_another_kind(registry_snapshot):
    registry.install("quality_predictor", FakeClassifier())  # no feature_names
    registry.install("logo_type", tiny_predictor(0))  # no predict_proba

    with pytest.raises(TypeError, match="served as quality_predictor is a FakeClassifier"):
        registry.quality_predictor()
    with pytest.raises(TypeError, match="served as logo_type is a QualityPredictor"):
        registry.logo_classifier()
    registry.remove("quality_predictor")
    assert registry.quality_predictor() is None
    assert registry.get("logo_type") is not None


def test_load_version_reads_a_version_without_installing_it(models_dir):
    registry.load_all(models_dir)
    served = registry.get("logo_type")

    entry = registry.load_version(models_dir, "logo_type", "v1")

    assert entry.loaded
    assert entry.version == "v1"
    assert entry.metrics == {"seed": 0}
    assert registry.get("logo_type") is served


@pytest.mark.django_db
def test_sync_model_versions_mirrors_the_files_and_the_active_one(models_dir, settings):
    settings.SVGAI_MODELS_DIR = models_dir

    activation.activate(models_dir, {"quality_predictor": "v1"})  # mirrors the configured folder

    rows = ModelVersion.objects.filter(file__endswith=".pt", name__in=list(registry.MODELS))
    mine = {(r.name, r.version): r for r in rows if r.version in ("v1", "v2")}
    assert set(mine) == {(n, v) for n in registry.MODELS for v in ("v1", "v2")}
    assert mine["quality_predictor", "v1"].active
    assert not mine["quality_predictor", "v2"].active
    assert mine["logo_type", "v2"].active
    row = mine["logo_type", "v1"]
    assert row.kind == ModelVersion.Kind.CLASSIFIER
    assert row.file == "logo_type/v1.pt"
    assert row.sha256 == registry.file_sha256(models_dir / "logo_type" / "v1.pt")
    assert row.metrics == {"seed": 0}


@pytest.mark.django_db
def test_sync_model_versions_moves_the_active_flag(models_dir, settings):
    settings.SVGAI_MODELS_DIR = models_dir
    signals.sync_model_versions()
    # Switched by hand (or by a process without a database): the next sync follows the file.
    (models_dir / registry.ACTIVE_FILE).write_text(json.dumps({"logo_type": "v1"}))

    signals.sync_model_versions()

    active = ModelVersion.objects.filter(name="logo_type", active=True)
    assert [row.version for row in active] == ["v1"]
    assert ModelVersion.objects.filter(name="logo_type", version="v2").count() == 1
