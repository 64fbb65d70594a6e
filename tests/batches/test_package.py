"""The batches room: one job per module, none of them large, and no import circle through it.

Today's circle was `batches` ↔ `tasks` (the task ran `run_item`, dispatch imported the task
module back), and `tasks` → `recovery` → `batches` around it; the runner protocol ends it:
`tasks` imports the runner, and only `lifecycle.runner_for` imports `tasks`.
"""

from __future__ import annotations

from tests.test_boundaries import ROOT, circles, import_graph

MAX_LINES = 400


def is_batch_module(module: str) -> bool:
    return module == "conversions.tasks" or module.startswith("conversions.batches")


def test_batches_and_their_celery_task_import_in_no_circle():
    through_batches = [c for c in circles(import_graph()) if any(map(is_batch_module, c))]

    assert through_batches == []


def test_batches_is_a_package_of_modules_under_400_lines():
    room = sorted((ROOT / "conversions" / "batches").glob("*.py"))
    sizes = {path.name: len(path.read_text().splitlines()) for path in room}

    assert {"intake.py", "lifecycle.py", "runner.py", "status.py", "export.py"} <= set(sizes)
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
