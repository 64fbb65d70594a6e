"""Fixtures of the AI layer's tests: the registry with fake models installed."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest

_versions = itertools.count(1)


@dataclass
class RegistryControl:
    """Install, replace or remove models in aimodels.registry for one test."""

    def install(self, name: str, model: Any, version: str | None = None) -> None:
        from aimodels import registry

        kind = registry.MODELS[name][0]
        registry._models[name] = registry.LoadedModel(
            name=name, kind=kind, version=version or f"fake{next(_versions)}", model=model
        )

    def remove(self, name: str) -> None:
        from aimodels import registry

        kind = registry.MODELS[name][0]
        registry._models[name] = registry.LoadedModel(
            name=name, kind=kind, error=f"{name} removed for this test"
        )


@pytest.fixture
def registry_snapshot():
    """Restore aimodels.registry (loaded models and the watched folder) after the test."""
    from aimodels import registry

    models, state = dict(registry._models), dict(registry._state)
    yield registry
    with registry._lock:
        registry._models.clear()
        registry._models.update(models)
        registry._state.clear()
        registry._state.update(state)


@pytest.fixture
def ai_models(registry_snapshot, fake_predictor, fake_classifier) -> RegistryControl:
    """Install the fake predictor and classifier in the registry for one test.

    Versions are fresh per test, so the analysis cache (keyed by versions) never serves a
    previous test's analysis; the watched folder is unset, so weights written by a training
    run elsewhere cannot reload the registry mid-test.
    """
    registry_snapshot._state["dir"] = None
    control = RegistryControl()
    control.install("quality_predictor", fake_predictor)
    control.install("logo_type", fake_classifier)
    return control
