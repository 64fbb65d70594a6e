"""/health/: django-health-check's view, answering 503 (not 500) when a check fails."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from health_check.views import HealthCheckView

from conversions.errors import json_method_not_allowed

CHECKS = (
    "health_check.checks.Database",
    "health_check.checks.Storage",
    "health_check.checks.Cache",
    "aimodels.health.AIModelsCheck",
    "conversions.health.BrokerCheck",
)


class HealthView(HealthCheckView):
    checks = CHECKS

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        # Exempt from CSRF so that PUT or POST meet the JSON 405, not Django's HTML CSRF page:
        # only GET, HEAD and OPTIONS reach a handler.
        return csrf_exempt(super().as_view(**initkwargs))

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        response = json_method_not_allowed(request, self._allowed_methods())

        async def answer() -> HttpResponse:  # this view is async: its handlers return awaitables
            return response

        return answer()

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = await super().get(request, *args, **kwargs)
        # A failing dependency is "service unavailable" to load balancers, not a server bug.
        if response.status_code == 500:
            response.status_code = 503
        return response
