"""manage.py purge: delete uploads and records older than SVGAI_RETENTION_DAYS."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from conversions.retention import purge


class Command(BaseCommand):
    help = (
        "Delete finished batches, conversions and uploads older than SVGAI_RETENTION_DAYS "
        "(default 30), with the stored files nothing uses any more. Run it daily (cron)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=None, help="override SVGAI_RETENTION_DAYS (at least 1)"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would go, delete nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"] if options["days"] is not None else settings.SVGAI_RETENTION_DAYS
        if days < 1:
            raise CommandError("--days must be at least 1 (0 would delete everything)")
        before = timezone.now() - timedelta(days=days)
        result = purge(before=before, dry_run=options["dry_run"])
        verb = "Would delete" if options["dry_run"] else "Deleted"
        self.stdout.write(
            f"{verb} records older than {days} days (before {before:%Y-%m-%d %H:%M} UTC): "
            f"{result.conversions} conversions, {result.uploads} uploads, "
            f"{result.batches} batches, {result.files} files "
            f"({result.file_bytes / 2**20:.1f} MB)."
        )
