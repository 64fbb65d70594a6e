"""POST /api/upload: validated images are stored; anything else is a 400 that says why."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conversions.models import Upload

UPLOAD_FIELDS = {"success", "file_id", "filename", "width", "height", "format", "has_alpha",
                 "size_bytes"}  # fmt: skip


def post_upload(api_client, name: str, data: bytes):
    file = SimpleUploadedFile(name, data, content_type="application/octet-stream")
    return api_client.post("/api/upload", {"file": file}, format="multipart")


@pytest.mark.django_db
def test_upload_answers_the_contract_fields(api_client, png_upload, logo_png):
    response = api_client.post("/api/upload", {"file": png_upload}, format="multipart")

    assert response.status_code == 200
    body = response.json()
    assert set(body) >= UPLOAD_FIELDS
    assert body["success"] is True
    assert body["filename"] == "logo.png"
    assert (body["width"], body["height"], body["format"]) == (128, 128, "PNG")
    assert body["has_alpha"] is True
    assert body["size_bytes"] == len(logo_png)
    assert Upload.objects.get(pk=body["file_id"]).sha256 == body["sha256"]


@pytest.mark.django_db
def test_upload_shares_the_stored_file_of_identical_bytes(api_client, logo_png):
    first = post_upload(api_client, "a.png", logo_png).json()
    second = post_upload(api_client, "b.png", logo_png).json()

    assert first["file_id"] != second["file_id"]
    files = set(Upload.objects.values_list("file", flat=True))
    assert len(files) == 1
    assert next(iter(files)).startswith(f"uploads/{first['sha256'][:2]}/")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "width", "height", "fmt", "has_alpha"),
    [
        ("1x1.png", 1, 1, "PNG", False),
        ("transparent.png", 32, 32, "PNG", True),
        ("cmyk.jpg", 16, 16, "JPEG", False),
        ("grey16.png", 16, 8, "PNG", False),
        ("palette.png", 8, 8, "PNG", True),
        ("animated.gif", 12, 10, "GIF", False),
        ("rotated.jpg", 20, 40, "JPEG", False),
        ("image.webp", 10, 12, "WEBP", True),
        ("image.bmp", 10, 12, "BMP", False),
    ],
)
def test_upload_accepts_odd_but_valid_images(
    api_client, edge_image, name, width, height, fmt, has_alpha
):
    response = post_upload(api_client, name, edge_image(name))

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["width"], body["height"], body["format"], body["has_alpha"]) == (
        width,
        height,
        fmt,
        has_alpha,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("truncated.png", "file: The PNG file is damaged or truncated"),
        ("text.png", "file: The file is not an image we can read"),
        ("huge-header.png", "file: The image is far too large to decode safely; the limit is"),
        ("5000x5000.png", "file: The image is 5000×5000 = 25000000 pixels; the limit is"),
        ("image.tiff", "file: TIFF images are not supported"),
    ],
)
def test_upload_refuses_unusable_image_with_400(api_client, edge_image, name, message):
    response = post_upload(api_client, name, edge_image(name))

    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert body["error"].startswith(message)
    assert Upload.objects.count() == 0


@pytest.mark.django_db
def test_upload_refuses_file_over_the_size_limit(api_client, png_upload, settings):
    settings.SVGAI_MAX_UPLOAD_BYTES = 100

    response = api_client.post("/api/upload", {"file": png_upload}, format="multipart")

    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert body["error"].startswith("file: ")
    assert "the limit is 100" in body["error"]


@pytest.mark.django_db
def test_upload_without_file_names_the_missing_field(api_client):
    response = api_client.post("/api/upload", {}, format="multipart")

    assert response.status_code == 400
    assert response.json()["error"].startswith("file: is required")


@pytest.mark.django_db
def test_upload_of_empty_file_is_400(api_client):
    response = post_upload(api_client, "empty.png", b"")

    assert response.status_code == 400
    assert response.json()["error"].startswith("file: ")
