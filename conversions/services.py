"""The conversion pipeline as Django sees it: store uploads, run conversions, record results.

Views, management commands and (later) Celery tasks call these functions; they call the pure
engine in worker processes and store every outcome, failures included (history is benchmark
data).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile

from conversions.engine import pipeline
from conversions.engine.images import DecodedImage, decode_image
from conversions.engine.tracing import TraceParams
from conversions.models import Conversion, Upload
from conversions.workers import WorkerError, WorkerPool, shared_pool


def worker_pool() -> WorkerPool:
    """Return this process's conversion worker pool."""
    return shared_pool(settings.SVGAI_WORKERS, settings.SVGAI_WORKER_MEMORY_MB)


def store_upload(*, data: bytes, filename: str) -> tuple[Upload, DecodedImage]:
    """Validate an uploaded image and store it; raise ImageError for anything unusable."""
    image = decode_image(data, max_pixels=settings.SVGAI_MAX_PIXELS)
    digest = hashlib.sha256(data).hexdigest()
    upload = Upload(
        original_name=(filename or "upload")[-255:],
        sha256=digest,
        size_bytes=len(data),
        width=image.width,
        height=image.height,
        format=image.format,
        has_alpha=image.has_alpha,
    )
    twin = Upload.objects.filter(sha256=digest).only("file").first()
    if twin is not None and twin.file and twin.file.storage.exists(twin.file.name):
        upload.file.name = twin.file.name  # same bytes: share the stored file
    else:
        upload.file.save("upload", ContentFile(data), save=False)
    upload.save()
    return upload, image


def read_upload(upload: Upload) -> bytes:
    """Return the stored bytes of an upload."""
    with upload.file.open("rb") as handle:
        return handle.read()


def convert_image(*, upload: Upload, params: TraceParams) -> Conversion:
    """Convert an upload with explicit vtracer parameters and record the result."""
    started = time.perf_counter()
    conversion = Conversion(
        upload=upload,
        kind=Conversion.Kind.LEGACY,
        parameters=params.as_dict(),
    )
    try:
        result = worker_pool().run(
            pipeline.convert_bytes,
            read_upload(upload),
            params.as_dict(),
            max_pixels=settings.SVGAI_MAX_PIXELS,
            timeout=settings.SVGAI_CONVERT_TIMEOUT,
        )
    except WorkerError as exc:
        return _save_failure(conversion, exc, started)
    return _save_success(conversion, result, started)


def _save_success(conversion: Conversion, result: dict[str, Any], started: float) -> Conversion:
    timings = result.get("timings", {})
    conversion.status = Conversion.Status.SUCCEEDED
    conversion.svg = result["svg"]
    conversion.svg_bytes = result["svg_bytes"]
    conversion.path_count = result["path_count"]
    conversion.ssim = result["ssim"]
    conversion.decode_ms = timings.get("decode")
    conversion.trace_ms = timings.get("trace")
    conversion.measure_ms = timings.get("measure")
    conversion.timings = {**conversion.timings, **timings}
    conversion.total_ms = (time.perf_counter() - started) * 1000
    conversion.save()
    return conversion


def _save_failure(conversion: Conversion, exc: Exception, started: float) -> Conversion:
    conversion.status = Conversion.Status.FAILED
    conversion.error = f"Conversion failed: {exc}"
    conversion.total_ms = (time.perf_counter() - started) * 1000
    conversion.save()
    return conversion
