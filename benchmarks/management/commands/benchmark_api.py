"""manage.py benchmark_api: what /api/convert adds over a bare vtracer call, and throughput."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http.request import validate_host
from tqdm import tqdm

from benchmarks import api, uploads
from benchmarks.http import ApiClient


class Command(BaseCommand):
    help = (
        "Median time of POST /api/convert over HTTP (upload lookup, routing, validation, "
        "worker round trip, clean-up, SSIM measurement, database) against a bare vtracer call "
        "with the same parameters, on logos resized to each size; plus sequential conversions "
        "per second. Serves the app on a local port in this process (throttles off, records "
        "deleted after) unless --url names a running server."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        default = Path(settings.BASE_DIR) / "tests" / "data"
        parser.add_argument("folder", type=Path, nargs="?", default=default)
        parser.add_argument("--sizes", default="256,512")
        parser.add_argument("--repeat", type=int, default=15)
        parser.add_argument(
            "--url", default="", help="a running server, e.g. http://127.0.0.1:8000 (kept)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        images = sorted(options["folder"].glob("*.png"))
        if not images:
            raise CommandError(f"no PNG files in {options['folder']}")
        sizes = [int(s) for s in options["sizes"].split(",")]
        local = not options["url"]
        server = api.live_server() if local else nullcontext(options["url"])
        with server as url:
            client = ApiClient(url, host=None if not local else _allowed_host())
            try:
                results = api.api_overhead(
                    client,
                    images,
                    sizes=sizes,
                    repeat=options["repeat"],
                    progress=lambda items: tqdm(items, unit="image", disable=None, leave=False),
                )
            except RuntimeError as exc:
                raise CommandError(str(exc)) from exc
        if local:
            uploads.forget(results.created)  # measure, don't keep
        self.stdout.write(api.api_markdown(results))


def _allowed_host() -> str:
    """Return a Host header this project accepts (127.0.0.1 unless ALLOWED_HOSTS says not)."""
    if validate_host("127.0.0.1", settings.ALLOWED_HOSTS):
        return "127.0.0.1"
    named = [h.lstrip(".") for h in settings.ALLOWED_HOSTS if h not in ("*", "")]
    return named[0] if named else "127.0.0.1"
