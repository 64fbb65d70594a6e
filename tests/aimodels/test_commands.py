"""build_training_set, train_models and benchmark on a four-logo folder drawn for the test."""

from __future__ import annotations

import csv
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image, ImageDraw

from aimodels import registry
from aimodels.ml.training import read_rows
from conversions.models import Conversion
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

    call_command(
        "train_models", str(dataset), "--training-set", str(training_set), "--out", str(out),
        "--epochs", "5", stdout=StringIO(),
    )  # fmt: skip

    active = json.loads((out / registry.ACTIVE_FILE).read_text())
    assert set(active) == set(registry.MODELS)
    for name, version in active.items():
        assert (out / name / f"{version}.pt").exists()
        card = json.loads((out / name / f"{version}.json").read_text())
        assert card["metrics"]
        assert card["trained_on"]
    predictor_card = json.loads((out / "quality_predictor" / f"{active['quality_predictor']}.json")
                                .read_text())  # fmt: skip
    assert predictor_card["trained_on"]["train_rows"] == 4
    assert predictor_card["metrics"]["rows"] == 4  # the held-out rows
    assert registry.versions() == active  # and loaded in this process


def test_train_models_needs_a_training_set(dataset, tmp_path, registry_snapshot):
    with pytest.raises(CommandError, match="build_training_set"):
        call_command(
            "train_models", str(dataset), "--training-set", str(tmp_path / "missing.jsonl.gz"),
            "--out", str(tmp_path), "--only", "quality_predictor",
        )  # fmt: skip


@pytest.mark.django_db
def test_benchmark_writes_results_table_and_chart(dataset, tmp_path, ai_models):
    out = tmp_path / "bench"

    call_command(
        "benchmark", str(dataset), "--tiers", "default,1", "--limit", "2", "--variants", "alpha",
        "--out", str(out), stdout=StringIO(),
    )  # fmt: skip

    results = json.loads((out / "results.json").read_text())
    rows = results["rows"]
    assert {r["id"] for r in rows} == {"logo-1", "logo-2"}  # the test split
    assert sorted(r["tier"] for r in rows) == ["1", "1", "default", "default"]
    assert all(r["ok"] for r in rows)
    assert all(0.5 < r["fidelity"] <= 1 + 1e-6 for r in rows)
    summary = results["summary"]
    assert summary["1"]["n"] == 2
    assert summary["1"]["error_removed"] is not None
    table = (out / "results.md").read_text()
    assert "| tier | n | mean fidelity |" in table
    assert "| 1 | 2 |" in table
    assert (out / "quality_vs_bytes.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not Conversion.objects.exists()  # rolled back without --record


def test_benchmark_refuses_unknown_tiers(dataset):
    with pytest.raises(CommandError, match="unknown tiers"):
        call_command("benchmark", str(dataset), "--tiers", "default,9")
