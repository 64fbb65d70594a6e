"""HTTP views of the conversion API and the upload page. Thin: validate, call a service, answer."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import django_filters
from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conversions import exports, health, limits, permissions, reports, services
from conversions.design import DesignRequestSerializer
from conversions.errors import ApiError
from conversions.models import Conversion, Upload
from conversions.parsers import JSONParser
from conversions.serializers import (
    AIConvertRequestSerializer,
    AIConvertResponseSerializer,
    AIHealthSerializer,
    ConversionDetailSerializer,
    ConversionFailedSerializer,
    ConversionSerializer,
    ConvertRequestSerializer,
    ConvertResponseSerializer,
    DownloadRequestSerializer,
    ErrorSerializer,
    ModelStatusSerializer,
    QualityReportSerializer,
    UploadRequestSerializer,
    UploadSerializer,
    brief,
    error_responses,
)
from vectorizer import designer
from vectorizer import exports as formats
from vectorizer.budget import DEFAULT_TIME_BUDGET_S
from vectorizer.images import ImageError
from vectorizer.tracing import CHOICES, DEFAULT_PARAMS, RANGES
from vectorizer.workers import WorkerBusy

FALLBACK_SUGGESTION = '/api/convert {"file_id": "...", "converter": "vtracer"}'


def get_upload(file_id: object, request: Request) -> Upload:
    """Return the upload for a validated file_id, or raise a 404 that says what to do."""
    # Any string that is not a UUID names no upload either: the same 404 as an unknown UUID.
    found = Upload.objects.none()
    if isinstance(file_id, uuid.UUID):
        found = permissions.visible(Upload.objects.all(), request, by_id=True).filter(pk=file_id)
    upload = found.first()
    if upload is None:
        raise exceptions.NotFound(
            f"No such file: no upload has file_id {brief(str(file_id))}; upload the image with "
            "POST /api/upload first."
        )
    return upload


class UploadView(APIView):
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = permissions.UPLOAD_THROTTLES

    @extend_schema(
        # Forms without a file part cannot carry the image: only multipart is documented.
        request={"multipart/form-data": UploadRequestSerializer},
        responses={200: UploadSerializer, **error_responses(400, 401, 403, 413, 415, 429)},
    )
    def post(self, request: Request) -> Response:
        serializer = UploadRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        file = serializer.validated_data["file"]
        quota_key = limits.check_upload_quota(request, file.size)
        owner = replace(permissions.owner_fields(request), quota_key=quota_key)
        try:
            upload, _ = services.store_upload(data=file.read(), filename=file.name, owner=owner)
        except ImageError as exc:
            raise exceptions.ValidationError({"file": [str(exc)]}) from exc
        return Response(UploadSerializer(upload).data)


def check_output_size(upload: Upload, size: formats.OutputSize | None) -> None:
    """Refuse, before converting, a size whose derived side would exceed the limit."""
    if size is None:
        return
    try:
        formats.resolve_box(upload.width, upload.height, size)
    except formats.ExportError as exc:
        raise exceptions.ValidationError({"output_size": [str(exc)]}) from exc


def conversion_response(
    conversion: Conversion,
    serializer_class: type[ConvertResponseSerializer] = ConvertResponseSerializer,
    **context: object,
) -> Response:
    """Return the API's answer for a stored conversion: its SVG and numbers, or 422."""
    if not conversion.succeeded:
        return Response(
            ConversionFailedSerializer(conversion).data,
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    return Response(serializer_class(conversion, context=context).data)


class ConvertView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    throttle_classes = permissions.CONVERT_THROTTLES

    @extend_schema(
        request={"application/json": ConvertRequestSerializer},
        responses={
            200: ConvertResponseSerializer,
            **error_responses(400, 401, 403, 404, 413, 415, 422, 429, 503),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = ConvertRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = get_upload(serializer.validated_data["file_id"], request)
        output_format, output_size = serializer.output()
        check_output_size(upload, output_size)
        limits.check_pixel_budget(upload, "legacy")
        try:
            with limits.conversion_slot(request):
                conversion = services.convert_image(
                    upload=upload,
                    params=serializer.trace_params(),
                    design=serializer.design_options(),
                    owner=permissions.owner_fields(request),
                    timeout=limits.convert_timeout(request),
                )
        except WorkerBusy as exc:
            raise limits.ServerBusy(exc) from exc
        exports.record_output(conversion, output_format, output_size)
        return conversion_response(conversion)


class AIConvertView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    throttle_classes = permissions.CONVERT_THROTTLES

    @extend_schema(
        request={"application/json": AIConvertRequestSerializer},
        responses={
            200: AIConvertResponseSerializer,
            **error_responses(400, 401, 403, 404, 413, 415, 422, 429, 503),
        },
        examples=[
            OpenApiExample(
                "Automatic tier",
                summary="Upload with POST /api/upload first, then pass its file_id",
                value={
                    "file_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                    "tier": "auto",
                    "target_quality": 0.9,
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = AIConvertRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = get_upload(data["file_id"], request)
        output_format, output_size = serializer.output()
        check_output_size(upload, output_size)
        limits.check_pixel_budget(upload, data["tier"])
        try:
            with limits.conversion_slot(request):
                conversion = services.convert_with_ai(
                    upload=upload,
                    tier=data["tier"],
                    target_quality=data["target_quality"],
                    time_budget=data["time_budget"],
                    max_bytes=data["max_bytes"],
                    design=serializer.design_options(),
                    owner=permissions.owner_fields(request),
                    timeout=limits.convert_timeout(request),
                )
        except WorkerBusy as exc:
            raise limits.ServerBusy(exc) from exc
        except services.ModelsUnavailable as exc:
            raise ApiError(
                f"AI conversion is unavailable: {exc}. Use the legacy converter.",
                status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                extra={"fallback_suggestion": FALLBACK_SUGGESTION},
            ) from exc
        exports.record_output(conversion, output_format, output_size)
        return conversion_response(
            conversion, AIConvertResponseSerializer, include_analysis=data["include_analysis"]
        )


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


# The page's vtracer controls: label, and for sliders the step and a hint; ranges, choices and
# defaults come from vectorizer.tracing, so the page offers exactly what the API accepts.
TRACE_SELECTS = (
    ("colormode", "Colour"),
    ("hierarchical", "Layers"),
    ("mode", "Curves"),
)
TRACE_SLIDERS = (
    ("filter_speckle", "Filter speckle (px)", 1, "Drop patches smaller than this."),
    ("color_precision", "Colour precision (bits)", 1, "More bits keep more colours."),
    (
        "layer_difference",
        "Gradient step",
        1,
        "Colour difference between layers; smaller keeps more shades.",
    ),
    ("corner_threshold", "Corner threshold (degrees)", 1, "Smaller angles become corners."),
    (
        "length_threshold",
        "Segment length (px)",
        0.5,
        "Shortest curve segment; larger is smoother and smaller.",
    ),
    ("splice_threshold", "Splice threshold (degrees)", 1, "Angle above which a spline is split."),
    ("max_iterations", "Curve fitting iterations", 1, "How long vtracer refines each curve."),
    (
        "path_precision",
        "Path precision (decimals)",
        1,
        "Decimals kept in coordinates; fewer means smaller files.",
    ),
)


def _trace_controls() -> dict[str, list[dict[str, Any]]]:
    """Return the page's vtracer selects and sliders with the API's ranges and defaults."""
    defaults = DEFAULT_PARAMS.as_dict()
    selects = [
        {"name": name, "label": label, "values": CHOICES[name], "default": defaults[name]}
        for name, label in TRACE_SELECTS
    ]
    sliders = [
        {
            "name": name,
            "label": label,
            "step": step,
            "min": RANGES[name][0],
            "max": RANGES[name][1],
            "default": defaults[name],
            "hint": hint,
        }
        for name, label, step, hint in TRACE_SLIDERS
    ]
    return {"trace_selects": selects, "trace_sliders": sliders}


# The page's colour and shape controls: (name, label, step, hint); ranges come from the API.
DESIGN_NUMBERS = (
    ("max_colors", "Maximum colours", 1, "Empty: as many as the logo needs."),
    ("min_area_px", "Drop specks under (px²)", 1, "Shapes smaller than this area go; 0 keeps all."),
)


def _design_controls() -> dict[str, Any]:
    """Return the page's colour and shape numbers and choices as the API validates them."""
    fields = DesignRequestSerializer().fields
    numbers = [
        {"name": name, "label": label, "step": step, "hint": hint, "field": fields[name]}
        for name, label, step, hint in DESIGN_NUMBERS
    ]
    choices = {"shape_stacking": designer.STACKINGS, "group_by": designer.GROUPINGS}
    return {"design_numbers": numbers, "design_choices": choices}


@ensure_csrf_cookie
def home(request: HttpRequest) -> HttpResponse:
    """Return the converter page, with the real parameter ranges and limits the API applies."""
    ai_fields = AIConvertRequestSerializer().fields
    context = {
        "choices": CHOICES,
        "ranges": RANGES,
        "defaults": DEFAULT_PARAMS.as_dict(),
        **_trace_controls(),
        **_design_controls(),
        "limits": {
            "max_upload_bytes": settings.SVGAI_MAX_UPLOAD_BYTES,
            "max_pixels": settings.SVGAI_MAX_PIXELS,
            "target_quality": ai_fields["target_quality"].default,
            "tier3_budget_s": DEFAULT_TIME_BUDGET_S,
        },
    }
    return render(request, "conversions/home.html", context)


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
