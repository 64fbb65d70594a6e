"""manage.py train_models: train the logo-type classifier and the quality predictor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from aimodels import activation, registry
from aimodels.ml.training import TrainedModel, TrainingError, fit_logo_type, fit_quality_predictor
from vectorizer.protocols import LogoTypeModel

DEFAULT_SET = Path(settings.BASE_DIR) / "aimodels" / "weights" / "training_set.jsonl.gz"


class Command(BaseCommand):
    help = (
        "Train the logo-type classifier (on every image variant of the train split) and the "
        "quality predictor (on a build_training_set file), write weights and metrics to the "
        "models folder as new versions, and activate each one unless it is worse than the "
        "active version on the same held-out rows (--activate activates it anyway)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path, help="logo folder with manifest.csv")
        parser.add_argument("--training-set", type=Path, default=DEFAULT_SET)
        parser.add_argument("--out", type=Path, default=None, help="models folder")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--epochs", type=int, default=120, help="quality predictor epochs")
        parser.add_argument("--only", choices=["logo_type", "quality_predictor"], default=None)
        parser.add_argument(
            "--activate",
            action="store_true",
            help="activate the new versions even when worse than the active ones",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        import torch

        torch.set_num_threads(2)
        out: Path = options["out"] or Path(settings.SVGAI_MODELS_DIR)
        trained: list[TrainedModel] = []
        try:
            if options["only"] in (None, "logo_type"):
                trained.append(
                    fit_logo_type(
                        options["folder"],
                        seed=options["seed"],
                        progress=lambda items: tqdm(
                            items, desc="features", unit="image", disable=None
                        ),
                    )
                )
            if options["only"] in (None, "quality_predictor"):
                # The predictor sees the logo type's odds: the classifier trained just now,
                # else the active one (which the served predictor will be paired with).
                classifier = next((t.model for t in trained if t.name == "logo_type"), None)
                if classifier is None:
                    classifier = registry.load_version(out, "logo_type").model
                if not isinstance(classifier, LogoTypeModel):  # none trained, none on disk
                    classifier = None
                trained.append(
                    fit_quality_predictor(
                        options["training_set"],
                        seed=options["seed"],
                        epochs=options["epochs"],
                        logo_type=classifier,
                    )
                )
        except TrainingError as exc:
            raise CommandError(str(exc)) from exc
        for item, done in zip(
            trained, activation.release(out, trained, force=options["activate"]), strict=True
        ):
            self.stdout.write(f"{done.name} {done.version}: {json.dumps(item.metrics)}")
            if done.activated:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"  active now (was {done.previous or 'none'}): {done.reason}"
                    )
                )
            else:
                self.stdout.write(
                    self.style.WARNING(
                        f"  written, not activated; {done.previous} stays active: {done.reason}. "
                        "Pass --activate to activate it anyway."
                    )
                )
