"""Shared fixtures: an API client, images drawn with Pillow, media in a temporary folder."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

DATA = Path(__file__).parent / "data"
SHARED_DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "logos-dev"


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ALLOWED_HOSTS = ["testserver", "localhost"]


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
