"""A batch's SVGs under their original names and report.csv: as a ZIP, or into a folder."""

from __future__ import annotations

import csv
import io
import posixpath
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from conversions.batches.refusals import Refusals
from conversions.batches.status import as_seconds
from conversions.models import Batch, BatchItem

REPORT_FIELDS = [
    "name", "status", "tier", "measured_ssim", "predicted_ssim", "bytes", "time_s", "error",
    "svg", "conversion_id",
]  # fmt: skip


def svg_name(name: str, taken: set[str]) -> str:
    """Return the SVG's name in the download: the input's name with .svg, never repeated."""
    stem = posixpath.splitext(name)[0] or "image"
    candidate = f"{stem}.svg"
    counter = 2
    while candidate.lower() in taken:
        candidate = f"{stem}-{counter}.svg"
        counter += 1
    taken.add(candidate.lower())
    return candidate


def download_entries(batch: Batch) -> Iterator[tuple[str, str]]:
    """Yield (name, text) for each SVG of the batch (original names, .svg), then report.csv."""
    report = io.StringIO()
    writer = csv.DictWriter(report, fieldnames=REPORT_FIELDS)
    writer.writeheader()
    taken = {"report.csv"}
    items = batch.items.select_related("conversion").order_by("position")
    for item in items.iterator(chunk_size=100):
        conversion = item.conversion
        row: dict[str, object] = {
            "name": item.name,
            "status": item.status,
            "error": item.error,
            "conversion_id": conversion.pk if conversion else "",
        }
        if conversion is not None:
            row.update(
                tier=conversion.tier or "",
                measured_ssim=_fmt(conversion.ssim),
                predicted_ssim=_fmt(conversion.predicted_ssim),
                bytes=conversion.svg_bytes or "",
                time_s=_fmt(as_seconds(conversion.total_ms), 3),
            )
            if item.status == BatchItem.Status.DONE and conversion.svg:
                row["svg"] = name = svg_name(item.name, taken)
                yield name, conversion.svg
        writer.writerow(csv_safe(row))
    refusals = Refusals.from_stored(batch.refused)
    for refusal in refusals:
        writer.writerow(
            csv_safe({"name": refusal.name, "status": "refused", "error": refusal.reason})
        )
    if more := refusals.more():
        writer.writerow({"name": "", "status": "refused", "error": more})
    yield "report.csv", report.getvalue()


# What a spreadsheet may read as the start of a formula (OWASP, CSV injection).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(row: dict[str, object]) -> dict[str, object]:
    """Return the row with each text cell that could start a formula behind a single quote.

    Names come from the client (`=HYPERLINK(...).png`); quotes, commas and line breaks inside
    a cell are the csv module's to quote.
    """
    return {
        key: f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_LEADS) else value
        for key, value in row.items()
    }


def write_download(batch: Batch, handle: IO[bytes]) -> None:
    """Write a ZIP of the batch's SVGs (original names, .svg) and report.csv into `handle`."""
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in download_entries(batch):
            archive.writestr(name, text)


def write_folder(batch: Batch, folder: Path) -> list[Path]:
    """Write the batch's SVGs and report.csv under `folder`, as in the download; return them."""
    root = folder.resolve()
    written = []
    for name, text in download_entries(batch):
        target = (root / name).resolve()
        if not target.is_relative_to(root):  # names are safe already: a second fence
            raise ValueError(f"{name!r} would leave {root}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def _fmt(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"
