"""One error shape for the whole API: {"success": false, "error": "...", "errors": {...}}.

Clients read `error` (one sentence saying what is wrong and how to fix it); tools can still see
each field's messages in `errors`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    DisallowedHost,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An error with a status, a message and extra top-level fields for the body."""

    def __init__(self, detail: str, *, status_code: int, extra: Mapping[str, object] | None = None):
        super().__init__(detail)
        self.status_code = status_code
        self.extra = extra or {}


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def request_limit_message(exc: Exception) -> tuple[str, int] | None:
    """Return (message, status) for Django's request limits and refusals, else None."""
    if isinstance(exc, RequestDataTooBig):
        return (
            f"The request body is too large: the limit is {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} "
            "bytes outside files. Send the image as a multipart file to POST /api/upload.",
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, TooManyFieldsSent):
        return (
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields; "
            "send only the documented options.",
            status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, TooManyFilesSent):
        return (
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files; "
            "send one file per upload.",
            status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DisallowedHost):
        return (
            "The Host header names no site served here; call the API at its own address.",
            status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, SuspiciousOperation):
        return "The request was refused as malformed.", status.HTTP_400_BAD_REQUEST
    if isinstance(exc, RecursionError):
        return (
            "The request nests too deeply; send a flat JSON object of the documented options.",
            status.HTTP_400_BAD_REQUEST,
        )
    return None


def _translate(exc: Exception) -> Exception:
    """Return Django's and Python's request-shaped errors as DRF exceptions with our messages."""
    found = request_limit_message(exc)
    if found is None:
        return exc
    message, code = found
    if code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        return PayloadTooLarge(message)
    return exceptions.ParseError(message)


def _flatten(detail: Any, prefix: str = "") -> list[str]:
    """Return 'field: message' lines from DRF's nested error detail."""
    if isinstance(detail, dict):
        lines: list[str] = []
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else f"{prefix}{key}"
            lines.extend(_flatten(value, f"{name}." if name else ""))
        return [line if not line.startswith(": ") else line[2:] for line in lines]
    if isinstance(detail, list):
        return [line for item in detail for line in _flatten(item, prefix)]
    field = prefix.rstrip(".")
    return [f"{field}: {detail}" if field else str(detail)]


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Return every API error as {"success": false, "error": ..., "errors": ...}."""
    exc = _translate(exc)
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled error in %s", context.get("view"))
        return Response(
            {"success": False, "error": "Internal error; it has been logged. Please retry."},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    detail = response.data
    body: dict[str, object] = {"success": False}
    if isinstance(detail, dict) and set(detail) == {"detail"}:
        body["error"] = str(detail["detail"])
    else:
        body["error"] = " ".join(_flatten(detail)) or "Invalid request."
        body["errors"] = detail
    extra = getattr(exc, "extra", None)
    if isinstance(extra, Mapping):
        body.update(extra)
    response.data = body
    request = context.get("request")
    if request is not None and not isinstance(
        getattr(request, "accepted_renderer", None), JSONRenderer
    ):
        # Views that render YAML or HTML (the schema, the docs) answer errors in JSON too.
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
    return response


def json_method_not_allowed(request: HttpRequest, allowed: Iterable[str]) -> JsonResponse:
    """Return the API's JSON 405 for a method a route does not serve, with its Allow header."""
    methods = ", ".join(allowed)
    response = JsonResponse(
        {
            "success": False,
            "error": f"Method {request.method} is not allowed on {request.path}; use {methods}.",
        },
        status=405,
    )
    response["Allow"] = methods
    return response


_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def allow_methods(
    *methods: str,
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., Any]]:
    """Serve only these safe methods; answer any other with a JSON 405 and an Allow header.

    The view is exempt from CSRF so that a PUT or POST meets the 405 rather than Django's HTML
    CSRF page: it is safe because no unsafe method ever reaches the view.
    """
    if not set(methods) <= _SAFE:
        raise ValueError(f"allow_methods serves safe methods only, not {sorted(methods)}")

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method not in methods:
                return json_method_not_allowed(request, methods)
            return view(request, *args, **kwargs)

        return csrf_exempt(wrapper)

    return decorate


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Return a JSON 404 for paths that match no route."""
    return JsonResponse(
        {"success": False, "error": f"No such endpoint: {request.path}. See /api/docs/."},
        status=404,
    )


def json_bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Return a 400 outside DRF views (a bad Host header, ...): JSON under /api/, else HTML."""
    if not request.path.startswith("/api/"):
        return defaults.bad_request(request, exception)
    found = request_limit_message(exception)
    message, code = found or ("The request was refused as malformed.", 400)
    return JsonResponse({"success": False, "error": message}, status=code)


def json_server_error(request: HttpRequest) -> JsonResponse:
    """Return a JSON 500; the traceback is in the logs."""
    return JsonResponse(
        {"success": False, "error": "Internal error; it has been logged. Please retry."},
        status=500,
    )
