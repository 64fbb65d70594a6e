"""manage.py build_training_set DIR: measure candidate settings on a folder of logos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from aimodels.ml.training import TrainingError, build_training_set
from vectorizer.dataset import VARIANTS

DEFAULT_OUT = Path(settings.BASE_DIR) / "aimodels" / "weights" / "training_set.jsonl.gz"


class Command(BaseCommand):
    help = (
        "Sweep candidate settings over a logo folder with a manifest and record, per image "
        "variant and candidate: measured SSIM, fidelity against the true SVG, bytes, paths, "
        "time. Seeded and resumable by re-running; parallel on worker processes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path)
        parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
        parser.add_argument(
            "--limit", type=int, default=0, help="images in all, kept in split proportion (0 = all)"
        )
        parser.add_argument("--split", choices=["train", "test", "all"], default="all")
        parser.add_argument("--candidates", type=int, default=8, help="candidates per image")
        parser.add_argument("--variants", default=",".join(VARIANTS))
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--workers", type=int, default=settings.SVGAI_WORKERS)
        parser.add_argument("--timeout", type=float, default=300.0)

    def handle(self, *args: Any, **options: Any) -> None:
        variants = [v for v in options["variants"].split(",") if v]
        self.stdout.write(
            f"{len(variants)} variants × {options['candidates']} candidates per image on "
            f"{options['workers']} workers"
        )
        try:
            report = build_training_set(
                options["folder"],
                options["out"],
                limit=options["limit"],
                split=options["split"],
                candidates=options["candidates"],
                variants=variants,
                seed=options["seed"],
                workers=options["workers"],
                timeout=options["timeout"],
                progress=lambda batches: tqdm(batches, unit="batch", disable=None),
            )
        except TrainingError as exc:
            raise CommandError(str(exc)) from exc
        for failure in report.failures:
            self.stderr.write(f"failed: {failure}")
        self.stdout.write(
            self.style.SUCCESS(
                f"wrote {report.rows} rows ({report.images} images) to {options['out']} in "
                f"{report.seconds / 60:.1f} min ({len(report.failures)} image variants failed)"
            )
        )
