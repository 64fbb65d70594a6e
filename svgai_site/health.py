"""/health/: django-health-check's view, answering 503 (not 500) when a check fails."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from health_check.views import HealthCheckView

CHECKS = (
    "health_check.checks.Database",
    "health_check.checks.Storage",
    "health_check.checks.Cache",
    "aimodels.health.AIModelsCheck",
    "conversions.health.BrokerCheck",
)


class HealthView(HealthCheckView):
    checks = CHECKS

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = await super().get(request, *args, **kwargs)
        # A failing dependency is "service unavailable" to load balancers, not a server bug.
        if response.status_code == 500:
            response.status_code = 503
        return response
