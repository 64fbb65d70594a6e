"""Batch intake under hostile input: memory, quotas, forged directories, refusal summaries."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from PIL import Image
from rest_framework.test import APIClient, APIRequestFactory

from conversions.batches import lifecycle
from conversions.batches.intake import BatchRefused, Limits, read_inputs
from conversions.batches.refusals import REFUSALS_SHOWN
from conversions.batches.views import BatchListView
from conversions.models import Batch, Upload
from tests.batches.conftest import make_zip
from tests.conftest import draw_logo

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


def post_request(files: list[tuple[str, bytes]], **fields):
    """Return a built multipart POST /api/batches (the body encoded before any measuring)."""
    uploads = [SimpleUploadedFile(name, data) for name, data in files]
    return APIRequestFactory().post(
        "/api/batches", {"files": uploads, **fields}, format="multipart"
    )


def peak_extra_bytes(request) -> tuple[int, object]:
    """Return (peak bytes Python allocated while the view answered, the response)."""
    view = BatchListView.as_view()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        response = view(request)
        response.render()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak - base, response


def zip_bomb(members: int = 100, size: int = 10 * MB) -> bytes:
    """Return a zip of `members` members of `size` zero bytes each, deflate level 9."""
    zeros = b"\0" * size
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for i in range(members):
            archive.writestr(f"zeros-{i:03}.png", zeros)
    return buffer.getvalue()


def test_intake_a_zip_bomb_adds_little_to_peak_memory(inline_batches):
    data = zip_bomb()
    assert len(data) < 1.1 * MB
    request = post_request([("bomb.zip", data)], converter="vtracer")

    peak, response = peak_extra_bytes(request)

    assert response.status_code == 400, response.data
    assert peak < 50 * MB, f"the request allocated {peak / MB:.0f} MB at its peak"
    assert Upload.objects.count() == 0


def test_intake_many_uploaded_files_are_spooled_to_disk_not_memory(inline_batches, settings):
    # Each file is under FILE_UPLOAD_MAX_MEMORY_SIZE: Django's default keeps every one in memory.
    files = [(f"noise-{i}.png", bytes([i]) * (3 * MB)) for i in range(8)]
    assert all(len(d) < settings.FILE_UPLOAD_MAX_MEMORY_SIZE for _, d in files)
    request = post_request(files, converter="vtracer")

    peak, response = peak_extra_bytes(request)

    assert response.status_code == 400, response.data
    assert peak < 2 * 3 * MB + 4 * MB, f"the request allocated {peak / MB:.0f} MB at its peak"


def test_intake_reads_headers_not_pixels(inline_batches, settings):
    # 4000 x 4000 PNGs of a few kilobytes each decode to 64 MB of RGBA apiece: intake reads their
    # headers only (here each is then refused for the tier's pixel budget, so nothing runs).
    pngs = []
    for i in range(3):
        buffer = io.BytesIO()
        Image.new("RGB", (4000, 4000), (i * 60, 90, 200)).save(buffer, format="PNG")
        pngs.append((f"huge-{i}.png", buffer.getvalue()))
    request = post_request([("huge.zip", make_zip(dict(pngs)))], converter="vtracer")

    peak, response = peak_extra_bytes(request)

    assert response.status_code == 400, response.data
    assert "pixel budget" in str(response.data).lower() or "pixels" in str(response.data)
    assert peak < 2 * settings.SVGAI_MAX_UPLOAD_BYTES, f"{peak / MB:.0f} MB at the peak"
    assert Upload.objects.filter(width=4000, height=4000).count() == 3  # stored and charged


def distinct_bmps(count: int, side: int = 300) -> dict[str, bytes]:
    """Return `count` distinct uncompressed BMPs (they deflate to almost nothing)."""
    images = {}
    for i in range(count):
        buffer = io.BytesIO()
        Image.new("RGB", (side, side), (i * 40 % 256, 80, 160)).save(buffer, format="BMP")
        images[f"logo-{i}.bmp"] = buffer.getvalue()
    return images


def test_intake_quota_counts_the_bytes_stored_not_the_bytes_sent(
    api_client, inline_batches, settings
):
    bmps = distinct_bmps(5)
    size = len(next(iter(bmps.values())))
    data = make_zip(bmps)
    assert len(data) < size  # the whole zip is smaller than one of its images
    settings.SVGAI_UPLOAD_QUOTA_BYTES = 3 * size + size // 2

    response = api_client.post(
        "/api/batches",
        {"files": [SimpleUploadedFile("logos.zip", data)], "converter": "vtracer"},
        format="multipart",
    )

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["items"] == 3
    assert len(body["refused"]) == 2
    assert all("upload quota" in r["reason"] for r in body["refused"])
    stored = Upload.objects.aggregate(total=Sum("size_bytes"))["total"]
    assert stored <= settings.SVGAI_UPLOAD_QUOTA_BYTES


def test_intake_quota_used_up_by_stored_bytes_answers_429(api_client, inline_batches, settings):
    bmps = distinct_bmps(2)
    settings.SVGAI_UPLOAD_QUOTA_BYTES = len(bmps["logo-0.bmp"]) // 2
    data = make_zip(bmps)

    response = api_client.post(
        "/api/batches",
        {"files": [SimpleUploadedFile("logos.zip", data)], "converter": "vtracer"},
        format="multipart",
    )

    assert response.status_code == 429, response.content
    assert "quota" in response.json()["error"]
    assert "Retry-After" in response
    assert Upload.objects.count() == 0


def forged_directory(entries: int, claimed: int) -> bytes:
    """Return a zip of `entries` empty members whose end record claims `claimed` entries."""
    data = bytearray(
        make_zip({f"e{i:06}.png": b"" for i in range(entries)}, compression=zipfile.ZIP_STORED)
    )
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, claimed, claimed)
    return bytes(data)


def test_intake_forged_directory_is_refused_whatever_its_end_record_claims():
    data = forged_directory(3000, claimed=5)
    limits = Limits(max_items=10, member_bytes=1000, total_bytes=10**6)

    with pytest.raises(BatchRefused, match="more than 120 entries"):
        list(read_inputs([("forged.zip", io.BytesIO(data))], limits))


def test_intake_forged_directory_answers_a_small_400(api_client, inline_batches, settings):
    settings.SVGAI_BATCH_MAX_ITEMS = 10
    data = forged_directory(3000, claimed=5)

    response = api_client.post(
        "/api/batches",
        {"files": [SimpleUploadedFile("forged.zip", data)], "converter": "vtracer"},
        format="multipart",
    )

    assert response.status_code == 400
    assert len(response.content) < 2000
    assert Batch.objects.count() == 0


def test_intake_refusals_are_summarised_in_every_answer(api_client, inline_batches, settings):
    settings.SVGAI_BATCH_MAX_ITEMS = 1
    members = {"logo.png": draw_logo(64), **{f"x{i:03}.png": b"" for i in range(100)}}
    data = make_zip(members, compression=zipfile.ZIP_STORED)

    created = api_client.post(
        "/api/batches",
        {"files": [SimpleUploadedFile("logos.zip", data)], "converter": "vtracer"},
        format="multipart",
    )
    status = api_client.get(f"/api/batches/{created.json()['batch_id']}")
    listing = api_client.get("/api/batches")

    assert created.status_code == 202, created.content
    for body in (created.json(), status.json(), listing.json()["results"][0]):
        assert len(body["refused"]) == REFUSALS_SHOWN
        assert body["refused_total"] == 100
        assert body["refused_by_reason"] == {"too_many": 100}
        assert body["refused"][0]["name"] == "x000.png"
    download = api_client.get(f"/api/batches/{created.json()['batch_id']}/download")
    with zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))) as archive:
        report = archive.read("report.csv").decode()
    assert report.count("\n") < REFUSALS_SHOWN + 5
    assert "50 more refused" in report


def test_intake_refusals_of_a_request_with_nothing_convertible_are_capped(
    api_client, inline_batches, settings
):
    data = make_zip({f"x{i:03}.png": b"not an image" for i in range(300)})

    response = api_client.post(
        "/api/batches",
        {"files": [SimpleUploadedFile("logos.zip", data)], "converter": "vtracer"},
        format="multipart",
    )

    assert response.status_code == 400
    lines = response.json()["errors"]["files"]
    assert len(lines) == REFUSALS_SHOWN + 1
    assert "250 more" in lines[-1]


def test_intake_anonymous_batch_id_reads_but_only_its_owner_writes(
    inline_batches, monkeypatch, logos
):
    monkeypatch.setattr(lifecycle, "dispatch", lambda batch: None)  # stored, every item waits
    owner, stranger = APIClient(), APIClient()
    files = [SimpleUploadedFile(n, d) for n, d in logos.items()]
    body = owner.post("/api/batches", {"files": files, "tier": 1}, format="multipart").json()
    url = f"/api/batches/{body['batch_id']}"

    assert stranger.get(url).status_code == 200  # the id is a capability for reading
    refused = stranger.post(f"{url}/cancel")
    assert refused.status_code == 403
    assert refused.json()["success"] is False
    assert Batch.objects.get().status == Batch.Status.QUEUED
    assert owner.post(f"{url}/cancel").json()["status"] == "cancelled"


def zip64(members: dict[str, bytes], monkeypatch) -> bytes:
    """Return a zip with a zip64 end record, however few its members."""
    with monkeypatch.context() as patch:
        patch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)
        data = make_zip(members, compression=zipfile.ZIP_STORED)
    assert b"PK\x06\x06" in data
    return data


def test_intake_counts_the_directory_of_a_zip64_archive_too(monkeypatch):
    limits = Limits(max_items=10, member_bytes=10**6, total_bytes=10**7)
    small = zip64({"a.png": draw_logo(48), "b.png": draw_logo(64)}, monkeypatch)
    large = zip64({f"e{i:04}.png": b"" for i in range(500)}, monkeypatch)

    taken = list(read_inputs([("small.zip", io.BytesIO(small))], limits))
    assert [m.name for m in taken] == ["a.png", "b.png"]
    with pytest.raises(BatchRefused, match="more than 120 entries"):
        list(read_inputs([("large.zip", io.BytesIO(large))], limits))


def test_intake_refuses_a_directory_padded_with_comments():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(3):
            info = zipfile.ZipInfo(f"logo-{i}.png")
            info.comment = b"x" * 60_000  # zipfile reads the whole directory into memory
            archive.writestr(info, draw_logo(48))
    limits = Limits(max_items=1, member_bytes=10**6, total_bytes=10**7)

    with pytest.raises(BatchRefused, match="damaged or padded"):
        list(read_inputs([("padded.zip", io.BytesIO(buffer.getvalue()))], limits))


def test_intake_summarises_refusals_stored_before_summaries(api_client, inline_batches, logos):
    response = api_client.post(
        "/api/batches",
        {"files": [SimpleUploadedFile(n, d) for n, d in logos.items()], "tier": 1},
        format="multipart",
    )
    batch = Batch.objects.get(pk=response.json()["batch_id"])
    batch.refused = [{"name": f"x{i}.png", "reason": "not an image"} for i in range(500)]
    batch.save()

    body = api_client.get(f"/api/batches/{batch.pk}").json()

    assert len(body["refused"]) == REFUSALS_SHOWN
    assert body["refused_total"] == 500
    assert body["refused_by_reason"] == {"refused": 500}


def test_intake_quota_counts_images_stored_then_refused_for_their_pixels(
    api_client, inline_batches, settings
):
    settings.SVGAI_PIXEL_BUDGETS = {**settings.SVGAI_PIXEL_BUDGETS, "legacy": 100 * 100}
    bmps = distinct_bmps(3)
    settings.SVGAI_UPLOAD_QUOTA_BYTES = 2 * len(bmps["logo-0.bmp"]) + 1000
    data = make_zip(bmps)

    response = api_client.post(
        "/api/batches",
        {"files": [SimpleUploadedFile("logos.zip", data)], "converter": "vtracer"},
        format="multipart",
    )

    assert response.status_code == 400, response.content
    assert response.json()["errors"]["files"][0].startswith("logo-0.bmp: The image is 300×300")
    stored = Upload.objects.all()
    assert len(stored) == 2  # the third would pass the quota: never stored
    assert {u.quota_key for u in stored} != {""}
    assert len({u.quota_key for u in stored}) == 1
