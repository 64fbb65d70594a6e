"""manage.py train_models: train the logo-type classifier and the quality predictor."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from aimodels import registry
from aimodels.ml.classifier import evaluate, train_logo_type
from aimodels.ml.predictor import evaluate_predictor, train_quality_predictor
from aimodels.ml.training import read_rows, to_arrays
from aimodels.signals import sync_model_versions
from vectorizer.dataset import VARIANTS, load_manifest, load_rgba, make_variant, split_of
from vectorizer.features import FEATURE_NAMES, extract_features
from vectorizer.images import decode_image

DEFAULT_SET = Path(settings.BASE_DIR) / "aimodels" / "weights" / "training_set.jsonl.gz"


class Command(BaseCommand):
    help = (
        "Train the logo-type classifier (on every image variant of the train split) and the "
        "quality predictor (on a build_training_set file), report held-out metrics, write "
        "weights and metrics to the models folder and register them as new active versions."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path, help="logo folder with manifest.csv")
        parser.add_argument("--training-set", type=Path, default=DEFAULT_SET)
        parser.add_argument("--out", type=Path, default=None, help="models folder")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--epochs", type=int, default=400)
        parser.add_argument("--only", choices=["logo_type", "quality_predictor"], default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"] or Path(settings.SVGAI_MODELS_DIR)
        torch.set_num_threads(2)
        trained: dict[str, tuple[Any, dict[str, Any], dict[str, Any]]] = {}
        if options["only"] in (None, "logo_type"):
            trained["logo_type"] = self._train_classifier(options["folder"], options["seed"])
        if options["only"] in (None, "quality_predictor"):
            trained["quality_predictor"] = self._train_predictor(
                options["training_set"], options["seed"], options["epochs"]
            )
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        active = registry.read_active(out)
        for name, (model, metrics, trained_on) in trained.items():
            folder = out / name
            folder.mkdir(parents=True, exist_ok=True)
            version = f"v{stamp}"
            model.metrics = metrics
            model.save(folder / f"{version}.pt")
            card = {"metrics": metrics, "trained_on": trained_on, "created": stamp}
            (folder / f"{version}.json").write_text(json.dumps(card, indent=2) + "\n")
            active[name] = version
            self.stdout.write(self.style.SUCCESS(f"{name} {version}: {json.dumps(metrics)}"))
        (out / registry.ACTIVE_FILE).write_text(json.dumps(active, indent=2, sort_keys=True) + "\n")
        registry.load_all(out)
        if Path(settings.SVGAI_MODELS_DIR) == out:
            sync_model_versions()

    def _train_classifier(self, folder: Path, seed: int) -> tuple[Any, dict, dict]:
        records = load_manifest(folder)
        if not records:
            raise CommandError(f"no manifest.csv images in {folder}")
        data: dict[str, dict[str, list]] = {
            "train": {"x": [], "y": [], "v": []},
            "test": {"x": [], "y": [], "v": []},
        }
        started = time.perf_counter()
        for record in tqdm(records, desc="features", unit="image", disable=None):
            if not record.category:
                continue
            rgba = load_rgba(record.path)
            for variant in VARIANTS:
                image, _ = make_variant(rgba, variant)
                vector = extract_features(decode_image(image).rgba).as_vector()
                split = data[split_of(record.id)]
                split["x"].append(vector)
                split["y"].append(record.category)
                split["v"].append(variant)
        train, test = data["train"], data["test"]
        model = train_logo_type(np.array(train["x"]), train["y"], seed=seed)
        metrics = evaluate(model, np.array(test["x"]), test["y"])
        metrics["per_variant"] = {
            variant: evaluate(
                model,
                np.array([x for x, v in zip(test["x"], test["v"], strict=True) if v == variant]),
                [y for y, v in zip(test["y"], test["v"], strict=True) if v == variant],
            )["accuracy"]
            for variant in VARIANTS
        }
        trained_on = {
            "dataset": str(folder),
            "split": "sha256(id)[0] % 5 != 0",
            "train_rows": len(train["y"]),
            "test_rows": len(test["y"]),
            "variants": list(VARIANTS),
            "seconds": round(time.perf_counter() - started, 1),
        }
        return model, metrics, trained_on

    def _train_predictor(self, path: Path, seed: int, epochs: int) -> tuple[Any, dict, dict]:
        if not path.exists():
            raise CommandError(f"{path} does not exist; run manage.py build_training_set first")
        started = time.perf_counter()
        rows = list(read_rows(path))
        train_rows = [r for r in rows if r["split"] == "train"]
        test_rows = [r for r in rows if r["split"] == "test"]
        if not train_rows or not test_rows:
            raise CommandError(f"{path} needs rows from both splits")
        x, y, _ = to_arrays(train_rows)
        names = (
            *FEATURE_NAMES,
            *(f"candidate_{i}" for i in range(x.shape[1] - len(FEATURE_NAMES))),
        )
        model = train_quality_predictor(x, y, seed=seed, epochs=epochs, feature_names=names)
        x_test, y_test, keys = to_arrays(test_rows)
        metrics = evaluate_predictor(model, x_test, y_test)
        metrics["train"] = evaluate_predictor(model, x, y)
        metrics["test_images"] = len(set(keys))
        metrics.update(_ranking_quality(model, test_rows))
        trained_on = {
            "training_set": path.name,
            "train_rows": len(train_rows),
            "test_rows": len(test_rows),
            "seconds": round(time.perf_counter() - started, 1),
        }
        return model, metrics, trained_on


def _ranking_quality(model: Any, rows: list[dict[str, Any]]) -> dict[str, float]:
    """Return how often the predicted-best candidate is the truly best (or within 0.005)."""
    by_image: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_image.setdefault(f"{row['id']}/{row['variant']}", []).append(row)
    hits = near = total = 0
    regret = []
    for group in by_image.values():
        if len(group) < 2:
            continue
        x, _, _ = to_arrays(group)
        predicted = model.predict_rows(x)["fidelity"]
        truth = np.array([r["fidelity"] for r in group])
        choice = int(predicted.argmax())
        total += 1
        hits += int(choice == int(truth.argmax()))
        near += int(truth.max() - truth[choice] <= 0.005)
        regret.append(float(truth.max() - truth[choice]))
    if not total:
        return {}
    return {
        "top1_hit_rate": hits / total,
        "within_0.005_rate": near / total,
        "mean_fidelity_regret": float(np.mean(regret)),
    }
