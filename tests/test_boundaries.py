"""Imports flow one way: conversions → aimodels → vectorizer, and the pure core has no Django.

`vectorizer` (decode, prepare, trace, clean, measure, features, candidates, tiers, routing) is
what a worker process, a Celery task, a benchmark or a notebook runs, so it imports neither
Django nor torch. `aimodels` owns model files, the registry and training; its `ml` package is
torch without Django. `conversions` owns uploads, records, the API and the pipeline that ties
them together, so it is the only runtime app that may import both others. `benchmarks`
measures the product from outside: it may import the runtime, and nothing imports it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package → first-party packages it may import (besides itself)
ALLOWED = {
    "vectorizer": set(),
    "aimodels.ml": {"vectorizer"},
    "aimodels": {"vectorizer", "aimodels.ml"},
    "conversions": {"vectorizer", "aimodels", "aimodels.ml", "svgai_site"},
    "svgai_site": {"vectorizer", "aimodels", "aimodels.ml", "conversions"},
    "benchmarks": {"vectorizer", "aimodels", "aimodels.ml", "conversions"},
}
FIRST_PARTY = ("vectorizer", "aimodels", "conversions", "svgai_site", "benchmarks")
# Third-party packages a layer must never import.
FORBIDDEN = {
    "vectorizer": {"django", "rest_framework", "torch", "celery"},
    "aimodels.ml": {"django", "rest_framework", "celery"},
}


def package_of(module: str) -> str | None:
    """Return the layer a dotted module name belongs to (aimodels.ml before aimodels)."""
    if module == "aimodels.ml" or module.startswith("aimodels.ml."):
        return "aimodels.ml"
    top = module.split(".")[0]
    return top if top in FIRST_PARTY else None


def source_modules() -> list[tuple[str, Path]]:
    """Return (dotted name, path) for every first-party module outside migrations."""
    found = []
    for top in FIRST_PARTY:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found.append((dotted.removesuffix(".__init__"), path))
    return found


def imported_modules(path: Path) -> set[str]:
    """Return every module named by an import statement in a file (lazy ones too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def boundary_violations() -> list[str]:
    """Return 'module imports other' for each import against the direction."""
    bad = []
    for module, path in source_modules():
        layer = package_of(module)
        assert layer is not None
        for name in sorted(imported_modules(path)):
            target = package_of(name)
            top = name.split(".")[0]
            if target is not None and target != layer and target not in ALLOWED[layer]:
                bad.append(f"{module} imports {name}")
            if top in FORBIDDEN.get(layer, set()):
                bad.append(f"{module} imports {name}")
    return sorted(set(bad))


def test_imports_flow_one_way():
    assert boundary_violations() == []


def test_boundary_check_sees_a_wrong_way_import(tmp_path):
    wrong = tmp_path / "wrong.py"
    wrong.write_text("from conversions import services\nimport torch\n")

    assert imported_modules(wrong) == {"conversions", "conversions.services", "torch"}
    assert package_of("conversions.services") not in ALLOWED["vectorizer"]


def test_the_benchmarks_are_checked_and_no_runtime_layer_may_import_them():
    assert "benchmarks.tiers" in {module for module, _ in source_modules()}
    assert package_of("benchmarks.tiers") == "benchmarks"
    assert all("benchmarks" not in allowed for allowed in ALLOWED.values())


def loaded_after_import(modules: list[str], prefixes: tuple[str, ...]) -> str:
    """Return the modules starting with `prefixes` a fresh interpreter holds after `modules`."""
    code = (
        f"import {', '.join(modules)}; import sys; "
        f"print(' '.join(sorted(m for m in sys.modules if m.startswith({prefixes!r}))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _modules(layer: str) -> list[str]:
    return [m for m, _ in source_modules() if package_of(m) == layer and m != layer]


def test_vectorizer_loads_without_django_or_torch():
    assert loaded_after_import(_modules("vectorizer"), ("django", "torch")) == ""


@pytest.mark.skipif(not _modules("aimodels.ml"), reason="aimodels/ml has no modules yet")
def test_aimodels_ml_loads_without_django():
    assert loaded_after_import(_modules("aimodels.ml"), ("django",)) == ""


def test_the_request_path_does_not_load_the_training_module():
    # Serving builds the predictor's inputs with aimodels.ml.inputs; training (dataset sweeps,
    # fitting) is for commands only.
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
        "'svgai_site.settings'); django.setup(); import conversions.views, conversions.services; "
        "import sys; print('aimodels.ml.training' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


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


def test_circles_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circles_anywhere():
    # Lazy imports count: a circle hidden in a function is still two modules that cannot be
    # understood (or moved) one without the other.
    assert circles(import_graph()) == []
