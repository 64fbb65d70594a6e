"""HTTP views that report on the service: model status, AI health and the quality report."""

from __future__ import annotations

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conversions import health, permissions, reports
from conversions.models import Conversion
from conversions.serializers.errors import error_responses
from conversions.serializers.reports import (
    AIHealthSerializer,
    ModelStatusSerializer,
    QualityReportSerializer,
)


class ModelStatusView(APIView):
    @extend_schema(
        responses={
            200: ModelStatusSerializer,
            503: OpenApiResponse(ModelStatusSerializer, description="A model is not loaded."),
            **error_responses(401, 403, 429),
        }
    )
    def get(self, request: Request) -> Response:
        body = health.model_status()
        code = (
            status.HTTP_200_OK if body["models_available"] else status.HTTP_503_SERVICE_UNAVAILABLE
        )
        return Response(body, status=code)


class AIHealthView(APIView):
    @extend_schema(
        responses={
            200: AIHealthSerializer,
            503: OpenApiResponse(AIHealthSerializer, description="AI conversion cannot run."),
            **error_responses(401, 403, 429),
        }
    )
    def get(self, request: Request) -> Response:
        # Performance counts the caller's own conversions; hosts and errors are for staff.
        user = request.user
        body, code = health.ai_health(
            scope=permissions.visible(Conversion.objects.all(), request),
            details=bool(user and user.is_authenticated and user.is_staff),
        )
        return Response(body, status=code)


class QualityReportView(APIView):
    throttle_classes = permissions.REPORT_THROTTLES

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "since", OpenApiTypes.DATETIME, description="Only conversions from this moment."
            )
        ],
        responses={200: QualityReportSerializer, **error_responses(400, 401, 403, 429)},
    )
    def get(self, request: Request) -> Response:
        since = None
        raw = request.query_params.get("since")
        if raw is not None:  # an empty value is no date-time either
            try:
                since = parse_datetime(raw)
            except ValueError:  # well formed but impossible, e.g. month 13
                since = None
            if since is None:
                raise exceptions.ValidationError(
                    {"since": ["must be an ISO 8601 date-time, e.g. 2026-11-01T00:00:00Z."]}
                )
            since = reports.in_utc(since)
        # A caller's own conversions (staff: everyone's), like the conversion list.
        scope = permissions.visible(Conversion.objects.all(), request)
        return Response({"success": True, **reports.quality_report(since=since, scope=scope)})
