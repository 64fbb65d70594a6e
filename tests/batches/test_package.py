"""The batches room: one job per module, none of them large, and no import circle through it.

Today's circle was `batches` ↔ `tasks` (the task ran `run_item`, dispatch imported the task
module back), and `tasks` → `recovery` → `batches` around it; the runner protocol ends it:
`tasks` imports the runner, and only `lifecycle.runner_for` imports `tasks`.
"""

from __future__ import annotations

from tests.test_boundaries import ROOT, imported_modules, source_modules

MAX_LINES = 400


def import_graph() -> dict[str, set[str]]:
    """Return each first-party module's first-party imports (lazy ones too)."""
    modules = dict(source_modules())
    return {
        module: {name for name in imported_modules(path) if name in modules and name != module}
        for module, path in modules.items()
    }


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def is_batch_module(module: str) -> bool:
    return module == "conversions.tasks" or module.startswith("conversions.batches")


def test_circles_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_batches_and_their_celery_task_import_in_no_circle():
    through_batches = [c for c in circles(import_graph()) if any(map(is_batch_module, c))]

    assert through_batches == []


def test_batches_is_a_package_of_modules_under_400_lines():
    room = sorted((ROOT / "conversions" / "batches").glob("*.py"))
    sizes = {path.name: len(path.read_text().splitlines()) for path in room}

    assert {"intake.py", "lifecycle.py", "runner.py", "status.py", "export.py"} <= set(sizes)
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
