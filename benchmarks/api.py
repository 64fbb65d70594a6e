"""What /api/convert adds over a bare vtracer call: the API's overhead, and its throughput.

`api_overhead` drives the API over HTTP with the one benchmark client (benchmarks.http), either
against a running server or against `live_server`, this project's WSGI application served in a
thread; `benchmark_api` is the command around it.
"""

from __future__ import annotations

import io
import statistics
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from benchmarks.http import ApiClient
from benchmarks.progress import Progress, quiet
from vectorizer.tracing import DEFAULT_PARAMS, trace_bytes


@dataclass(frozen=True)
class ApiTiming:
    """Medians for one image size, in ms."""

    size: int
    bare_ms: float
    api_ms: float
    measure_ms: float


@dataclass
class ApiResults:
    """What benchmark_api measured."""

    images: int
    repeat: int
    sizes: list[ApiTiming]
    requests: int = 0
    seconds: float = 0.0
    created: list[tuple[str, str]] = field(default_factory=list)  # (file_id, conversion_id)


def resized_png(path: Path, long_side: int) -> bytes:
    """Return a logo file as PNG bytes with its long side scaled to `long_side`."""
    with Image.open(path) as opened:
        image = opened.convert("RGBA")
    scale = long_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    buffer = io.BytesIO()
    image.resize(size, Image.Resampling.LANCZOS).save(buffer, format="PNG")
    return buffer.getvalue()


@contextmanager
def live_server() -> Iterator[str]:
    """Serve this project's WSGI application on a free local port in a thread; yield its URL.

    The server is the application gunicorn runs (svgai_site.wsgi), models loaded at start, with
    the request throttles off: the benchmark measures the pipeline, not the rate limits.
    """
    from django.conf import settings
    from django.core.servers.basehttp import (
        ThreadedWSGIServer,
        WSGIRequestHandler,
        get_internal_wsgi_application,
    )

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    rates = settings.SVGAI_THROTTLE_RATES
    settings.SVGAI_THROTTLE_RATES = {}
    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler)
    server.set_app(get_internal_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, name="benchmark-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        settings.SVGAI_THROTTLE_RATES = rates


def api_overhead(
    client: ApiClient,
    images: Sequence[Path],
    *,
    sizes: Sequence[int] = (256, 512),
    repeat: int = 15,
    progress: Progress[Path] = quiet,
) -> ApiResults:
    """Return median times of POST /api/convert against a bare vtracer call, per image size.

    The same PNG, the same vtracer parameters (the endpoint's defaults); the API's time is the
    whole HTTP round trip: upload lookup, routing, validation, worker, clean-up, measuring.
    """
    params = DEFAULT_PARAMS.as_dict()
    results = ApiResults(images=len(images), repeat=repeat, sizes=[])
    for size in sizes:
        bare, api, measure = [], [], []
        for path in progress(images):
            png = resized_png(path, size)
            for _ in range(repeat):
                started = time.perf_counter()
                trace_bytes(png, params, img_format="png")
                bare.append(time.perf_counter() - started)
            file_id = client.upload(png, path.name)
            answer: dict[str, object] = {}
            for _ in range(repeat):
                started = time.perf_counter()
                answer = client.convert(file_id)
                elapsed = time.perf_counter() - started
                api.append(elapsed)
                results.requests += 1
                results.seconds += elapsed
            conversion_id = str(answer["conversion_id"])
            results.created.append((file_id, conversion_id))
            detail = client.request("GET", f"/api/conversions/{conversion_id}/")
            measure.append(float(str(detail["measure_ms"])) / 1000)
        results.sizes.append(
            ApiTiming(
                size=size,
                bare_ms=statistics.median(bare) * 1000,
                api_ms=statistics.median(api) * 1000,
                measure_ms=statistics.median(measure) * 1000,
            )
        )
    return results


def api_markdown(results: ApiResults) -> str:
    """Return the API benchmark as a Markdown table and a throughput line."""
    lines = [
        f"{results.images} logos, {results.repeat} runs each; medians in ms",
        "",
        "| size | bare vtracer | /api/convert | overhead | of which measuring SSIM |",
        "|---|---|---|---|---|",
    ]
    for t in results.sizes:
        lines.append(
            f"| {t.size} px | {t.bare_ms:.1f} | {t.api_ms:.1f} | {t.api_ms - t.bare_ms:.1f} | "
            f"{t.measure_ms:.1f} |"
        )
    if results.seconds > 0:
        lines += [
            "",
            f"sequential /api/convert: {results.requests / results.seconds:.1f} conversions/s "
            f"over {results.requests} requests",
        ]
    return "\n".join(lines) + "\n"
