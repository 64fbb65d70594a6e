"""manage.py quality_report: per tier and logo type, predicted versus measured quality."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from conversions.reports import quality_report


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


class Command(BaseCommand):
    help = (
        "Report, from the conversion records, per AI tier and logo type: count, mean predicted "
        "and measured SSIM, prediction error, mean time and bytes, and the gain over legacy "
        "conversions of the same uploaded image."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="ISO 8601 date-time: only conversions after it")
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def handle(self, *args: Any, **options: Any) -> None:
        since = None
        if options["since"]:
            try:
                since = parse_datetime(options["since"])
            except ValueError:  # well formed but impossible, e.g. month 13
                since = None
            if since is None:
                raise CommandError("--since must be an ISO 8601 date-time, e.g. 2026-11-01T00:00")
        report = quality_report(since=since)
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, default=str))
            return
        columns = [
            "tier",
            "logo_type",
            "count",
            "mean_predicted_ssim",
            "mean_measured_ssim",
            "prediction_mae",
            "mean_time_ms",
            "mean_bytes",
            "with_legacy",
            "mean_ssim_gain_vs_legacy",
        ]
        self.stdout.write("| " + " | ".join(columns) + " |")
        self.stdout.write("|" + "---|" * len(columns))
        for row in report["ai"]:
            self.stdout.write("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
        legacy = report["legacy"]
        self.stdout.write(
            f"\nlegacy: {legacy['count']} conversions, "
            f"mean SSIM {_cell(legacy['mean_measured_ssim'])}, "
            f"mean time {_cell(legacy['mean_time_ms'])} ms; failures: {report['failures']}"
        )
