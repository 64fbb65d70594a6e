"""manage.py build_training_set DIR: measure candidate settings on a folder of logos."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from aimodels.ml.training import sample_candidates, sweep_image, write_rows
from vectorizer.dataset import VARIANTS, load_manifest, load_rgba, make_variant, split_of
from vectorizer.workers import WorkerError, WorkerPool

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
        folder: Path = options["folder"]
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder")
        variants = [v for v in options["variants"].split(",") if v]
        unknown = set(variants) - set(VARIANTS)
        if unknown:
            raise CommandError(f"unknown variants {sorted(unknown)}; use {VARIANTS}")
        records = [r for r in load_manifest(folder) if r.svg_path is not None]
        if options["split"] != "all":
            records = [r for r in records if split_of(r.id) == options["split"]]
        records = _stratified(records, options["limit"], options["seed"])
        if not records:
            raise CommandError(f"no images with a true SVG in {folder}")
        rng = np.random.default_rng(options["seed"])
        jobs = []
        for record in records:
            rgba = load_rgba(record.path)
            true_svg = record.svg_path.read_text()
            for variant in variants:
                image, _ = make_variant(rgba, variant)
                candidates = [c.as_dict() for c in sample_candidates(options["candidates"], rng)]
                meta = {
                    "id": record.id,
                    "variant": variant,
                    "split": split_of(record.id),
                    "category": record.category,
                }
                jobs.append((image, true_svg, candidates, meta))
        self.stdout.write(
            f"{len(records)} images × {len(variants)} variants × {options['candidates']} "
            f"candidates on {options['workers']} workers"
        )
        started = time.perf_counter()
        pool = WorkerPool(options["workers"])
        failures = 0
        try:
            rows: list[dict[str, Any]] = []
            for start in tqdm(range(0, len(jobs), options["workers"]), unit="batch", disable=None):
                batch = jobs[start : start + options["workers"]]
                for result in pool.map(sweep_image, batch, timeout=options["timeout"]):
                    if isinstance(result, WorkerError):
                        failures += 1
                        self.stderr.write(f"failed: {result}")
                    else:
                        rows.extend(result)
        finally:
            pool.close()
        count = write_rows(options["out"], rows)
        minutes = (time.perf_counter() - started) / 60
        self.stdout.write(
            self.style.SUCCESS(
                f"wrote {count} rows to {options['out']} in {minutes:.1f} min "
                f"({failures} image variants failed)"
            )
        )


def _stratified(records: list, limit: int, seed: int) -> list:
    """Return up to `limit` records in split proportion, spread evenly over categories."""
    if limit <= 0 or limit >= len(records):
        return records
    rng = np.random.default_rng(seed)
    out = []
    for split in ("train", "test"):
        pool = [r for r in records if split_of(r.id) == split]
        quota = round(limit * len(pool) / len(records))
        by_category: dict[str, list] = {}
        for record in pool:
            by_category.setdefault(record.category, []).append(record)
        order = []
        for items in by_category.values():
            order.append([items[i] for i in rng.permutation(len(items))])
        picked = []
        while len(picked) < quota and any(order):
            for items in order:
                if items and len(picked) < quota:
                    picked.append(items.pop())
        out.extend(picked)
    return out
