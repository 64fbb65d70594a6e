"""Shared fixtures: an API client, images drawn with Pillow, media in a temporary folder."""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.fakes import FakeClassifier, FakePredictor

DATA = Path(__file__).parent / "data"
SHARED_DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "logos-dev"
# One real logo per category, rendered from the true SVG beside it (see data/CREDITS.md).
REAL_LOGOS = {
    "simple": "si-mdx",
    "text": "dev-netlify-original-wordmark",
    "gradient": "lh-fastgpt-color",
    "complex": "tw-1f6f3",
}


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ALLOWED_HOSTS = ["testserver", "localhost"]
    # Tests make hundreds of API calls a minute; tests/operations checks the throttles.
    settings.SVGAI_THROTTLE_RATES = {}
    # The manifest storage needs `collectstatic`; tests render pages without running it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


def draw_logo(size: int = 128, *, transparent: bool = True, fmt: str = "PNG") -> bytes:
    """Return a two-colour logo (a red disc and a blue bar) encoded as `fmt`."""
    mode = "RGBA" if transparent and fmt != "JPEG" else "RGB"
    background = (0, 0, 0, 0) if mode == "RGBA" else (255, 255, 255)
    image = Image.new(mode, (size, size), background)
    draw = ImageDraw.Draw(image)
    draw.ellipse((size * 0.1, size * 0.1, size * 0.6, size * 0.6), fill=(220, 30, 40))
    draw.rectangle((size * 0.5, size * 0.65, size * 0.9, size * 0.85), fill=(20, 60, 200))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    """Return a Pillow image encoded as `fmt`."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def huge_header_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """Return a tiny PNG whose valid IHDR claims width×height RGB pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def _one_by_one() -> bytes:
    return encode(Image.new("RGBA", (1, 1), (10, 200, 30, 255)), "PNG")


def _transparent() -> bytes:
    return encode(Image.new("RGBA", (32, 32), (0, 0, 0, 0)), "PNG")


def _truncated() -> bytes:
    noise = Image.effect_noise((64, 64), 80).convert("RGB")
    data = encode(noise, "PNG")
    return data[: len(data) // 2]


def _text_file() -> bytes:
    return b"This is a shopping list, not a logo.\nmilk\neggs\n"


def _cmyk_jpeg() -> bytes:
    # Pure cyan in CMYK: (255, 0, 0, 0) is (0, 255, 255) in RGB.
    return encode(Image.new("CMYK", (16, 16), (255, 0, 0, 0)), "JPEG", quality=95)


def _grey16() -> bytes:
    wide = np.zeros((8, 16), dtype=np.uint16)
    wide[:, 8:] = 65535  # left half black, right half white
    wide[0, 0] = 32768  # one mid-grey pixel
    return encode(Image.fromarray(wide), "PNG")


def _palette_transparent() -> bytes:
    image = Image.new("P", (8, 8), 0)
    image.putpalette([255, 255, 255, 200, 0, 0] + [0, 0, 0] * 254)
    image.paste(1, (2, 2, 6, 6))  # a red square on index 0, which is transparent
    return encode(image, "PNG", transparency=0)


def _animated_gif() -> bytes:
    first = Image.new("RGB", (12, 10), (255, 0, 0))
    second = Image.new("RGB", (12, 10), (0, 0, 255))
    return encode(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)


def _exif_rotated_jpeg() -> bytes:
    # Stored 40 wide and 20 high; orientation 6 means "rotate 90° clockwise to display".
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(Image.new("RGB", (40, 20), (200, 10, 10)), "JPEG", exif=exif.tobytes())


def _webp() -> bytes:
    return encode(Image.new("RGBA", (10, 12), (0, 255, 0, 128)), "WEBP", lossless=True)


def _bmp() -> bytes:
    return encode(Image.new("RGB", (10, 12), (0, 0, 255)), "BMP")


EDGE_IMAGES: dict[str, Callable[[], bytes]] = {
    "1x1.png": _one_by_one,
    "transparent.png": _transparent,
    "truncated.png": _truncated,
    "text.png": _text_file,
    "cmyk.jpg": _cmyk_jpeg,
    "grey16.png": _grey16,
    "palette.png": _palette_transparent,
    "animated.gif": _animated_gif,
    "huge-header.png": huge_header_png,
    "rotated.jpg": _exif_rotated_jpeg,
    "image.webp": _webp,
    "image.bmp": _bmp,
    "image.tiff": lambda: encode(Image.new("RGB", (4, 4)), "TIFF"),
    "5000x5000.png": lambda: huge_header_png(5000, 5000),
}


@pytest.fixture
def edge_image() -> Callable[[str], bytes]:
    """Return a function drawing one of EDGE_IMAGES by name ("cmyk.jpg", "truncated.png", ...)."""
    return lambda name: EDGE_IMAGES[name]()


@pytest.fixture
def logo_png() -> bytes:
    return draw_logo()


@pytest.fixture
def png_upload(logo_png):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("logo.png", logo_png, content_type="image/png")


@pytest.fixture
def upload_file_id(api_client, png_upload) -> str:
    response = api_client.post("/api/upload", {"file": png_upload}, format="multipart")
    assert response.status_code == 200, response.content
    return response.json()["file_id"]


@pytest.fixture
def upload_real_logo(api_client) -> Callable[[str], str]:
    """Return a function uploading the real logo of a kind ("complex", ...): its file_id."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    def upload(kind: str) -> str:
        name = f"{REAL_LOGOS[kind]}.png"
        file = SimpleUploadedFile(name, (DATA / name).read_bytes(), content_type="image/png")
        response = api_client.post("/api/upload", {"file": file}, format="multipart")
        assert response.status_code == 200, response.content
        return response.json()["file_id"]

    return upload


def drawn_colours(svg: str) -> set[str]:
    """Return every colour the markup paints with: fills and gradient stops, lower-case."""
    return {c.lower() for c in re.findall(r'(?:fill|stop-color)="(#[0-9a-fA-F]{6})"', svg)}


@pytest.fixture(params=sorted(REAL_LOGOS))
def real_logo(request) -> tuple[bytes, str]:
    """Return (PNG bytes, true SVG markup) of one real logo per category."""
    stem = REAL_LOGOS[request.param]
    return (DATA / f"{stem}.png").read_bytes(), (DATA / f"{stem}.svg").read_text()


@pytest.fixture
def shared_dataset() -> Path:
    """Return the shared logos-dev folder, skipping the test when this checkout has none."""
    if not (SHARED_DATASET / "manifest.csv").exists():
        pytest.skip(f"{SHARED_DATASET} is absent")
    return SHARED_DATASET


@pytest.fixture
def worker_pool():
    """Return the process's shared conversion pool (starting interpreters is slow: reuse it)."""
    from conversions import services

    return services.worker_pool()


def make_upload(data: bytes | None = None, **overrides: Any):
    """Return a stored Upload of `data` (default: the drawn logo), fields overridable."""
    from conversions import services

    upload, _ = services.store_upload(data=data or draw_logo(), filename="logo.png")
    for name, value in overrides.items():
        setattr(upload, name, value)
    if overrides:
        upload.save()
    return upload


def make_conversion(**overrides: Any):
    """Return a saved succeeded legacy Conversion of a stored upload, fields overridable."""
    from conversions.models import Conversion
    from vectorizer.tracing import DEFAULT_PARAMS

    fields: dict[str, Any] = {
        "kind": Conversion.Kind.LEGACY,
        "status": Conversion.Status.SUCCEEDED,
        "parameters": DEFAULT_PARAMS.as_dict(),
        "svg": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>',
        "svg_bytes": 58,
        "path_count": 0,
        "ssim": 0.95,
        "decode_ms": 1.0,
        "trace_ms": 2.0,
        "measure_ms": 3.0,
        "total_ms": 7.0,
    }
    fields.update(overrides)
    if "upload" not in fields:
        fields["upload"] = make_upload()
    return Conversion.objects.create(**fields)


@pytest.fixture(name="make_upload")
def make_upload_fixture():
    return make_upload


@pytest.fixture(name="make_conversion")
def make_conversion_fixture():
    return make_conversion


@pytest.fixture
def real_logo_png() -> bytes:
    """Return the simple real logo (si-mdx): a dark badge on a transparent 512 px canvas."""
    return (DATA / f"{REAL_LOGOS['simple']}.png").read_bytes()


@pytest.fixture
def fake_predictor() -> FakePredictor:
    return FakePredictor()


@pytest.fixture
def fake_classifier() -> FakeClassifier:
    return FakeClassifier()
