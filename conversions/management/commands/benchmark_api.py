"""manage.py benchmark_api: what /api/convert adds over a bare vtracer call, and throughput."""

from __future__ import annotations

import io
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import vtracer
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.test import Client
from django.test.utils import override_settings
from PIL import Image

from conversions import services
from vectorizer.tracing import DEFAULT_PARAMS


def _resized_png(path: Path, long_side: int) -> bytes:
    with Image.open(path) as image:
        image = image.convert("RGBA")
        scale = long_side / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        buffer = io.BytesIO()
        image.resize(size, Image.Resampling.LANCZOS).save(buffer, format="PNG")
        return buffer.getvalue()


class Command(BaseCommand):
    help = (
        "Median time of POST /api/convert (in-process client: routing, validation, worker "
        "round trip, clean-up, SSIM measurement, database) against a bare vtracer call with the "
        "same parameters, on logos resized to each size; plus sequential conversions per second."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        default = Path(settings.BASE_DIR) / "tests" / "data"
        parser.add_argument("folder", type=Path, nargs="?", default=default)
        parser.add_argument("--sizes", default="256,512")
        parser.add_argument("--repeat", type=int, default=15)

    def handle(self, *args: Any, **options: Any) -> None:
        images = sorted(options["folder"].glob("*.png"))
        if not images:
            raise CommandError(f"no PNG files in {options['folder']}")
        sizes = [int(s) for s in options["sizes"].split(",")]
        params = DEFAULT_PARAMS.as_dict()
        services.worker_pool().warm_up()
        lines = [
            f"{len(images)} logos, {options['repeat']} runs each; medians in ms",
            "",
            "| size | bare vtracer | /api/convert | overhead | of which measuring SSIM |",
            "|---|---|---|---|---|",
        ]
        total_requests, total_seconds = 0, 0.0
        with (
            tempfile.TemporaryDirectory() as media,
            override_settings(MEDIA_ROOT=media, ALLOWED_HOSTS=["testserver"]),
            transaction.atomic(),
        ):
            client = Client()
            for size in sizes:
                bare, api, measure = [], [], []
                for path in images:
                    png = _resized_png(path, size)
                    for _ in range(options["repeat"]):
                        started = time.perf_counter()
                        vtracer.convert_raw_image_to_svg(png, img_format="png", **params)
                        bare.append(time.perf_counter() - started)
                    upload = client.post(
                        "/api/upload", {"file": io.BytesIO(png)}, format="multipart"
                    )
                    file_id = upload.json()["file_id"]
                    for _ in range(options["repeat"]):
                        started = time.perf_counter()
                        response = client.post(
                            "/api/convert",
                            {"file_id": file_id},
                            content_type="application/json",
                        )
                        elapsed = time.perf_counter() - started
                        if response.status_code != 200:
                            raise CommandError(f"/api/convert failed: {response.content!r}")
                        api.append(elapsed)
                        total_requests += 1
                        total_seconds += elapsed
                    conversion_id = response.json()["conversion_id"]
                    detail = client.get(f"/api/conversions/{conversion_id}/").json()
                    measure.append(detail["measure_ms"] / 1000)
                b, a = statistics.median(bare) * 1000, statistics.median(api) * 1000
                m = statistics.median(measure) * 1000
                lines.append(f"| {size} px | {b:.1f} | {a:.1f} | {a - b:.1f} | {m:.1f} |")
            transaction.set_rollback(True)  # measure, don't keep: nothing is recorded
        lines += [
            "",
            f"sequential /api/convert: {total_requests / total_seconds:.1f} conversions/s "
            f"over {total_requests} requests",
        ]
        self.stdout.write("\n".join(lines))
