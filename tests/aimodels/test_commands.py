"""build_training_set, train_models and benchmark on a four-logo folder drawn for the test."""

from __future__ import annotations

import csv
import json
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from PIL import Image, ImageDraw

from aimodels import activation, registry
from aimodels.management.commands import train_models
from aimodels.ml.training import TrainedModel, fit_quality_predictor, read_rows
from conversions.models import Conversion, Upload
from tests.aimodels.test_registry import tiny_predictor
from vectorizer.dataset import split_of

SIDE = 64
# id -> (category, disc colour, bar colour); logo-1 and logo-2 fall in the test split.
LOGOS = {
    "logo-0": ("simple", "#c81e28", "#143cc8"),
    "logo-1": ("simple", "#1e9632", "#f0a014"),
    "logo-2": ("text", "#282828", "#dc3c3c"),
    "logo-3": ("text", "#6428b4", "#28b4a0"),
}
MANIFEST_COLUMNS = ["id", "file", "source", "license", "category", "width", "height", "variant"]


def draw(disc: str, bar: str) -> Image.Image:
    image = Image.new("RGBA", (SIDE, SIDE), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    pen.ellipse((8, 8, 40, 40), fill=disc)
    pen.rectangle((32, 44, 58, 56), fill=bar)
    return image


def true_svg(disc: str, bar: str) -> str:
    # The same shapes as `draw`, written by hand: Pillow's ellipse box is inclusive.
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIDE} {SIDE}" '
        f'width="{SIDE}" height="{SIDE}">'
        f'<circle cx="24.5" cy="24.5" r="16.5" fill="{disc}"/>'
        f'<rect x="32" y="44" width="27" height="13" fill="{bar}"/></svg>'
    )


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("logos")
    with (folder / "manifest.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MANIFEST_COLUMNS)
        for logo_id, (category, disc, bar) in LOGOS.items():
            draw(disc, bar).save(folder / f"{logo_id}.png")
            (folder / f"{logo_id}.svg").write_text(true_svg(disc, bar))
            writer.writerow([logo_id, f"{logo_id}.png", "test", "CC0", category, SIDE, SIDE,
                             "alpha"])  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def training_set(dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("set") / "rows.jsonl.gz"
    call_command(
        "build_training_set", str(dataset), "--out", str(out), "--candidates", "2",
        "--variants", "alpha", "--workers", "2", stdout=StringIO(),
    )  # fmt: skip
    return out


def test_dataset_has_both_splits():
    assert {split_of(i) for i in LOGOS} == {"train", "test"}
    assert [i for i in LOGOS if split_of(i) == "test"] == ["logo-1", "logo-2"]


def test_build_training_set_writes_measured_rows(training_set):
    rows = list(read_rows(training_set))

    assert len(rows) == len(LOGOS) * 2  # 1 variant × 2 candidates per logo
    assert {r["id"] for r in rows} == set(LOGOS)
    assert {r["variant"] for r in rows} == {"alpha"}
    for row in rows:
        assert 0.5 < row["ssim"] <= 1 + 1e-6
        assert 0.5 < row["fidelity"] <= 1 + 1e-6
        assert row["bytes"] > 0
        assert row["time_ms"] > 0
        assert row["split"] == split_of(row["id"])
        assert row["category"] == LOGOS[row["id"]][0]


def test_build_training_set_refuses_unknown_variants(dataset, tmp_path):
    with pytest.raises(CommandError, match="unknown variants"):
        call_command("build_training_set", str(dataset), "--variants", "sepia")


def test_train_models_writes_weights_cards_and_active_json(
    dataset, training_set, tmp_path, registry_snapshot
):
    out = tmp_path / "models"
    printed = StringIO()

    call_command(
        "train_models", str(dataset), "--training-set", str(training_set), "--out", str(out),
        "--epochs", "5", stdout=printed,
    )  # fmt: skip

    active = json.loads((out / registry.ACTIVE_FILE).read_text())
    assert set(active) == set(registry.MODELS)
    for name, version in active.items():
        assert (out / name / f"{version}.pt").exists()
        card = json.loads((out / name / f"{version}.json").read_text())
        assert card["metrics"]
        assert card["trained_on"]
        assert card["held_out_comparison"]["reason"] == "no active version to compare with"
        assert registry.load_version(out, name).loaded
    predictor_card = json.loads((out / "quality_predictor" / f"{active['quality_predictor']}.json")
                                .read_text())  # fmt: skip
    assert predictor_card["trained_on"]["train_rows"] == 4
    assert predictor_card["metrics"]["rows"] == 4  # the held-out rows
    assert printed.getvalue().count("active now (was none)") == 2
    assert registry.serving() != out  # a scratch folder is not what this process serves


def fake_fit(quality: dict[int, dict[str, float]]):
    """Return a fit_quality_predictor whose held-out scores are `quality[id(model)]`."""

    def fit(path, *, seed=0, epochs=120, logo_type=None):
        model = tiny_predictor(seed)
        quality[id(model)] = quality.pop("new")
        # Scores by identity: the active version (loaded from disk) gets quality["active"].
        return TrainedModel(
            "quality_predictor", model, {"rows": 4}, {"train_rows": 4},
            lambda any_model: quality.get(id(any_model), quality["active"]),
        )  # fmt: skip

    return fit


@pytest.fixture
def trained_once(tmp_path, registry_snapshot) -> Path:
    """A models folder whose quality predictor v1 is active."""
    out = tmp_path / "models"
    (out / "quality_predictor").mkdir(parents=True)
    tiny_predictor(0).save(out / "quality_predictor" / "v1.pt")
    activation.activate(out, {"quality_predictor": "v1"})
    return out


def train_predictor(out: Path, *options: str) -> str:
    printed = StringIO()
    call_command(
        "train_models", "unused", "--only", "quality_predictor", "--out", str(out), *options,
        stdout=printed,
    )  # fmt: skip
    return printed.getvalue()


def test_train_models_keeps_the_active_version_when_the_new_one_is_worse(trained_once, monkeypatch):
    quality = {
        "new": {"fidelity_mae": 0.02, "mean_fidelity_regret": 0.004},
        "active": {"fidelity_mae": 0.014, "mean_fidelity_regret": 0.002},
    }
    monkeypatch.setattr(train_models, "fit_quality_predictor", fake_fit(quality))

    printed = train_predictor(trained_once)

    versions = registry.available_versions(trained_once, "quality_predictor")
    assert len(versions) == 2  # the new version is written ...
    assert registry.read_active(trained_once)["quality_predictor"] == "v1"  # ... not activated
    assert "not activated; v1 stays active" in printed
    assert "mean_fidelity_regret 0.0040 against the active version's 0.0020" in printed
    assert "fidelity_mae 0.0200 against the active version's 0.0140" in printed
    card = registry.read_card(trained_once, "quality_predictor", versions[-1])
    assert card["held_out_comparison"]["not_worse"] is False


def test_train_models_activate_forces_a_worse_version(trained_once, monkeypatch):
    quality = {"new": {"fidelity_mae": 0.02}, "active": {"fidelity_mae": 0.014}}
    monkeypatch.setattr(train_models, "fit_quality_predictor", fake_fit(quality))

    printed = train_predictor(trained_once, "--activate")

    new = registry.available_versions(trained_once, "quality_predictor")[-1]
    assert new != "v1"
    assert registry.read_active(trained_once)["quality_predictor"] == new
    assert "activated by --activate although worse on the held-out split" in printed


def test_train_models_activates_a_version_that_is_not_worse(trained_once, monkeypatch):
    quality = {
        "new": {"fidelity_mae": 0.0145, "mean_fidelity_regret": 0.0012},  # MAE within noise
        "active": {"fidelity_mae": 0.014, "mean_fidelity_regret": 0.002},
    }
    monkeypatch.setattr(train_models, "fit_quality_predictor", fake_fit(quality))

    printed = train_predictor(trained_once)

    new = registry.available_versions(trained_once, "quality_predictor")[-1]
    assert registry.read_active(trained_once)["quality_predictor"] == new
    assert "active now (was v1): not worse on the held-out split" in printed


def test_release_scores_the_real_active_model_on_the_same_rows(training_set, tmp_path):
    out = tmp_path / "models"
    first = fit_quality_predictor(training_set, epochs=5)
    activation.release(out, [first], stamp="20260101-000000")
    second = fit_quality_predictor(training_set, epochs=5, seed=1)

    (done,) = activation.release(out, [second], stamp="20260101-000001")

    # Both versions scored on the held-out rows with the same function.
    assert done.active_scores == first.score(first.model)
    assert done.scores == second.score(second.model)
    assert set(done.scores) == {"fidelity_mae", "mean_fidelity_regret"}
    assert done.previous == "v20260101-000000"


def test_judge_refuses_a_less_accurate_classifier_and_names_the_score():
    verdict = activation.judge("logo_type", {"accuracy": 0.85}, {"accuracy": 0.9})

    assert not verdict.activate
    assert "accuracy 0.8500 against the active version's 0.9000" in verdict.reason
    assert activation.judge("logo_type", {"accuracy": 0.9}, {"accuracy": 0.9}).activate


def test_train_models_needs_a_training_set(dataset, tmp_path, registry_snapshot):
    with pytest.raises(CommandError, match="build_training_set"):
        call_command(
            "train_models", str(dataset), "--training-set", str(tmp_path / "missing.jsonl.gz"),
            "--out", str(tmp_path), "--only", "quality_predictor",
        )  # fmt: skip


@pytest.mark.django_db
def test_benchmark_writes_results_table_and_chart(dataset, training_set, tmp_path, ai_models):
    out = tmp_path / "bench"

    call_command(
        "benchmark", str(dataset), "--tiers", "default,1,recipe,vtracer", "--limit", "2",
        "--variants", "alpha", "--training-set", str(training_set), "--recipe-min-images", "1",
        "--out", str(out), stdout=StringIO(),
    )  # fmt: skip

    results = json.loads((out / "results.json").read_text())
    rows = results["rows"]
    assert {r["id"] for r in rows} == {"logo-1", "logo-2"}  # the test split
    assert sorted(r["tier"] for r in rows) == sorted(["1", "default", "recipe", "vtracer"] * 2)
    assert all(r["ok"] for r in rows)
    assert all(0.5 < r["fidelity"] <= 1 + 1e-6 for r in rows)
    for row in rows:
        assert row["true_bytes"] == len(true_svg(*LOGOS[row["id"]][1:]).encode())
        assert row["bytes_ratio"] == pytest.approx(row["svg_bytes"] / row["true_bytes"])
    # The recipe is one of the training set's candidates, chosen on the train split.
    train_candidates = [r["candidate"] for r in read_rows(training_set) if r["split"] == "train"]
    assert results["recipe"]["candidate"] in train_candidates
    summary = results["summary"]
    assert summary["1"]["n"] == 2
    assert summary["1"]["error_removed"] is not None
    assert summary["recipe"]["median_bytes_ratio"] > 0
    assert "bytes_ratio_mean_category_text" in summary["vtracer"]
    table = (out / "results.md").read_text()
    assert "| tier | n | mean fidelity |" in table
    assert "| 1 | 2 |" in table
    assert "| best fixed recipe | 2 |" in table
    assert "| vtracer alone | 2 |" in table
    assert "Bytes ÷ true SVG, median / mean by category and variant" in table
    assert (out / "quality_vs_bytes.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not Conversion.objects.exists()  # rolled back without --record
    assert not Upload.objects.exists()
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_benchmark_refuses_unknown_tiers(dataset):
    with pytest.raises(CommandError, match="unknown tiers"):
        call_command("benchmark", str(dataset), "--tiers", "default,9")
