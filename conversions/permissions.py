"""Who may see what: owners of uploads and conversions, API access, cross-site refusal, throttles.

A user (token or session) owns what they made. An anonymous caller owns what it made through
an unguessable client id kept in a signed cookie (only a hash is stored); a script that keeps no
cookies still reaches its upload and conversion by their random UUIDs, which are capabilities:
anonymous records can be fetched by id, but listings show only the caller's own, and records a
user made are never visible to anyone else (staff see everything).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, permissions, throttling
from rest_framework.request import Request

from conversions.owners import Owner

if TYPE_CHECKING:  # rest_framework.views loads this module through its settings
    from rest_framework.views import APIView

# A model with an owner and a client key (Conversion, Upload, Batch): see visible().
_Owned = TypeVar("_Owned", bound=Model)

CLIENT_COOKIE = "svgai_client"
_COOKIE_SALT = "svgai.client"
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class _ClientRequest(HttpRequest):
    """The attributes client_key caches on a request: declared for mypy, never instantiated."""

    svgai_client: str
    svgai_client_new: bool


def _http(request: HttpRequest | Request) -> HttpRequest:
    return request._request if isinstance(request, Request) else request


def _digest(value: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:64]


def client_key(request: HttpRequest | Request, *, create: bool = False) -> str:
    """Return the hash of the anonymous caller's client id ("" when it has none and not create).

    With `create`, a caller without an id gets one, sent back as a cookie by ClientIdMiddleware.
    """
    http = cast(_ClientRequest, _http(request))
    raw = getattr(http, "svgai_client", None)
    if raw is None:
        raw = http.get_signed_cookie(CLIENT_COOKIE, default=None, salt=_COOKIE_SALT) or ""
        http.svgai_client = raw
    if not raw and create:
        raw = http.svgai_client = secrets.token_urlsafe(24)
        http.svgai_client_new = True
    return _digest(raw) if raw else ""


def owner_fields(request: HttpRequest | Request) -> Owner:
    """Return the owner of a record the caller creates now."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Owner(user=user)
    return Owner(client=client_key(request, create=True))


def quota_key(request: Request) -> str:
    """Return the key an upload counts against: the user, else the caller's address (hashed)."""
    user = request.user
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{_digest(_ident(request))[:40]}"


def _ident(request: Request) -> str:
    """Return the caller's address as DRF's throttles see it (SVGAI_NUM_PROXIES trusted)."""
    return throttling.BaseThrottle().get_ident(request)


def visible(
    queryset: QuerySet[_Owned], request: HttpRequest | Request, *, by_id: bool = False
) -> QuerySet[_Owned]:
    """Return the rows of `queryset` the caller may see.

    `by_id`: the caller names one row by its UUID, which also reaches anonymous rows.
    """
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return queryset
    if user is not None and user.is_authenticated:
        mine = Q(owner=user)
    else:
        key = client_key(request)
        mine = Q(owner__isnull=True, client=key) if key else Q(pk__in=[])
    if by_id:
        mine |= Q(owner__isnull=True)
    return queryset.filter(mine)


def may_see(obj: Model, request: HttpRequest | Request) -> bool:
    """Return whether the caller may see one record it named by id."""
    return visible(type(obj)._default_manager.filter(pk=obj.pk), request, by_id=True).exists()


class ApiAccess(permissions.BasePermission):
    """Anonymous callers are welcome unless SVGAI_REQUIRE_AUTH is on."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not settings.SVGAI_REQUIRE_AUTH or (request.user and request.user.is_authenticated):
            return True
        raise exceptions.NotAuthenticated(
            "Authentication required: send 'Authorization: Token <key>' (an operator creates "
            "one with `manage.py drf_create_token <username>` or in the admin)."
        )


class _RateFromSettings(throttling.SimpleRateThrottle):
    """A throttle whose rate is read from SVGAI_THROTTLE_RATES at request time ('' = off)."""

    scope: str  # each throttle below names its entry in SVGAI_THROTTLE_RATES

    def __init__(self) -> None:  # SimpleRateThrottle reads its rate here; we read it per request
        pass

    def allow_request(self, request: Request, view: APIView) -> bool:
        self.rate = settings.SVGAI_THROTTLE_RATES.get(self.scope) or None
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if super().allow_request(request, view):
            return True
        from conversions import metrics

        metrics.rejected("throttled")
        return False


class _AnonThrottle(_RateFromSettings):
    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class _UserThrottle(_RateFromSettings):
    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class UploadAnonThrottle(_AnonThrottle):
    scope = "upload_anon"


class UploadUserThrottle(_UserThrottle):
    scope = "upload_user"


class ConvertAnonThrottle(_AnonThrottle):
    scope = "convert_anon"


class ConvertUserThrottle(_UserThrottle):
    scope = "convert_user"


class _ReadOnly(_RateFromSettings):
    """Count only reads: a view's writes have throttles of their own."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        if request.method not in permissions.SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class ReadAnonThrottle(_ReadOnly, _AnonThrottle):
    scope = "read_anon"


class ReadUserThrottle(_ReadOnly, _UserThrottle):
    scope = "read_user"


class ReportAnonThrottle(_ReadOnly, _AnonThrottle):
    scope = "report_anon"


class ReportUserThrottle(_ReadOnly, _UserThrottle):
    scope = "report_user"


UPLOAD_THROTTLES = [UploadAnonThrottle, UploadUserThrottle]
CONVERT_THROTTLES = [ConvertAnonThrottle, ConvertUserThrottle]
# Every API read (REST_FRAMEWORK's default); reports, which aggregate, have a stricter one too.
READ_THROTTLES = [ReadAnonThrottle, ReadUserThrottle]
REPORT_THROTTLES = [*READ_THROTTLES, ReportAnonThrottle, ReportUserThrottle]


def _same_site(origin: str, request: HttpRequest) -> bool:
    parts = urlsplit(origin)
    if not parts.scheme or not parts.netloc:
        return False
    try:
        host = request.get_host()
    except Exception:  # a bad Host header: nothing can match it
        return False
    return parts.netloc == host and parts.scheme == request.scheme


class CrossSiteMiddleware:
    """Refuse unsafe API requests sent from another site's page.

    Browsers send `Origin` with every cross-origin POST (forms included); scripts and
    same-origin pages either send none or this site's own. Origins in SVGAI_ALLOWED_ORIGINS
    (whose CORS headers django-cors-headers adds) may call the API too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in _UNSAFE and request.path.startswith("/api/"):
            origin = request.headers.get("Origin")
            if origin is None and request.headers.get("Sec-Fetch-Site") == "cross-site":
                origin = "null"
            if origin is not None and not self._allowed(origin, request):
                from conversions import metrics

                metrics.rejected("cross_site")
                shown = origin[:100]
                return JsonResponse(
                    {
                        "success": False,
                        "error": f"Cross-site request refused: origin {shown} may not call this "
                        "API. Call it from this site, from a script, or ask the operator to add "
                        "your origin to SVGAI_ALLOWED_ORIGINS.",
                    },
                    status=403,
                )
        return self.get_response(request)

    @staticmethod
    def _allowed(origin: str, request: HttpRequest) -> bool:
        return origin in settings.SVGAI_ALLOWED_ORIGINS or _same_site(origin, request)


class ClientIdMiddleware:
    """Send a new anonymous caller its client id (a signed cookie) once it owns something."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, "svgai_client_new", False):
            response.set_signed_cookie(
                CLIENT_COOKIE,
                cast(_ClientRequest, request).svgai_client,
                salt=_COOKIE_SALT,
                max_age=settings.SVGAI_RETENTION_DAYS * 86400 or None,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
