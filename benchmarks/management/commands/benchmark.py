"""manage.py benchmark DIR: fidelity, bytes and time per tier and per fixed reference."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from benchmarks import recipes, tier_report, tiers
from benchmarks.methods import method_names
from vectorizer.dataset import VARIANTS
from vectorizer.routing import DEFAULT_TARGET_QUALITY

DEFAULT_SET = Path(settings.BASE_DIR) / "aimodels" / "weights" / "training_set.jsonl.gz"


class Command(BaseCommand):
    help = (
        "Convert a folder of logos (with manifest.csv and true SVGs) with vtracer's defaults, "
        "each tier, the best single fixed recipe (chosen on the training split of "
        "--training-set) and each tracer alone; report fidelity at 1024 px, SSIM, bytes (also "
        "÷ the true SVG's) and time as JSON, a Markdown table and a PNG chart. Uses the test "
        "split unless --split says not."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path)
        parser.add_argument(
            "--tiers",
            default=",".join(method_names()),
            help=f"methods to run, of {','.join(method_names())}",
        )
        parser.add_argument("--limit", type=int, default=0, help="images (0 = all)")
        parser.add_argument("--split", choices=["train", "test", "all"], default="test")
        parser.add_argument("--variants", default=",".join(VARIANTS))
        parser.add_argument("--target-quality", type=float, default=DEFAULT_TARGET_QUALITY)
        parser.add_argument("--training-set", type=Path, default=DEFAULT_SET)
        parser.add_argument(
            "--recipe-min-images",
            type=int,
            default=recipes.RECIPE_MIN_IMAGES,
            help="training image variants a recipe must have been measured on",
        )
        parser.add_argument("--out", type=Path, default=None)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--record", action="store_true", help="keep the conversions in the database"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        methods = tuple(t for t in options["tiers"].split(",") if t)
        unknown = set(methods) - set(method_names())
        if unknown:
            raise CommandError(f"unknown tiers {sorted(unknown)}; use {method_names()}")
        records = tiers.select_records(
            options["folder"], split=options["split"], limit=options["limit"], seed=options["seed"]
        )
        if not records:
            raise CommandError(f"no images with true SVGs in {options['folder']}")
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        out = options["out"] or Path(settings.BASE_DIR) / "benchmarks" / "out" / stamp
        results = tiers.run(
            options["folder"],
            records,
            tiers.Options(
                methods=methods,
                variants=tuple(v for v in options["variants"].split(",") if v),
                target_quality=options["target_quality"],
                record=options["record"],
                training_set=options["training_set"],
                recipe_min_images=options["recipe_min_images"],
            ),
            progress=lambda items: tqdm(items, unit="image", disable=None),
        )
        self.stdout.write(tier_report.write(results, out))
        self.stdout.write(self.style.SUCCESS(f"wrote {out}"))
