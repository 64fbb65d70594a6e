"""manage.py benchmark_budget: how often AI conversions keep their time budget under load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from benchmarks import budgets
from conversions.management.options import add_log_arguments, conversion_log_off_terminal


class Command(BaseCommand):
    help = (
        "Convert held-out logos with time budgets (0.5, 1, 2 s) on tiers 1-3 and auto while "
        "two other clients keep converting other logos; print how often each budget was kept "
        "and where the time of each missed one went."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path)
        parser.add_argument("--limit", type=int, default=10)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--clients",
            type=int,
            default=budgets.CLIENTS,
            help="other clients converting meanwhile (0: a quiet machine)",
        )
        parser.add_argument("--record", action="store_true", help="keep the conversions")
        add_log_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        with conversion_log_off_terminal(options["verbosity"], options["log_file"]):
            rows = budgets.run(
                options["folder"],
                limit=options["limit"],
                seed=options["seed"],
                clients=options["clients"],
                keep=options["record"],
                progress=lambda jobs: tqdm(jobs, unit="conversion", disable=None),
            )
        self.stdout.write(budgets.markdown(rows))
