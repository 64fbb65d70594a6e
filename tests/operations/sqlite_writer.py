"""A command-line writer for test_sqlite_concurrency: many short transactions, as commands make.

Run as `python manage.py shell -c "import tests.operations.sqlite_writer as w; w.main(N)"` beside
a live server on the same SQLite file. Each transaction reads, then writes (as services do when
they look for a twin upload and then save one): with SQLite's default deferred transactions, a
reader that turns writer while another process writes fails at once with "database is locked".
"""

from __future__ import annotations

import io
import os

from django.db import transaction
from PIL import Image

from conversions import services
from conversions.models import Conversion, Upload


def _png(n: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (n % 256, (n // 256) % 256, os.getpid() % 256)).save(buffer, "PNG")
    return buffer.getvalue()


def main(count: int) -> None:
    for n in range(count):
        with transaction.atomic():
            Upload.objects.count()
            upload, _ = services.store_upload(data=_png(n), filename=f"writer-{n}.png")
            Conversion.objects.create(
                upload=upload, status=Conversion.Status.SUCCEEDED, svg="<svg/>"
            )
    print(f"wrote {count}")
