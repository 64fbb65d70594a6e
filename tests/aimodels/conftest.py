"""Fixtures of the AI layer's tests: the registry with fake models installed."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from aimodels import registry

_versions = itertools.count(1)


class RegistryControl:
    """Install, replace or remove models in aimodels.registry for one test."""

    def install(self, name: str, model: Any, version: str | None = None) -> None:
        registry.install(name, model, version or f"fake{next(_versions)}")

    def remove(self, name: str) -> None:
        registry.remove(name, f"{name} removed for this test")


@pytest.fixture
def registry_snapshot():
    """Restore aimodels.registry (loaded models and the watched folder) after the test."""
    with registry.override():
        yield registry


@pytest.fixture
def ai_models(registry_snapshot, fake_predictor, fake_classifier) -> RegistryControl:
    """Install the fake predictor and classifier in the registry for one test.

    Versions are fresh per test, so the analysis cache (keyed by versions) never serves a
    previous test's analysis; installed models are not watched on disk, so weights written by
    a training run elsewhere cannot reload the registry mid-test.
    """
    control = RegistryControl()
    control.install("quality_predictor", fake_predictor)
    control.install("logo_type", fake_classifier)
    return control
