"""`manage.py convert FILE... [-o DIR] [--set key=value ...]`: convert logos from the shell.

Each file goes through the same services as the API (stored upload, recorded conversion), so a
shell batch is benchmark data too. A bad file is reported and counted, never the end of the batch.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from conversions import services
from vectorizer.images import ImageError
from vectorizer.tracing import ParamError, TraceParams


def parse_value(text: str) -> int | float | str:
    """Return the text as an int, else a float, else the string itself."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_settings(pairs: list[str]) -> TraceParams:
    """Return TraceParams from `key=value` texts; CommandError names a bad key or value."""
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CommandError(f"--set {pair!r}: write it as key=value, e.g. filter_speckle=8.")
        values[key] = parse_value(text.strip())
    try:
        return TraceParams.from_dict(values)
    except ParamError as exc:
        # The message names the key and its allowed values or range.
        raise CommandError(f"--set {exc}") from exc


# conversions/metrics.py logs one JSON line per conversion here, for log collectors.
CONVERSION_LOG = "svgai.conversions"


def _below_warning_elsewhere(record: logging.LogRecord) -> bool:
    return not (record.name == CONVERSION_LOG and record.levelno < logging.WARNING)


def add_log_arguments(parser: CommandParser) -> None:
    """Add --log-file, where the per-conversion JSON lines go instead of the terminal."""
    parser.add_argument(
        "--log-file",
        type=Path,
        help=f"append the {CONVERSION_LOG} JSON lines here "
        "(default: dropped from the terminal; -v 2 shows them)",
    )


@contextmanager
def conversion_log_off_terminal(verbosity: int, log_file: Path | None) -> Iterator[None]:
    """Keep the per-conversion JSON log lines off the terminal while a command runs.

    A person at a terminal reads the progress bar and the summary; a JSON line per logo between
    the bar's updates buries both. The lines go to --log-file when given, to the terminal again
    with -v 2 or more; warnings and errors always reach it.
    """
    logger = logging.getLogger(CONVERSION_LOG)
    file_handler = None
    if log_file is not None:
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        logger.addHandler(file_handler)
    consoles: list[logging.Handler] = []
    if verbosity < 2:
        # The console: a StreamHandler on the root logger that is not a file (settings.LOGGING).
        consoles = [
            handler
            for handler in logging.getLogger().handlers
            if isinstance(handler, logging.StreamHandler)
            and not isinstance(handler, logging.FileHandler)
        ]
    for handler in consoles:
        handler.addFilter(_below_warning_elsewhere)
    try:
        yield
    finally:
        for handler in consoles:
            handler.removeFilter(_below_warning_elsewhere)
        if file_handler is not None:
            logger.removeHandler(file_handler)
            file_handler.close()


class Command(BaseCommand):
    help = "Convert image files to SVG with vtracer, recording each conversion."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="PNG, JPEG, WebP, GIF, BMP")
        parser.add_argument(
            "-o",
            "--output-dir",
            type=Path,
            help="folder for the SVGs (created if missing); default: beside each input",
        )
        parser.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            dest="trace_settings",
            help="a vtracer parameter, e.g. --set filter_speckle=8 --set colormode=binary",
        )
        add_log_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        with conversion_log_off_terminal(options["verbosity"], options["log_file"]):
            self._handle(**options)

    def _handle(self, **options: Any) -> None:
        params = parse_settings(options["trace_settings"])  # before any work: a typo stops nothing
        output_dir: Path | None = options["output_dir"]
        if output_dir is not None:
            output_dir.mkdir(parents=True, exist_ok=True)
        paths = [Path(name) for name in options["files"]]
        written: set[Path] = set()
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
            target = _target(path, output_dir, written)
            try:
                conversion = self._convert_one(path, params)
                if not conversion.succeeded:
                    raise _FileFailed(conversion.error)
                target.write_text(conversion.svg, encoding="utf-8")
            except (_FileFailed, ImageError, OSError) as exc:
                failed.append(str(path))
                self._report(bar, self.style.ERROR(f"FAILED {path}: {exc}"))
                continue
            written.add(target)
            ssims.append(conversion.ssim)
            total_bytes += conversion.svg_bytes
            total_ms += conversion.total_ms
            self._report(
                bar,
                f"{path} -> {target}  SSIM {conversion.ssim:.4f}  "
                f"{conversion.svg_bytes:,} bytes ({conversion.svg_bytes / 1024:.1f} KB)  "
                f"{conversion.path_count} paths  {conversion.total_ms:.0f} ms",
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

    def _convert_one(self, path: Path, params: TraceParams) -> Any:
        data = path.read_bytes()
        upload, _ = services.store_upload(data=data, filename=path.name)
        return services.convert_image(upload=upload, params=params)

    def _report(self, bar: tqdm, line: str) -> None:
        bar.clear()  # keep the progress bar off the report lines on a terminal
        self.stdout.write(line)
        bar.refresh()


class _FileFailed(Exception):
    """The conversion was recorded as failed; the message is its error."""


def _target(path: Path, output_dir: Path | None, taken: set[Path]) -> Path:
    """Return where the SVG of `path` goes, never over one written earlier in this batch."""
    folder = output_dir if output_dir is not None else path.parent
    target = folder / f"{path.stem}.svg"
    counter = 2
    while target in taken:
        target = folder / f"{path.stem}-{counter}.svg"
        counter += 1
    return target
