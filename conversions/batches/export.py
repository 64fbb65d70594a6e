"""A batch's files under their original names and report.csv: as a ZIP, or into a folder.

Each item gets one file per format the batch asked for (`a.png` → `a.svg`, `a.pdf`); the SVG is
the source of truth and the other formats are derived from it as the download is written.
"""

from __future__ import annotations

import csv
import io
import posixpath
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from conversions.batches.options import BatchOptions
from conversions.batches.refusals import Refusals
from conversions.batches.status import as_seconds
from conversions.exports import download
from conversions.models import Batch, BatchItem, Conversion
from vectorizer.exports import ExportError

REPORT_FIELDS = [
    "name", "status", "tier", "measured_ssim", "predicted_ssim", "bytes", "time_s", "error",
    "svg", "conversion_id", "files",
]  # fmt: skip


def stem_name(name: str, taken: set[str]) -> str:
    """Return the stem of an item's files in the download, never one given to another item."""
    stem = posixpath.splitext(name)[0] or "image"
    candidate, counter = stem, 2
    while candidate.lower() in taken:
        candidate = f"{stem}-{counter}"
        counter += 1
    taken.add(candidate.lower())
    return candidate


def item_files(
    conversion: Conversion, stem: str, formats: tuple[str, ...]
) -> tuple[list[tuple[str, bytes]], list[str]]:
    """Return ([(name, content)] in each of `formats`, [errors]) for a succeeded conversion.

    The stored SVG is the source of truth: the other formats are derived from it here, at its
    recorded size; a format that cannot be made (a PNG over 8192 px) is named in the errors.
    """
    files, errors = [], []
    for fmt in formats:
        try:
            content = download(conversion, fmt).content
        except ExportError as exc:
            errors.append(f"{fmt}: {exc}")
            continue
        files.append((f"{stem}.{fmt}", content))
    return files, errors


def download_entries(batch: Batch) -> Iterator[tuple[str, bytes]]:
    """Yield (name, content) for each item's file in each of the batch's formats, then the CSV.

    An item's files keep its name with the format's extension (`icons/a.png` → `icons/a.pdf`).
    """
    formats = BatchOptions.from_batch(batch).formats
    report = io.StringIO()
    writer = csv.DictWriter(report, fieldnames=REPORT_FIELDS)
    writer.writeheader()
    taken: set[str] = set()
    items = batch.items.select_related("conversion", "conversion__upload").order_by("position")
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
                stem = stem_name(item.name, taken)
                files, errors = item_files(conversion, stem, formats)
                yield from files
                row["files"] = " ".join(name for name, _ in files)
                row["svg"] = f"{stem}.svg" if "svg" in formats else ""
                row["error"] = "; ".join(errors)
        writer.writerow(csv_safe(row))
    refusals = Refusals.from_stored(batch.refused)
    for refusal in refusals:
        writer.writerow(
            csv_safe({"name": refusal.name, "status": "refused", "error": refusal.reason})
        )
    if more := refusals.more():
        writer.writerow({"name": "", "status": "refused", "error": more})
    yield "report.csv", report.getvalue().encode("utf-8")


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
    """Write a ZIP of the batch's files (original names, one per format) and report.csv."""
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in download_entries(batch):
            archive.writestr(name, content)


def write_folder(batch: Batch, folder: Path) -> list[Path]:
    """Write the batch's files and report.csv under `folder`, as in the download; return them."""
    root = folder.resolve()
    written = []
    for name, content in download_entries(batch):
        target = (root / name).resolve()
        if not target.is_relative_to(root):  # names are safe already: a second fence
            raise ValueError(f"{name!r} would leave {root}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        written.append(target)
    return written


def _fmt(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"
