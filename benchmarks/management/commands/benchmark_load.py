"""manage.py benchmark_load: concurrent mixed requests against a running server on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from benchmarks import load
from benchmarks.http import ApiClient


class Command(BaseCommand):
    help = (
        "Send mixed requests (uploads, legacy and AI conversions of tiers 1, 2 and auto, "
        "listings, records, health) from 10, 30 and 50 simultaneous clients to a running svgai "
        "on this machine (loopback only); report p50/p95 latency, status codes, and whether the "
        "conversion rows stored match the successful responses. Run it with the server's "
        "DATABASE_URL, and the server's throttles off (SVGAI_THROTTLE_*=off)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        data = Path(settings.BASE_DIR) / "tests" / "data"
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--images", type=Path, nargs="*", default=sorted(data.glob("*.png")))
        parser.add_argument("--levels", default="10,30,50", help="concurrent clients per round")
        parser.add_argument(
            "--rounds", type=int, default=1, help="requests per client at each level"
        )
        parser.add_argument("--timeout", type=float, default=120.0)

    def handle(self, *args: Any, **options: Any) -> None:
        base = options["url"].rstrip("/")
        if not load.is_loopback(base):
            raise CommandError("load tests only target this machine (127.0.0.1, localhost, ::1)")
        images = [p for p in options["images"] if p.exists()]
        if not images:
            raise CommandError("--images: no such files")
        try:
            levels = [int(n) for n in options["levels"].split(",")]
        except ValueError as exc:
            raise CommandError("--levels: numbers separated by commas, e.g. 10,30,50") from exc
        if not all(1 <= n <= 64 for n in levels) or not 1 <= options["rounds"] <= 5:
            raise CommandError("each level must be 1–64 clients and --rounds 1–5")
        # No cookies: every request is a new anonymous caller, as most scripts are.
        client = ApiClient(base, timeout=options["timeout"], cookies=False)
        try:
            levels_run = load.run(load.Mix(client, images), levels, rounds=options["rounds"])
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        for level in levels_run:
            for outcome in level.failures:
                self.stdout.write(f"  {outcome.kind} {outcome.status}: {outcome.error}")
        self.stdout.write(load.TABLE_HEAD)
        for level in levels_run:
            self.stdout.write(level.row())
