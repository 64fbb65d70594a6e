"""One error shape for the whole API: {"success": false, "error": "...", "errors": {...}}.

Clients read `error` (one sentence saying what is wrong and how to fix it); tools can still see
each field's messages in `errors`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, JsonResponse
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


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
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled error in %s", context.get("view"))
        return Response(
            {"success": False, "error": "Internal error; it has been logged. Please retry."},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    detail = response.data
    body: dict[str, Any] = {"success": False}
    if isinstance(detail, dict) and set(detail) == {"detail"}:
        body["error"] = str(detail["detail"])
    else:
        body["error"] = " ".join(_flatten(detail)) or "Invalid request."
        body["errors"] = detail
    extra = getattr(exc, "extra", None)
    if isinstance(extra, dict):
        body.update(extra)
    response.data = body
    return response


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Return a JSON 404 for paths that match no route."""
    return JsonResponse(
        {"success": False, "error": f"No such endpoint: {request.path}. See /api/docs/."},
        status=404,
    )


def json_server_error(request: HttpRequest) -> JsonResponse:
    """Return a JSON 500; the traceback is in the logs."""
    return JsonResponse(
        {"success": False, "error": "Internal error; it has been logged. Please retry."},
        status=500,
    )
