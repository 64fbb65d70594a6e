"""Downloads of stored conversions in other formats and sizes, and the output a caller asked for.

The stored SVG is the source of truth: a PDF, EPS, DXF or PNG is derived from it on each
request and not cached (a logo's export takes milliseconds: see the report of issue 20).
"""

from __future__ import annotations

from dataclasses import dataclass

from conversions.models import Conversion
from vectorizer.exports import CONTENT_TYPES, DEFAULT_DPI, OutputSize, export, sized


@dataclass(frozen=True)
class Download:
    """One file to send: its bytes, Content-Type and attachment name."""

    content: bytes
    content_type: str
    filename: str


def download_name(conversion: Conversion, extension: str) -> str:
    """Return the attachment name: the upload's name, made safe, with `extension`."""
    stem = conversion.upload.original_name.rsplit(".", 1)[0] or "logo"
    safe_stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:80]
    return f"{safe_stem}.{extension}"


def download_url(conversion: Conversion, fmt: str | None = None) -> str:
    """Return the URL of the conversion's file in `fmt` (default: the format it was asked in)."""
    return f"/api/conversions/{conversion.pk}/download?format={fmt or conversion.output_format}"


def stored_size(conversion: Conversion) -> OutputSize | None:
    """Return the output size recorded with the conversion, None when it has none."""
    return OutputSize(**conversion.output_size) if conversion.output_size else None


def record_output(conversion: Conversion, fmt: str, size: OutputSize | None) -> Conversion:
    """Record the format and size the caller asked for, writing the size into the SVG.

    Raise vectorizer.exports.ExportError when the size does not fit the traced drawing.
    """
    conversion.output_format = fmt
    fields = ["output_format"]
    if size is not None:
        conversion.output_size = size.as_dict()
        fields.append("output_size")
        if conversion.succeeded:
            conversion.svg = sized(conversion.svg, size)
            conversion.svg_bytes = len(conversion.svg.encode("utf-8"))
            fields += ["svg", "svg_bytes"]
    conversion.save(update_fields=fields)
    return conversion


def download(
    conversion: Conversion, fmt: str, size: OutputSize | None = None, dpi: float | None = None
) -> Download:
    """Return the succeeded conversion as `fmt`, at `size` or else at its recorded size.

    `dpi` without a size applies to the recorded size (PNG pixels, a px page). Raise
    vectorizer.exports.ExportError for a size out of range or a file too large.
    """
    if size is None:
        # The recorded size is in the SVG already; its dpi still sets PNG pixels and px pages.
        recorded = stored_size(conversion)
        size = OutputSize(dpi=dpi or (recorded.dpi if recorded else DEFAULT_DPI))
    content = export(conversion.svg, fmt, size)
    return Download(content, CONTENT_TYPES[fmt], download_name(conversion, fmt))
