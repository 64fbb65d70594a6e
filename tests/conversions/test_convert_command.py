"""`manage.py convert`: files in, SVGs out beside them or in -o DIR, every conversion recorded."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from conversions.models import Conversion, Upload
from tests.conftest import draw_logo


@pytest.fixture
def two_logos(tmp_path) -> list[Path]:
    first = tmp_path / "inputs" / "first.png"
    second = tmp_path / "inputs" / "second.png"
    first.parent.mkdir()
    first.write_bytes(draw_logo(96))
    second.write_bytes(draw_logo(128, transparent=False))
    return [first, second]


def run(*args: str) -> tuple[str, CommandError | None]:
    """Return the command's output and the CommandError it ended with, if any."""
    out = io.StringIO()
    try:
        call_command("convert", *args, stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


@pytest.mark.django_db
def test_convert_writes_svgs_and_records_conversions(two_logos, tmp_path):
    out_dir = tmp_path / "svgs"

    output, error = run(*map(str, two_logos), "-o", str(out_dir), "--set", "filter_speckle=8")

    assert error is None
    for logo in two_logos:
        svg = (out_dir / f"{logo.stem}.svg").read_text()
        assert "<svg" in svg
        assert svg.rstrip().endswith("</svg>")
    conversions = list(Conversion.objects.select_related("upload"))
    assert len(conversions) == 2
    assert {c.upload.original_name for c in conversions} == {"first.png", "second.png"}
    assert all(c.succeeded and c.parameters["filter_speckle"] == 8 for c in conversions)
    assert output.count("SSIM") >= 2
    assert "Converted 2 of 2 file(s)" in output


@pytest.mark.django_db
def test_convert_writes_beside_input_by_default(two_logos):
    _, error = run(str(two_logos[0]), "--set", "colormode=binary", "--set", "length_threshold=2.5")

    assert error is None
    assert (two_logos[0].parent / "first.svg").exists()
    conversion = Conversion.objects.get()
    assert conversion.parameters["colormode"] == "binary"
    assert conversion.parameters["length_threshold"] == 2.5


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("filter_speckle=500", r"filter_speckle: must be from 0 to 128"),
        ("colour=3", r"colour: is not a vtracer parameter"),
        ("mode=curvy", r"mode: must be one of spline, polygon, none"),
        ("corner_threshold=wide", r"corner_threshold: must be a number from 0 to 180"),
        ("filter_speckle", r"key=value"),
    ],
)
def test_convert_rejects_bad_setting_before_converting(two_logos, setting, expected):
    _, error = run(str(two_logos[0]), "--set", setting)

    assert error is not None
    assert re.search(expected, str(error))
    assert not Upload.objects.exists()
    assert not Conversion.objects.exists()


@pytest.mark.django_db
def test_convert_runs_the_ai_tiers_like_convert_folder(two_logos):
    output, error = run(str(two_logos[0]), "--tier", "1", "--max-bytes", "20000")

    assert error is None, error
    conversion = Conversion.objects.get()
    assert conversion.kind == Conversion.Kind.AI
    assert conversion.tier == 1
    assert "Converted 1 of 1 file(s)" in output


@pytest.mark.django_db
def test_convert_refuses_vtracer_settings_beside_an_ai_option(two_logos):
    _, error = run(str(two_logos[0]), "--tier", "2", "--set", "filter_speckle=8")

    assert error is not None
    assert "--tier is an AI option" in str(error)
    assert not Upload.objects.exists()


@pytest.mark.django_db
def test_convert_reports_bad_file_and_converts_the_rest(two_logos, tmp_path):
    notes = tmp_path / "inputs" / "notes.txt"
    notes.write_text("not an image")
    missing = tmp_path / "inputs" / "missing.png"
    out_dir = tmp_path / "svgs"

    output, error = run(
        str(two_logos[0]), str(notes), str(missing), str(two_logos[1]), "-o", str(out_dir)
    )

    assert error is not None
    assert "2 of 4 file(s) failed" in str(error)
    assert "notes.txt" in str(error)
    assert "missing.png" in str(error)
    assert "FAILED" in output
    assert "not an image we can read" in output
    assert "Converted 2 of 4 file(s)" in output
    assert sorted(p.name for p in out_dir.iterdir()) == ["first.svg", "second.svg"]
    assert Conversion.objects.filter(status=Conversion.Status.SUCCEEDED).count() == 2


@pytest.fixture
def terminal():
    """A console handler on the root logger, as settings.LOGGING installs, writing to a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    conversion_log = logging.getLogger("svgai.conversions")
    level = conversion_log.level
    conversion_log.setLevel(logging.INFO)
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)
    conversion_log.setLevel(level)


def _folder_of_logos(tmp_path: Path) -> Path:
    folder = tmp_path / "logos"
    folder.mkdir()
    (folder / "a.png").write_bytes(draw_logo(64))
    (folder / "b.png").write_bytes(draw_logo(48))
    return folder


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["convert", "convert_folder"])
def test_commands_keep_json_log_lines_off_the_terminal(
    command, terminal, tmp_path, two_logos, settings
):
    settings.CELERY_BROKER_URL = ""
    settings.SVGAI_BATCH_LOCAL_CONCURRENCY = 0  # convert_folder: items run in this process
    args = [str(_folder_of_logos(tmp_path))] if command == "convert_folder" else two_logos
    out = io.StringIO()

    call_command(command, *map(str, args), stdout=out, stderr=io.StringIO())

    assert '"event": "conversion"' not in terminal.getvalue()
    assert "2 converted" in out.getvalue() or "Converted 2 of 2" in out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["convert", "convert_folder"])
def test_commands_write_json_log_lines_to_log_file_or_terminal_at_verbosity_2(
    command, terminal, tmp_path, two_logos, settings
):
    settings.CELERY_BROKER_URL = ""
    settings.SVGAI_BATCH_LOCAL_CONCURRENCY = 0
    args = [str(_folder_of_logos(tmp_path))] if command == "convert_folder" else two_logos
    log_file = tmp_path / "conversions.jsonl"
    quiet = io.StringIO()

    call_command(command, *map(str, args), "--log-file", str(log_file), stdout=quiet)

    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [line["event"] for line in lines] == ["conversion", "conversion"]
    assert '"event": "conversion"' not in terminal.getvalue()

    call_command(command, *map(str, args), verbosity=2, stdout=quiet)

    assert terminal.getvalue().count('"event": "conversion"') == 2


# -- --format and the output size ------------------------------------------------------------


@pytest.mark.django_db
def test_convert_writes_each_format_at_the_asked_size(two_logos, tmp_path):
    out_dir = tmp_path / "out"

    output, error = run(
        str(two_logos[0]), "-o", str(out_dir), "--set", "filter_speckle=4",
        "--format", "svg,pdf", "--format", "png", "--width", "2", "--unit", "in", "--dpi", "150",
    )  # fmt: skip

    assert error is None, error
    assert sorted(p.name for p in out_dir.iterdir()) == ["first.pdf", "first.png", "first.svg"]
    assert 'width="2in" height="2in"' in (out_dir / "first.svg").read_text()
    assert Image.open(out_dir / "first.png").size == (300, 300)
    assert (out_dir / "first.pdf").read_bytes().startswith(b"%PDF")
    conversion = Conversion.objects.get()
    assert conversion.output_format == "svg"
    assert conversion.output_size == {"width": 2.0, "height": None, "unit": "in", "dpi": 150.0}
    assert "first.png" in output


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--format", "tiff"], "--format 'tiff': choose from svg, pdf, eps, dxf, png"),
        (["--width", "600", "--unit", "cm"], "the most is 5 m a side"),
        (["--width", "0"], "must be positive"),
        (["--dpi", "300"], "give --width or --height too"),
        (["--width", "10", "--dpi", "5"], "dpi must be from 10 to 2400"),
    ],
)
def test_convert_refuses_bad_output_options_before_converting(two_logos, args, expected):
    _, error = run(str(two_logos[0]), *args)

    assert expected in str(error)
    assert not Conversion.objects.exists()


@pytest.mark.django_db
def test_convert_folder_writes_each_format(tmp_path, settings):
    settings.CELERY_BROKER_URL = ""
    settings.SVGAI_BATCH_LOCAL_CONCURRENCY = 0
    folder, out_dir = _folder_of_logos(tmp_path), tmp_path / "out"
    out = io.StringIO()

    call_command(
        "convert_folder", str(folder), "-o", str(out_dir), "--set", "filter_speckle=4",
        "--format", "dxf,png", "--height", "128", stdout=out, stderr=io.StringIO(),
    )  # fmt: skip

    names = sorted(p.name for p in out_dir.iterdir())
    assert names == ["a.dxf", "a.png", "b.dxf", "b.png", "report.csv"]
    assert Image.open(out_dir / "b.png").size == (128, 128)
    assert "4 files (dxf, png) and report.csv" in out.getvalue()
