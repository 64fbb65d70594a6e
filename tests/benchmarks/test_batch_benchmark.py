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


def test_findings_compare_worker_counts_and_the_local_pool():
    def run(label: str, processes: int, per_min: float, overhead_ms: float) -> bench.Run:
        return bench.Run(
            label=label, batch_id="b", processes=processes, items=10, done=10, failed=0,
            wall_s=1.0, logos_per_min=per_min, convert_s=1.0, overhead_ms=overhead_ms,
            records=10, duplicates=0, stuck=0, load=1.0, submit_ms=2.0,
        )  # fmt: skip

    lines = bench.findings(
        [
            run("local pool (no broker)", 1, 30.0, 50.0),
            run("Celery, 1 worker process(es)", 1, 30.0, 80.0),
            run("Celery, 2 worker process(es)", 2, 54.0, 90.0),
        ]
    )

    assert lines == [
        "1 → 2 worker processes: 1.80× logos per minute.",
        "Submitting: 2.0 ms per logo (validate, store, queue).",
        "Broker overhead per item against the local pool: +30.0 ms (80.0 vs 50.0 ms of wall "
        "time per item beyond the conversion itself).",
    ]
