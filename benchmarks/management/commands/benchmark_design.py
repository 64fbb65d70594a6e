"""manage.py benchmark_design DIR: what cut-outs and max_colors 2/4/8 cost in fidelity and bytes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from benchmarks import design, tiers


class Command(BaseCommand):
    help = (
        "Trace held-out logos (a folder with manifest.csv and true SVGs) once per tracer, apply "
        "shape_stacking=cutouts and max_colors 8, 4 and 2 to each SVG, and report fidelity at "
        "1024 px, SSIM, bytes and colours against the stacked SVG (rows.json, summary.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path)
        parser.add_argument("--limit", type=int, default=12, help="images (0 = all)")
        parser.add_argument("--split", choices=["train", "test", "all"], default="test")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--out", type=Path, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        records = tiers.select_records(
            options["folder"], split=options["split"], limit=options["limit"], seed=options["seed"]
        )
        if not records:
            raise CommandError(f"no images with true SVGs in {options['folder']}")
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        out = options["out"] or Path(settings.BASE_DIR) / "benchmarks" / "out" / f"design-{stamp}"
        rows = design.run(records, progress=lambda items: tqdm(items, unit="image", disable=None))
        self.stdout.write(design.write(rows, out))
        self.stdout.write(self.style.SUCCESS(f"wrote {out}"))
