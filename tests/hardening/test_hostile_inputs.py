"""Hostile input: every request an attacker or a broken client sends gets a JSON 4xx that says why.

Each case was tried against the service as a client would send it (through the whole middleware
stack, with server errors turned into responses rather than raised), so a 500 anywhere fails.
The one valid image among them (a flat red and blue square) must convert on every tier.
"""

from __future__ import annotations

import io
import json
import struct
import uuid
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from django.conf import settings
from PIL import Image
from rest_framework.test import APIClient

from conversions.models import Conversion, Upload
from tests.conftest import DATA, REAL_LOGOS, draw_logo, encode, huge_header_png
from vectorizer.tracing import RANGES

CONVERT_ENDPOINTS = ["/api/convert", "/api/convert-ai"]


@pytest.fixture
def client() -> APIClient:
    """Return a client that answers server errors with their 500 instead of raising them."""
    return APIClient(raise_request_exception=False)


@pytest.fixture
def file_id(client) -> str:
    upload = io.BytesIO(draw_logo())
    upload.name = "logo.png"
    response = client.post("/api/upload", {"file": upload}, format="multipart")
    assert response.status_code == 200, response.content
    return response.json()["file_id"]


def assert_json_error(response, status: int, *, contains: str = "") -> dict:
    """Assert a JSON error body in the API's one shape with this status; return it."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert body["success"] is False
    assert isinstance(body["error"], str)
    assert body["error"]
    assert contains.lower() in body["error"].lower(), body["error"]
    return body


# -- images -----------------------------------------------------------------------------------


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_with_chunk(kind: bytes, payload: bytes) -> bytes:
    """Return a valid 1×1 RGB PNG carrying one extra ancillary chunk before its pixels."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(kind, payload)
        + _chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + _chunk(b"IEND", b"")
    )


def bomb_png() -> bytes:
    """Return a real 5000×5000 greyscale PNG of zeros: ~25 KB that decodes to 25 Mpx."""
    return encode(Image.new("L", (5000, 5000)), "PNG", optimize=True)


def heic() -> bytes:
    """Return the start of a HEIC file: an ISO-BMFF ftyp box with the heic brand."""
    ftyp = b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic"
    return struct.pack(">I", len(ftyp) + 4) + ftyp + b"\x00" * 64


HOSTILE_FILES: dict[str, tuple[Callable[[], bytes], str]] = {
    "empty": (lambda: b"", "empty"),
    "text-as-png": (lambda: b"milk\neggs\nnot a logo\n", "not an image we can read"),
    "bomb-5000x5000": (bomb_png, "the limit is"),
    "ihdr-100000x100000": (huge_header_png, "too large"),
    "ihdr-truncated": (lambda: b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01", "damaged or truncated"),
    "iccp-2MB": (
        lambda: png_with_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(b"\x00" * 2_000_000)),
        "damaged or truncated",
    ),
    "ztxt-50MB": (
        lambda: png_with_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"A" * 50_000_000)),
        "damaged or truncated",
    ),
    "tiff": (lambda: encode(Image.new("RGB", (4, 4)), "TIFF"), "not supported"),
    "ico": (lambda: encode(Image.new("RGBA", (16, 16)), "ICO"), "not supported"),
    "svg": (
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "not an image we can read",
    ),
    "heic": (heic, "not an image we can read"),
}


def upload(client, data: bytes, name: str = "logo.png"):
    file = io.BytesIO(data)
    file.name = name
    return client.post("/api/upload", {"file": file}, format="multipart")


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(HOSTILE_FILES))
def test_upload_refuses_hostile_file(client, case):
    make, message = HOSTILE_FILES[case]

    response = upload(client, make())

    assert_json_error(response, 400, contains=message)
    assert not Upload.objects.exists()


@pytest.mark.django_db
def test_upload_refuses_file_over_the_size_limit(client, settings):
    settings.SVGAI_MAX_UPLOAD_BYTES = 1000

    response = upload(client, draw_logo(512))

    assert_json_error(response, 400, contains="the limit is 1000")


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "b0undary") -> bytes:
    """Return a raw multipart body of (field name, file name or None, content) parts."""
    lines = []
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if filename is not None:
            head += "Content-Type: image/png\r\n"
        lines.append(head.encode("latin-1") + b"\r\n" + content + b"\r\n")
    return b"".join(lines) + f"--{boundary}--\r\n".encode()


def post_multipart(client, path: str, parts: list[tuple[str, str | None, bytes]]):
    return client.generic(
        "POST",
        path,
        multipart(parts),
        content_type="multipart/form-data; boundary=b0undary",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "filename",
    [
        "../../../etc/passwd.png",
        "..\\..\\win.ini.png",
        "a\x00b.png",
        "a\r\nX-Evil: 1.png",
        "x" * 600,
    ],
    ids=["traversal", "backslash-traversal", "nul", "crlf", "long"],
)
def test_upload_stores_hostile_filename_harmlessly(client, filename):
    response = post_multipart(client, "/api/upload", [("file", filename, draw_logo())])

    assert response.status_code in (200, 400), response.content[:300]
    body = response.json()
    if response.status_code == 400:
        assert body["success"] is False
        return
    stored = Upload.objects.get(pk=body["file_id"])
    for name in (body["filename"], stored.original_name):
        assert not set(name) & {"/", "\\", "\x00", "\r", "\n"}, name
        assert len(name) <= 255
    assert ".." not in stored.file.name


@pytest.mark.django_db
def test_upload_refuses_two_file_parts(client):
    response = post_multipart(
        client, "/api/upload", [("file", "a.png", draw_logo()), ("file", "b.png", draw_logo(64))]
    )

    assert_json_error(response, 400, contains="one file")
    assert not Upload.objects.exists()


@pytest.mark.django_db
def test_upload_refuses_101_file_parts(client):
    parts = [("file", f"{i}.png", b"x") for i in range(101)]

    response = post_multipart(client, "/api/upload", parts)

    assert_json_error(response, 400, contains="files")


@pytest.mark.django_db
def test_upload_refuses_a_text_field_named_file(client):
    response = client.post("/api/upload", {"file": "not a file"}, format="multipart")

    assert_json_error(response, 400, contains="file")


@pytest.mark.django_db
def test_upload_refuses_json(client):
    response = client.post("/api/upload", {"file": "aGVsbG8="}, format="json")

    assert_json_error(response, 415)


# -- convert bodies ----------------------------------------------------------------------------


def post_json(client, path: str, body: object):
    return client.generic("POST", path, json.dumps(body), content_type="application/json")


def post_raw(client, path: str, text: str):
    return client.generic("POST", path, text, content_type="application/json")


@pytest.mark.django_db
@pytest.mark.parametrize("path", CONVERT_ENDPOINTS)
@pytest.mark.parametrize("file_id", ["nonexistent_file", "invalid", "test", "x" * 10_000])
def test_convert_answers_404_for_any_string_naming_no_upload(client, path, file_id):
    body = assert_json_error(post_json(client, path, {"file_id": file_id}), 404, contains="upload")

    assert len(body["error"]) < 300


@pytest.mark.django_db
def test_convert_ai_answers_404_for_the_clients_unknown_file(client):
    response = post_json(client, "/api/convert-ai", {"file_id": "nonexistent_file", "tier": 1})

    assert_json_error(response, 404, contains="no such file")


@pytest.mark.django_db
def test_convert_ai_checks_the_tier_before_the_file(client):
    response = post_json(client, "/api/convert-ai", {"file_id": "test", "tier": 99})

    body = assert_json_error(response, 400, contains="tier")
    assert "tier" in body["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", CONVERT_ENDPOINTS)
@pytest.mark.parametrize("value", [None, "", 123, 1.5, True, [], ["a"], {}, {"id": "x"}], ids=repr)
def test_convert_refuses_a_file_id_that_is_no_string(client, path, value):
    assert_json_error(post_json(client, path, {"file_id": value}), 400, contains="file_id")


@pytest.mark.django_db
@pytest.mark.parametrize("path", CONVERT_ENDPOINTS)
@pytest.mark.parametrize("body", ["[]", '"text"', "42", "null", "true", '{"file_id": '])
def test_convert_refuses_a_body_that_is_no_object(client, path, body):
    response = post_raw(client, path, body)

    assert_json_error(response, 400)


@pytest.mark.django_db
@pytest.mark.parametrize("path", CONVERT_ENDPOINTS)
@pytest.mark.parametrize("depth", [100, 2000, 100_000])
def test_convert_refuses_deep_nesting(client, path, depth):
    response = post_raw(client, path, '{"file_id": ' + "[" * depth + "]" * depth + "}")

    assert_json_error(response, 400)


@pytest.mark.django_db
@pytest.mark.parametrize("path", CONVERT_ENDPOINTS)
@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_convert_refuses_non_finite_numbers(client, path, file_id, literal):
    field = "target_quality" if path.endswith("-ai") else "length_threshold"

    response = post_raw(client, path, f'{{"file_id": "{file_id}", "{field}": {literal}}}')

    assert_json_error(response, 400)
    assert not Conversion.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("path", CONVERT_ENDPOINTS)
@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity"])
def test_convert_refuses_non_finite_strings(client, path, file_id, text):
    field = "target_quality" if path.endswith("-ai") else "length_threshold"

    response = post_json(client, path, {"file_id": file_id, field: text})

    assert_json_error(response, 400, contains=field)


NUMERIC_FIELDS = {
    "/api/convert": list(RANGES),  # every numeric vtracer parameter
    "/api/convert-ai": ["tier", "target_quality", "time_budget", "max_bytes"],
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "field"), [(p, f) for p, fields in NUMERIC_FIELDS.items() for f in fields]
)
@pytest.mark.parametrize("value", [True, False])
def test_convert_refuses_booleans_for_numbers(client, file_id, path, field, value):
    response = post_json(client, path, {"file_id": file_id, field: value})

    assert_json_error(response, 400, contains=field)
    assert not Conversion.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "field"), [(p, f) for p, fields in NUMERIC_FIELDS.items() for f in fields]
)
def test_convert_answers_huge_integers_briefly(client, file_id, path, field):
    huge = "9" * 4000

    response = post_raw(client, path, f'{{"file_id": "{file_id}", "{field}": {huge}}}')

    body = assert_json_error(response, 400, contains=field)
    assert len(response.content) < 1000, body
    assert not Conversion.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("path", CONVERT_ENDPOINTS)
def test_convert_answers_integers_past_the_parser_limit(client, file_id, path):
    response = post_raw(client, path, f'{{"file_id": "{file_id}", "max_bytes": {"9" * 5000}}}')

    assert_json_error(response, 400)
    assert len(response.content) < 1000


@pytest.mark.django_db
@pytest.mark.parametrize("path", CONVERT_ENDPOINTS)
def test_convert_names_a_huge_unknown_key_briefly(client, file_id, path):
    key = "k" * 10_000

    response = post_json(client, path, {"file_id": file_id, key: 1})

    assert_json_error(response, 400, contains="not an option")
    assert len(response.content) < 1000


@pytest.mark.django_db
def test_convert_names_a_huge_choice_briefly(client, file_id):
    response = post_json(client, "/api/convert", {"file_id": file_id, "mode": "m" * 10_000})

    assert_json_error(response, 400, contains="mode")
    assert len(response.content) < 1000


@pytest.mark.django_db
@pytest.mark.parametrize("path", CONVERT_ENDPOINTS)
def test_convert_refuses_a_body_over_the_memory_limit(client, settings, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000

    response = post_json(client, path, {"file_id": "a" * 20_000})

    assert_json_error(response, 413, contains="too large")


@pytest.mark.django_db
@pytest.mark.parametrize("path", CONVERT_ENDPOINTS)
def test_convert_refuses_a_form_over_the_field_limit(client, path):
    form = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))

    response = client.generic("POST", path, form, content_type="application/x-www-form-urlencoded")

    assert_json_error(response, 400, contains="fields")


@pytest.mark.django_db
@pytest.mark.parametrize("path", CONVERT_ENDPOINTS)
def test_convert_refuses_wrong_content_types(client, path):
    response = client.generic("POST", path, b"\x00\x01", content_type="application/octet-stream")

    assert_json_error(response, 415)


# -- other requests ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/api/convert", "/api/upload", "/api/conversions/", "/api/ai-health"]
)
@pytest.mark.parametrize("host", ["evil.example", "evil.example\r\nX: y", "a" * 5000])
def test_bad_host_header_gets_the_json_shape(client, path, host):
    response = client.get(path, HTTP_HOST=host)

    assert_json_error(response, 400, contains="host")


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["abc", "0", "-1", "1.5", "9" * 5000])
def test_conversion_list_refuses_a_malformed_page(client, page):
    assert_json_error(client.get(f"/api/conversions/?page={page}"), 400, contains="page")


@pytest.mark.django_db
def test_conversion_list_of_an_unknown_upload_is_empty(client, make_conversion):
    make_conversion()

    for value in [uuid.uuid4(), "not-a-uuid"]:
        response = client.get(f"/api/conversions/?upload={value}")

        assert response.status_code == 200, response.content
        assert response.json()["results"] == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "tier=abc",
        "tier=" + "9" * 40,
        "tier=" + "9" * 5000,
        "kind=nope",
        "date=2026-13-45",
        "created_after=yesterday",
        "since=" + "x" * 5000,
    ],
)
def test_conversion_list_refuses_bad_filters_briefly(client, query):
    response = client.get(f"/api/conversions/?{query}")

    assert response.status_code in (200, 400), response.content[:300]
    assert len(response.content) < 2000
    if response.status_code == 400:
        assert_json_error(response, 400)


@pytest.mark.django_db
@pytest.mark.parametrize("since", ["yesterday", "2026-13-01T00:00:00Z", "9" * 5000])
def test_quality_report_refuses_a_bad_since(client, since):
    assert_json_error(client.get(f"/api/reports/quality?since={since}"), 400, contains="since")


# -- a valid image that used to fail -----------------------------------------------------------


def red_square_with_blue_inside() -> bytes:
    """Return the issue's flat image: its colour edges fall on columns 8n − 1."""
    pixels = np.zeros((64, 64, 3), np.uint8)
    pixels[..., 0] = 255
    pixels[16:48, 16:48, 2] = 156
    return encode(Image.fromarray(pixels), "PNG")


@pytest.mark.django_db
@pytest.mark.parametrize("tier", ["auto", 1, 2, 3])
def test_convert_ai_converts_a_flat_square_on_every_tier(client, tier):
    # The registry serves the shipped weights (aimodels/weights) unless a test installs fakes.
    file_id = upload(client, red_square_with_blue_inside()).json()["file_id"]

    response = post_json(
        client, "/api/convert-ai", {"file_id": file_id, "tier": tier, "time_budget": 1.0}
    )

    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert body["ssim"] > 0.9
    conversion = Conversion.objects.get(pk=body["conversion_id"])
    assert conversion.status == Conversion.Status.SUCCEEDED
    assert all(np.isfinite(v) for v in conversion.features.values())


@pytest.mark.django_db
def test_real_logo_still_converts(client):
    name = f"{REAL_LOGOS['simple']}.png"
    file_id = upload(client, (DATA / name).read_bytes(), name).json()["file_id"]

    response = post_json(client, "/api/convert-ai", {"file_id": file_id, "tier": 1})

    assert response.status_code == 200, response.content[:500]
