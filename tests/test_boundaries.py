"""The engine and the ML code load without Django, so workers and notebooks can run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE = [
    "conversions.engine.images",
    "conversions.engine.tracing",
    "conversions.engine.render",
    "conversions.engine.quality",
    "conversions.engine.svgclean",
    "conversions.engine.pipeline",
    "conversions.workers",
]
ML = sorted(
    f"aimodels.ml.{path.stem}"
    for path in (ROOT / "aimodels" / "ml").glob("*.py")
    if path.stem != "__init__"
)


def django_modules_after_import(modules: list[str]) -> str:
    """Return the Django modules a fresh interpreter holds after importing `modules`."""
    code = (
        f"import {', '.join(modules)}; import sys; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('django'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_engine_and_workers_import_without_django():
    assert django_modules_after_import(ENGINE) == ""


@pytest.mark.skipif(not ML, reason="aimodels/ml has no modules yet")
def test_aimodels_ml_imports_without_django():
    assert django_modules_after_import(ML) == ""
