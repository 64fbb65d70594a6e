"""Fast start: commands that never convert load no model; server processes load them at start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str) -> str:
    """Return the stdout of `code` run in a fresh interpreter with the project's settings."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "svgai_site.settings"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_manage_check_imports_no_torch_and_loads_no_model():
    out = run_python(
        "import django, sys; django.setup(); "
        "from django.core.management import call_command; call_command('check'); "
        "from aimodels import registry; "
        "print('torch' in sys.modules, registry.serving(), "
        "any(e.loaded for e in registry.status().values()))"
    )

    assert out == "False None False"


def test_the_wsgi_application_loads_the_models_at_start():
    out = run_python(
        "import svgai_site.wsgi, sys; from aimodels import registry; "
        "print(sorted(n for n, e in registry.status().items() if e.loaded))"
    )

    assert out == "['logo_type', 'quality_predictor']"


def test_a_celery_worker_loads_the_models_before_forking():
    out = run_python(
        "import django; django.setup(); from svgai_site.celery import app; "
        "from celery.signals import worker_init; from aimodels import registry; "
        "worker_init.send(sender=None); "
        "print(sorted(n for n, e in registry.status().items() if e.loaded))"
    )

    assert out == "['logo_type', 'quality_predictor']"
