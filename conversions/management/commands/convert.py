"""`manage.py convert FILE... [-o DIR] [--tier ...|--set key=value ...] [--format svg,pdf]
[--width W --unit cm --dpi 300]`: convert from the shell.

Each file goes through the same services as the API (stored upload, recorded conversion), so a
shell batch is benchmark data too. A bad file is reported and counted, never the end of the batch.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from tqdm import tqdm

from conversions import exports, services
from conversions.batches import BatchOptions
from conversions.management.options import ConversionCommand, conversion_options
from conversions.models import Conversion, Upload
from vectorizer.exports import ExportError, resolve_box
from vectorizer.images import ImageError
from vectorizer.tracing import TraceParams


class Command(ConversionCommand):
    help = "Convert image files to SVG (AI tiers, or vtracer with --set), recording each."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="PNG, JPEG, WebP, GIF, BMP")
        parser.add_argument(
            "-o",
            "--output-dir",
            type=Path,
            help="folder for the output files (created if missing); default: beside each input",
        )
        super().add_arguments(parser)

    def convert(self, **options: Any) -> None:
        asked = conversion_options(options)  # before any work: a typo stops nothing
        output_dir: Path | None = options["output_dir"]
        if output_dir is not None:
            output_dir.mkdir(parents=True, exist_ok=True)
        paths = [Path(name) for name in options["files"]]
        written: set[Path] = set()  # the stems given out: a.svg and a.pdf share one
        failed: list[str] = []
        ssims: list[float] = []
        total_bytes = 0
        total_ms = 0.0
        bar = tqdm(
            paths,
            desc="Converting",
            unit="file",
            file=sys.stderr,
            disable=True if options["verbosity"] == 0 else None,  # None: only on a terminal
        )
        for path in bar:
            stem = _target(path, output_dir, written)
            try:
                conversion = self._convert_one(path, asked)
                if not conversion.succeeded:
                    raise _FileFailed(conversion.error)
                targets = _write(conversion, stem, asked.formats)
            except (_FileFailed, ImageError, OSError, ExportError) as exc:
                failed.append(str(path))
                self._report(bar, self.style.ERROR(f"FAILED {path}: {exc}"))
                continue
            written.add(stem)
            # A succeeded conversion has all three; the model allows None for failed ones.
            ssim, size, ms = (
                conversion.ssim or 0.0,
                conversion.svg_bytes or 0,
                conversion.total_ms or 0.0,
            )
            ssims.append(ssim)
            total_bytes += size
            total_ms += ms
            self._report(
                bar,
                f"{path} -> {', '.join(map(str, targets))}  SSIM {ssim:.4f}  "
                f"{size:,} bytes ({size / 1024:.1f} KB)  "
                f"{conversion.path_count} paths  {ms:.0f} ms",
            )
        bar.close()
        done = len(paths) - len(failed)
        summary = f"Converted {done} of {len(paths)} file(s)"
        if ssims:
            summary += (
                f"; mean SSIM {sum(ssims) / len(ssims):.4f}, "
                f"{total_bytes / 1024:.1f} KB of SVG, {total_ms / 1000:.2f} s"
            )
        self.stdout.write(summary + ".")
        if failed:
            raise CommandError(f"{len(failed)} of {len(paths)} file(s) failed: {', '.join(failed)}")

    def _convert_one(self, path: Path, asked: BatchOptions) -> Conversion:
        data = path.read_bytes()
        upload, _ = services.store_upload(data=data, filename=path.name)
        if asked.output_size is not None:  # a derived side out of range: before any tracing
            resolve_box(upload.width, upload.height, asked.output_size)
        conversion = self._trace(upload, asked)
        return exports.record_output(conversion, asked.formats[0], asked.output_size)

    def _trace(self, upload: Upload, asked: BatchOptions) -> Conversion:
        if asked.kind == Conversion.Kind.LEGACY:
            params = TraceParams.from_dict(asked.params)
            return services.convert_image(upload=upload, params=params, design=asked.design)
        return services.convert_with_ai(
            upload=upload,
            tier=asked.tier,
            target_quality=asked.target_quality,
            time_budget=asked.time_budget,
            max_bytes=asked.max_bytes,
            design=asked.design,
        )

    def _report(self, bar: tqdm[Path], line: str) -> None:
        bar.clear()  # keep the progress bar off the report lines on a terminal
        self.stdout.write(line)
        bar.refresh()


class _FileFailed(Exception):
    """The conversion was recorded as failed; the message is its error."""


def _target(path: Path, output_dir: Path | None, taken: set[Path]) -> Path:
    """Return the stem of the files of `path` (no extension), never one given out earlier."""
    folder = output_dir if output_dir is not None else path.parent
    target = folder / path.stem
    counter = 2
    while target in taken:
        target = folder / f"{path.stem}-{counter}"
        counter += 1
    return target


def _write(conversion: Conversion, stem: Path, asked: tuple[str, ...]) -> list[Path]:
    """Write the conversion in each format beside `stem` (the SVG is the source); return them."""
    targets = []
    for fmt in asked:
        target = stem.with_name(f"{stem.name}.{fmt}")
        target.write_bytes(exports.download(conversion, fmt).content)
        targets.append(target)
    return targets
