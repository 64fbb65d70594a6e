"""manage.py benchmark_budget: how often AI conversions keep their time budget under load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from benchmarks import budgets


class Command(BaseCommand):
    help = (
        "Convert held-out logos with time budgets (0.5, 1, 2 s) on every tier while a "
        "background thread keeps converting other logos; print how often each budget was kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path)
        parser.add_argument("--limit", type=int, default=10)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--quiet-machine", action="store_true", help="no background load")
        parser.add_argument("--record", action="store_true", help="keep the conversions")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = budgets.run(
            options["folder"],
            limit=options["limit"],
            seed=options["seed"],
            load=not options["quiet_machine"],
            keep=options["record"],
            progress=lambda jobs: tqdm(jobs, unit="conversion", disable=None),
        )
        self.stdout.write(budgets.markdown(rows))
