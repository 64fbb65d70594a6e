"""Batch fixtures: zips built in memory, batches run inline (no broker, no threads)."""

from __future__ import annotations

import io
import zipfile

import pytest

from tests.conftest import DATA, REAL_LOGOS, draw_logo


def make_zip(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """Return a zip holding `members` (name → bytes), names written exactly as given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buffer.getvalue()


def real_logos() -> dict[str, bytes]:
    """Return the four real logos of tests/data by file name."""
    return {f"{stem}.png": (DATA / f"{stem}.png").read_bytes() for stem in REAL_LOGOS.values()}


@pytest.fixture
def inline_batches(settings):
    """Run batch items inline in the request, with no broker."""
    settings.CELERY_BROKER_URL = ""
    settings.SVGAI_BATCH_LOCAL_CONCURRENCY = 0
    return settings


@pytest.fixture
def logos() -> dict[str, bytes]:
    """Return three small drawn logos of different sizes."""
    return {f"logo-{size}.png": draw_logo(size) for size in (48, 64, 96)}
