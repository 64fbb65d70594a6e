"""Zip members are taken or refused one by one, each refusal with its reason."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile

import pytest

from conversions.batches.intake import BatchRefused, Limits, Member, read_inputs, safe_name
from conversions.batches.lifecycle import create_batch
from conversions.batches.options import BatchOptions
from conversions.batches.refusals import Refusal
from tests.batches.conftest import make_zip
from tests.conftest import draw_logo, huge_header_png

LIMITS = Limits(max_items=10, member_bytes=200_000, total_bytes=1_000_000)


def read(data: bytes, limits: Limits = LIMITS) -> tuple[dict[str, bytes], dict[str, str]]:
    """Return (taken name → bytes, refused name → reason) for a zip's bytes."""
    results = list(read_inputs([("upload.zip", io.BytesIO(data))], limits))
    taken = {r.name: r.data for r in results if isinstance(r, Member)}
    refused = {r.name: r.reason for r in results if isinstance(r, Refusal)}
    return taken, refused


def mark_encrypted(data: bytes, name: str) -> bytes:
    """Return the zip with `name`'s central directory entry flagged as encrypted."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        length = int.from_bytes(out[at + 28 : at + 30], "little")
        if out[at + 46 : at + 46 + length] == name.encode():
            out[at + 8] |= 0x1
        at = out.find(b"PK\x01\x02", at + 4)
    return bytes(out)


def test_read_zip_takes_images_with_their_relative_names():
    logo = draw_logo()
    data = make_zip({"a.png": logo, "icons/b.png": logo, "icons/": b""})

    taken, refused = read(data)

    assert taken == {"a.png": logo, "icons/b.png": logo}
    assert refused == {}


@pytest.mark.parametrize(
    "name",
    ["../evil.png", "icons/../../evil.png", "/etc/evil.png", "C:/evil.png", "..\\evil.png"],
)
def test_read_zip_refuses_path_traversal_names(name):
    data = make_zip({name: draw_logo(), "good.png": draw_logo()})

    taken, refused = read(data)

    assert list(taken) == ["good.png"]
    [(refused_name, reason)] = refused.items()
    assert "unsafe member name" in reason
    assert refused_name.startswith("")


def test_read_zip_refuses_a_bomb_by_its_declared_size():
    bomb = b"\0" * 5_000_000  # deflates to ~5 KB
    data = make_zip({"bomb.png": bomb, "good.png": draw_logo()})
    assert len(data) < 20_000

    taken, refused = read(data)

    assert list(taken) == ["good.png"]
    assert "expands to 5000000 bytes" in refused["bomb.png"]


def test_read_zip_refuses_a_bomb_that_lies_about_its_size():
    data = bytearray(make_zip({"bomb.png": b"\0" * 5_000_000}))
    declared = (5_000_000).to_bytes(4, "little")
    small = (1_000).to_bytes(4, "little")
    data = data.replace(declared, small)  # in the local header and the central directory

    taken, refused = read(bytes(data))

    assert taken == {}
    reason = refused["bomb.png"]
    assert "zip bomb" in reason or "damaged" in reason


def test_read_zip_refuses_nested_archives_by_content_and_by_name():
    inner = make_zip({"a.png": draw_logo()})
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("a.png")
        payload = draw_logo()
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    data = make_zip(
        {
            "inner.zip": inner,
            "disguised.png": inner,
            "logos.tar.gz": tar_buffer.getvalue(),
            "good.png": draw_logo(),
        }
    )

    taken, refused = read(data)

    assert list(taken) == ["good.png"]
    assert set(refused) == {
        "inner.zip",
        "disguised.png",
        "logos.tar.gz",
    }
    assert all("nested archives" in reason for reason in refused.values())


def test_read_zip_refuses_members_past_the_count_one_by_one():
    data = make_zip({f"logo-{i}.png": draw_logo(32) for i in range(5)})

    taken, refused = read(data, Limits(max_items=3, member_bytes=200_000, total_bytes=10**6))

    assert list(taken) == ["logo-0.png", "logo-1.png", "logo-2.png"]
    assert list(refused) == ["logo-3.png", "logo-4.png"]
    assert all("at most 3 images" in reason for reason in refused.values())


def test_read_zip_refuses_members_past_the_uncompressed_total():
    logo = draw_logo(128)
    data = make_zip({f"logo-{i}.png": logo for i in range(4)})
    limits = Limits(max_items=10, member_bytes=200_000, total_bytes=int(len(logo) * 2.5))

    taken, refused = read(data, limits)

    assert len(taken) == 2
    assert len(refused) == 2
    assert all(f"pass {limits.total_bytes} bytes" in reason for reason in refused.values())


def test_read_zip_refuses_links_and_encrypted_members():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
        archive.writestr("locked.png", b"ciphertext")
        archive.writestr("good.png", draw_logo())

    taken, refused = read(mark_encrypted(buffer.getvalue(), "locked.png"))

    assert list(taken) == ["good.png"]
    assert "symbolic link" in refused["link.png"]
    assert "encrypted" in refused["locked.png"]


def test_read_inputs_refuses_a_zip_with_far_too_many_entries_whole():
    data = make_zip({f"{i}.png": b"" for i in range(200)}, compression=zipfile.ZIP_STORED)

    with pytest.raises(BatchRefused, match="holds more than 120 entries"):
        read(data, Limits(max_items=10, member_bytes=1000, total_bytes=10**6))


def test_read_inputs_refuses_a_file_that_is_not_a_zip_but_claims_to_be():
    with pytest.raises(BatchRefused, match="cannot be read"):
        read(b"PK\x03\x04 this is not really a zip")


def test_read_inputs_takes_plain_images_and_refuses_other_archives():
    tar_gz = b"\x1f\x8b\x08\x00" + b"\0" * 20
    files = [("a.png", io.BytesIO(draw_logo())), ("b.tgz", io.BytesIO(tar_gz))]

    results = list(read_inputs(files, LIMITS))

    assert [type(r) for r in results] == [Member, Refusal]
    assert "archive other than zip" in results[1].reason


@pytest.mark.django_db
def test_create_batch_refuses_non_images_and_pixel_bombs_by_content(inline_batches):
    data = make_zip(
        {
            "notes.png": b"a shopping list, not a logo",
            "huge.png": huge_header_png(),
            "good.png": draw_logo(),
        }
    )

    created = create_batch(
        files=[("logos.zip", io.BytesIO(data))], options=BatchOptions(kind="legacy")
    )

    assert created.batch.item_count == 1
    reasons = {r.name: r.reason for r in created.refused}
    assert "not an image" in reasons["notes.png"]
    assert "pixels" in reasons["huge.png"] or "too large" in reasons["huge.png"]
    assert created.batch.refused == {
        "total": 2,
        "by_reason": {"bad_image": 2},
        "shown": [{"name": r.name, "reason": r.reason, "code": r.code} for r in created.refused],
    }


@pytest.mark.django_db
def test_create_batch_with_nothing_convertible_raises_with_every_reason(inline_batches):
    data = make_zip({"a.txt": b"text", "../b.png": draw_logo()})

    with pytest.raises(BatchRefused) as caught:
        create_batch(files=[("logos.zip", io.BytesIO(data))], options=BatchOptions())

    assert {r.name for r in caught.value.refused} == {"a.txt", "../b.png"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.png", "a.png"),
        ("./icons//b.png", "icons/b.png"),
        ("icons\\c.png", "icons/c.png"),
        ("../d.png", None),
        ("/e.png", None),
        ("D:\\f.png", None),
        ("bad\x00name.png", None),
        ("", None),
    ],
)
def test_safe_name(name, expected):
    assert safe_name(name) == expected
