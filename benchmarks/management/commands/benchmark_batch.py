"""`manage.py benchmark_batch [DIR]`: batch throughput on the local pool and on Celery workers.

Needs CELERY_BROKER_URL (Redis) and DATABASE_URL (PostgreSQL): the command starts and stops
its own `celery worker` processes (one conversion process each). The work is in
benchmarks.batches; this prints its table for the README.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from tqdm import tqdm

from benchmarks import batches as bench
from conversions import batches
from conversions.models import BatchItem

DEFAULT_DATASET = settings.BASE_DIR.parent / "shared" / "datasets" / "logos-dev"


class Command(BaseCommand):
    help = "Logos per minute for a batch on the local pool and on 1, 2 ... Celery workers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_DATASET)
        parser.add_argument("--limit", type=int, default=60, help="logos per run (default 60)")
        parser.add_argument("--tier", default="1", choices=["auto", "1", "2", "3"])
        parser.add_argument(
            "--processes", default="1,2", help="worker process counts to run (default 1,2)"
        )
        parser.add_argument("--big", type=int, default=0, help="then one batch of N logos")
        parser.add_argument("--no-local", action="store_true", help="skip the local pool run")
        parser.add_argument("--json", type=Path, help="also write the figures here")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.CELERY_BROKER_URL:
            raise CommandError("Set CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/14.")
        if connection.vendor != "postgresql":
            raise CommandError("Worker processes need PostgreSQL: set DATABASE_URL.")
        folder: Path = options["folder"]
        paths = batches.folder_images(folder)
        if not paths:
            raise CommandError(f"{folder} holds no images.")
        tier = options["tier"] if options["tier"] == "auto" else int(options["tier"])
        batch_options = batches.BatchOptions(tier=tier)
        sample = bench.spread(paths, options["limit"])
        processes = [int(n) for n in options["processes"].split(",") if n.strip()]
        # This process's local run: one thread, one conversion process, one torch thread,
        # as in each worker process.
        settings.SVGAI_WORKERS = 1
        import torch

        torch.set_num_threads(1)
        logs = bench.log_folder()
        self.stdout.write(f"{len(sample)} logos from {folder}, tier {tier}; worker logs: {logs}")
        runs = []
        if not options["no_local"]:
            runs.append(self._run(bench.local_run, sample, folder, batch_options))
        for count in processes:
            runs.append(
                self._run(
                    bench.celery_run,
                    sample,
                    folder,
                    batch_options,
                    processes=count,
                    log_dir=logs,
                )
            )
        if options["big"]:
            big = bench.spread(paths, options["big"])
            count = max(processes)
            runs.append(
                self._run(
                    bench.celery_run,
                    big,
                    folder,
                    batch_options,
                    processes=count,
                    log_dir=logs,
                    label=f"Celery, {count} worker processes, {len(big)} logos",
                )
            )
            last = runs[-1]
            self.stdout.write(
                f"{len(big)}-logo batch {last.batch_id}: {last.done} done, {last.failed} failed, "
                f"{last.stuck} not finished, {last.records} records, {last.duplicates} duplicates."
            )
        self.stdout.write(bench.table(runs))
        for line in bench.findings(runs):
            self.stdout.write(line)
        if options["json"]:
            options["json"].write_text(json.dumps([bench.as_dict(r) for r in runs], indent=2))

    def _run(self, fn: Any, sample: list[Path], folder: Path, *args: Any, **kwargs: Any) -> Any:
        bar = tqdm(total=len(sample), desc=kwargs.get("label") or fn.__name__, file=sys.stderr)

        def progress(by_status: dict[str, int]) -> None:
            bar.update(sum(by_status[s] for s in BatchItem.FINISHED) - bar.n)

        try:
            return fn(sample, folder, *args, on_progress=progress, **kwargs)
        finally:
            bar.close()
