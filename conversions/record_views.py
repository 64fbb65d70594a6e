"""HTTP views of the conversion records: list, detail, SVG and download in another format."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import django_filters
from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from conversions import exports, limits, permissions
from conversions.errors import ApiError
from conversions.models import Conversion
from conversions.serializers.errors import ErrorSerializer, error_responses
from conversions.serializers.requests import DownloadRequestSerializer
from conversions.serializers.responses import ConversionDetailSerializer, ConversionSerializer
from vectorizer import exports as formats


class ConversionFilter(django_filters.FilterSet):
    date = django_filters.DateFilter(field_name="created_at", lookup_expr="date")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    upload = django_filters.CharFilter(method="filter_upload", label="file_id of an upload")
    tier = django_filters.NumberFilter(field_name="tier", decimal_places=0)  # 0.5 is no tier

    class Meta:
        model = Conversion
        fields = ["kind", "tier", "status", "logo_type", "upload"]

    def is_valid(self) -> bool:
        """Refuse empty values of typed filters (`?status=`): the schema allows none of them."""
        valid = super().is_valid()
        for name, value in (self.data or {}).items():
            typed = name in self.filters and not isinstance(
                self.filters[name], django_filters.CharFilter
            )
            if typed and value == "":
                self.form.add_error(name, "must not be empty; leave the parameter out instead.")
                valid = False
        return valid

    def filter_upload(
        self, queryset: QuerySet[Conversion], name: str, value: str
    ) -> QuerySet[Conversion]:
        """Return the conversions of one upload; an id naming no upload has none (no 400)."""
        try:
            key = uuid.UUID(value)
        except ValueError:
            return queryset.none()
        return queryset.filter(upload_id=key)


@extend_schema_view(
    list=extend_schema(
        responses={200: ConversionSerializer(many=True), **error_responses(400, 401, 403, 404, 429)}
    ),
    retrieve=extend_schema(
        responses={200: ConversionDetailSerializer, **error_responses(401, 403, 404, 429)}
    ),
)
class ConversionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Conversion]
):
    queryset = Conversion.objects.select_related("upload").defer("svg")
    filterset_class = ConversionFilter

    def get_serializer_class(self) -> type[ConversionSerializer]:
        return ConversionDetailSerializer if self.action == "retrieve" else ConversionSerializer

    def get_queryset(self) -> QuerySet[Conversion]:
        # One record by its unguessable id: anonymous ones too; a list: the caller's own.
        if self.action in ("retrieve", "svg"):
            return permissions.visible(
                Conversion.objects.select_related("upload"), self.request, by_id=True
            )
        return permissions.visible(super().get_queryset(), self.request)

    @extend_schema(
        responses={(200, "image/svg+xml"): bytes, **error_responses(400, 401, 403, 404, 429)}
    )
    @action(detail=True, methods=["get"])
    def svg(self, request: Request, pk: str | None = None) -> HttpResponse:
        conversion = self.get_object()
        if not conversion.succeeded:
            raise exceptions.NotFound(f"Conversion {pk} failed and has no SVG: {conversion.error}")
        response = HttpResponse(conversion.svg, content_type="image/svg+xml")
        filename = exports.download_name(conversion, "svg")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        # Served SVG is sanitised already; the CSP is a second fence against script in it.
        response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
        return response


class FormatIsAFileFormat(DefaultContentNegotiation):
    """`?format=` names the file to download here, not one of DRF's renderers.

    The file is the answer whatever the Accept header says (`Accept: application/pdf` is what
    Swagger sends); only errors are rendered, always as JSON.
    """

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        json_renderer = next(r for r in renderers if r.format == "json")
        return json_renderer, json_renderer.media_type


class ConversionDownloadView(APIView):
    content_negotiation_class = FormatIsAFileFormat

    @extend_schema(
        parameters=[DownloadRequestSerializer],
        responses={
            (200, "image/svg+xml"): OpenApiTypes.BINARY,
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "application/postscript"): OpenApiTypes.BINARY,
            (200, "image/vnd.dxf"): OpenApiTypes.BINARY,
            (200, "image/png"): OpenApiTypes.BINARY,
            **error_responses(400, 401, 403, 404, 429),
            409: OpenApiResponse(ErrorSerializer, description="The conversion is still running."),
        },
        description="The conversion's SVG, or a PDF, EPS, DXF or PNG derived from it, sized "
        "by width/height in unit at dpi (default: the size recorded with the conversion).",
    )
    def get(self, request: Request, pk: str) -> HttpResponse:
        query = DownloadRequestSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        visible = permissions.visible(
            Conversion.objects.select_related("upload"), request, by_id=True
        )
        conversion = visible.filter(pk=pk).first()
        if conversion is None:
            raise exceptions.NotFound(f"No such conversion: {pk}.")
        if conversion.status == Conversion.Status.RUNNING:
            raise ApiError(
                f"Conversion {pk} is still running; download it once it has finished.",
                status_code=status.HTTP_409_CONFLICT,
            )
        if not conversion.succeeded:
            raise exceptions.NotFound(f"Conversion {pk} failed and has no SVG: {conversion.error}")
        data = query.validated_data
        try:
            # A large PNG takes seconds: it holds one of an anonymous address's slots too.
            with limits.conversion_slot(request):
                file = exports.download(conversion, data["format"], data["size"], data.get("dpi"))
        except formats.ExportError as exc:
            raise exceptions.ValidationError({"format": [str(exc)]}) from exc
        response = HttpResponse(file.content, content_type=file.content_type)
        response["Content-Disposition"] = f'attachment; filename="{file.filename}"'
        response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
        return response
