"""`manage.py convert_folder DIR [-o OUT] [--tier ...] [--format svg,pdf]`: a folder as one batch.

The same service as POST /api/batches: Celery workers run the items when CELERY_BROKER_URL is
set (start them with `make worker`), the local pool in this process otherwise. The SVGs and
report.csv land in OUT with the names the batch download uses, one file per --format.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from tqdm import tqdm

from conversions import batches
from conversions.management.options import ConversionCommand, conversion_options
from conversions.models import BatchItem


class Command(ConversionCommand):
    help = "Convert every image of a folder as one batch (Celery with a broker, else local)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path, metavar="DIR")
        parser.add_argument(
            "-o", "--output-dir", type=Path, help="where the files go (default: DIR/svg)"
        )
        parser.add_argument("-r", "--recursive", action="store_true", help="sub-folders too")
        parser.add_argument("--limit", type=int, help="only the first N images (by name)")
        super().add_arguments(parser)

    def convert(self, **options: Any) -> None:
        folder: Path = options["folder"]
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder.")
        paths = batches.folder_images(
            folder, recursive=options["recursive"], limit=options["limit"]
        )
        if not paths:
            raise CommandError(f"{folder} holds no PNG, JPEG, WebP, GIF or BMP images.")
        output: Path = options["output_dir"] or folder / "svg"
        batch_options = conversion_options(options)
        files = batches.folder_files(folder, paths)
        try:
            created = batches.create_batch(files=files, options=batch_options, source=str(folder))
        except batches.BatchRefused as exc:
            raise CommandError(str(exc)) from exc
        batch = created.batch
        for refusal in created.refused:
            self.stderr.write(f"refused {refusal.name}: {refusal.reason}")
        where = "Celery workers" if batch.runner == "celery" else "the local pool"
        self.stdout.write(f"Batch {batch.pk}: {batch.item_count} images on {where}.")
        try:
            batches.dispatch(batch)
        except batches.TransientError as exc:
            raise CommandError(str(exc)) from exc
        bar = tqdm(
            total=batch.item_count,
            desc="Converting",
            unit="logo",
            file=sys.stderr,
            disable=True if options["verbosity"] == 0 else None,  # None: only on a terminal
        )

        def progress(by_status: dict[str, int]) -> None:
            finished = sum(by_status[s] for s in BatchItem.FINISHED)
            bar.update(finished - bar.n)
            bar.set_postfix(failed=by_status["failed"], running=by_status["running"])

        try:
            batches.wait_for(batch, on_progress=progress)
        except KeyboardInterrupt:
            batches.cancel_batch(batch)
            raise CommandError(f"Interrupted: batch {batch.pk} cancelled.") from None
        finally:
            bar.close()
        written = batches.write_folder(batch, output)
        status = batches.batch_status(batch, include_items=False)
        by_status = status["counts"]
        rate = status["throughput"]["items_per_minute"]
        self.stdout.write(
            f"{by_status['done']} converted, {by_status['failed']} failed, "
            f"{len(created.refused)} refused; {rate} logos/min. "
            f"{len(written) - 1} files ({', '.join(batch_options.formats)}) and report.csv in "
            f"{output}."
        )
        if by_status["failed"]:
            raise CommandError(f"{by_status['failed']} image(s) failed: see {output}/report.csv")
