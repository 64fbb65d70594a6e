"""What `manage.py convert` and `convert_folder` share: how a conversion is asked for, and logs.

Both take the AI options (`--tier`, `--target-quality`, `--time-budget`, `--max-bytes`) or, with
`--set key=value`, explicit vtracer parameters, as the API does, the design options
(`--max-colors`, `--palette`, `--shape-stacking`, `--group-by`, `--min-area-px`) and the output
formats (`--format svg,pdf`) and size (`--width`, `--height`, `--unit`, `--dpi`) with either;
both keep the per-conversion JSON log lines off the terminal (ConversionCommand).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from conversions.batches import BatchOptions
from conversions.design import DesignRequestSerializer
from conversions.models import Conversion
from vectorizer import exports as formats
from vectorizer.designer import DesignOptions
from vectorizer.routing import DEFAULT_TARGET_QUALITY
from vectorizer.tracing import ParamError, TraceParams


def add_conversion_arguments(parser: CommandParser) -> None:
    """Add the AI options, --set (vtracer parameters instead of the AI tiers) and the output."""
    parser.add_argument("--tier", default="auto", choices=["auto", "1", "2", "3"])
    parser.add_argument("--target-quality", type=float, default=DEFAULT_TARGET_QUALITY)
    parser.add_argument("--time-budget", type=float, help="seconds per image (AI tiers)")
    parser.add_argument("--max-bytes", type=int, help="largest SVG wanted (AI tiers)")
    parser.add_argument("--max-colors", type=int, help="at most this many colours (1-256)")
    parser.add_argument("--palette", help="snap fills to these colours: #1f6feb,#ffffff")
    parser.add_argument("--shape-stacking", default="stacked", choices=["stacked", "cutouts"])
    parser.add_argument("--group-by", default="none", choices=["none", "color"])
    parser.add_argument("--min-area-px", type=float, default=0.0, help="drop smaller specks")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="trace_settings",
        help="a vtracer parameter instead of the AI tiers, e.g. --set filter_speckle=8",
    )
    add_output_arguments(parser)


def add_output_arguments(parser: CommandParser) -> None:
    """Add --format (repeatable or comma-separated) and the output size options."""
    parser.add_argument(
        "--format",
        action="append",
        default=[],
        metavar="FORMAT",
        dest="formats",
        help=f"a file per image in each format ({', '.join(formats.FORMATS)}); repeat it or "
        "write svg,pdf,png (default: svg)",
    )
    parser.add_argument("--width", type=float, help="output width in --unit (keeps the aspect)")
    parser.add_argument("--height", type=float, help="output height in --unit (keeps the aspect)")
    parser.add_argument("--unit", default="px", choices=formats.UNITS, help="default px")
    parser.add_argument(
        "--dpi",
        type=float,
        help=f"pixels per inch ({formats.MIN_DPI:g}–{formats.MAX_DPI:g}, default 96): a px "
        "size's page, a physical size's PNG pixels",
    )


def conversion_options(options: dict[str, Any]) -> BatchOptions:
    """Return how each image is converted: vtracer with --set, else the AI tiers.

    Checked before any work, so a typo stops nothing; mixing --set with an AI option is refused
    as the API refuses it.
    """
    formats_asked, size = output_formats(options["formats"]), output_size(options)
    if options["trace_settings"]:
        asked = [
            flag
            for flag, default in (
                ("tier", "auto"),
                ("time_budget", None),
                ("max_bytes", None),
                ("target_quality", DEFAULT_TARGET_QUALITY),
            )
            if options[flag] != default
        ]
        if asked:
            flag = "--" + asked[0].replace("_", "-")
            raise CommandError(f"{flag} is an AI option; --set asks for vtracer parameters.")
        params = parse_settings(options["trace_settings"])
        return BatchOptions(
            kind=Conversion.Kind.LEGACY,
            params=params.as_dict(),
            design=design_options(options),
            formats=formats_asked,
            output_size=size,
        )
    tier = options["tier"] if options["tier"] == "auto" else int(options["tier"])
    return BatchOptions(
        kind=Conversion.Kind.AI,
        design=design_options(options),
        tier=tier,
        target_quality=options["target_quality"],
        time_budget=options["time_budget"],
        max_bytes=options["max_bytes"],
        formats=formats_asked,
        output_size=size,
    )


def design_options(options: dict[str, Any]) -> DesignOptions:
    """Return the design options of the command line, checked as the API checks them."""
    values = {
        "max_colors": options["max_colors"],
        "palette": options["palette"],
        "shape_stacking": options["shape_stacking"],
        "group_by": options["group_by"],
        "min_area_px": options["min_area_px"],
    }
    serializer = DesignRequestSerializer(data={k: v for k, v in values.items() if v is not None})
    if not serializer.is_valid():
        name, messages = next(iter(serializer.errors.items()))
        flag = "--" + name.replace("_", "-") if name in values else "options"
        message = messages[0] if isinstance(messages, list) else messages
        raise CommandError(f"{flag}: {message}")
    return serializer.design_options()


def output_formats(texts: list[str]) -> tuple[str, ...]:
    """Return the formats asked for (each once, in order; svg when none), refusing others."""
    asked = [part.strip().lower() for text in texts for part in text.split(",") if part.strip()]
    for fmt in asked:
        if fmt not in formats.FORMATS:
            raise CommandError(
                f"--format {fmt!r}: choose from {', '.join(formats.FORMATS)} (e.g. svg,pdf)."
            )
    return tuple(dict.fromkeys(asked)) or ("svg",)


def output_size(options: dict[str, Any]) -> formats.OutputSize | None:
    """Return the output size of --width/--height/--unit/--dpi, None without a side."""
    width, height, dpi = options["width"], options["height"], options["dpi"]
    if width is None and height is None:
        if dpi is not None or options["unit"] != "px":
            raise CommandError("--unit and --dpi size the output: give --width or --height too.")
        return None
    size = formats.OutputSize(
        width=width, height=height, unit=options["unit"], dpi=dpi or formats.DEFAULT_DPI
    )
    try:  # each given side within bounds; a derived side is checked per image
        formats.resolve_box(width or height or 1.0, height or width or 1.0, size)
    except formats.ExportError as exc:
        raise CommandError(f"output size: {exc}") from exc
    return size


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
    values: dict[str, int | float | str] = {}
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


class ConversionCommand(BaseCommand):
    """A command that converts: the conversion and log options, the JSON log off the terminal.

    A subclass adds its own arguments before calling `super().add_arguments(parser)` and does
    its work in `convert(**options)`.
    """

    def add_arguments(self, parser: CommandParser) -> None:
        add_conversion_arguments(parser)
        add_log_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        with conversion_log_off_terminal(options["verbosity"], options["log_file"]):
            self.convert(**options)

    def convert(self, **options: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define convert(**options)")
