"""The batch benchmark's figures, on a batch run inline (the Celery runs need workers: CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import batches as bench
from conversions import batches
from tests.conftest import draw_logo

pytestmark = pytest.mark.django_db


def test_measure_reports_a_finished_batch(tmp_path, inline_batches):
    for size in (40, 56, 72):
        (tmp_path / f"logo-{size}.png").write_bytes(draw_logo(size))
    paths = batches.folder_images(tmp_path)

    batch, submit_s = bench.run_batch(
        paths, tmp_path, batches.BatchOptions(kind="legacy"), runner="local"
    )
    run = bench.measure(batch, "local", 1, submit_s=submit_s)

    assert run.items == run.done == run.records == 3
    assert run.exactly_once
    assert run.failed == run.stuck == run.duplicates == 0
    assert run.wall_s > 0
    wall = (batch.finished_at - batch.started_at).total_seconds()
    assert run.logos_per_min == pytest.approx(3 * 60 / wall, abs=0.1)
    assert run.convert_s > 0
    assert run.submit_ms > 0
    assert "| local | 1 | 3 | 3 | 0 |" in bench.table([run])


def test_spread_takes_evenly_from_the_sorted_list():
    paths = [Path(f"{i:03}.png") for i in range(10)]

    assert bench.spread(paths, 5) == paths[::2]
    assert bench.spread(paths, 20) == paths
