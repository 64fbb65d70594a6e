"""The AI layer as a django-health-check check, so /health/ reports it beside the database."""

from __future__ import annotations

import dataclasses

from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

from aimodels import registry


@dataclasses.dataclass
class AIModelsCheck(HealthCheck):
    def run(self) -> None:
        missing = [name for name, entry in registry.status().items() if not entry.loaded]
        if missing:
            raise ServiceUnavailable(f"models not loaded: {', '.join(sorted(missing))}")
