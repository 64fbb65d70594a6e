"""URL map: the page, the API under /api/, its schema and docs, the admin and health checks."""

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from conversions import pages
from conversions.errors import allow_methods
from conversions.metrics import metrics_view
from svgai_site.health import HealthView

urlpatterns = [
    # Pages serve GET only; other methods meet a JSON 405 (conversions.errors.allow_methods).
    path("", allow_methods("GET", "HEAD")(pages.home), name="home"),
    # Browsers ask for /favicon.ico whatever the page links; the static file answers (its URL
    # is looked up per request: the manifest of hashed names exists only after collectstatic).
    path(
        "favicon.ico",
        allow_methods("GET", "HEAD")(
            RedirectView.as_view(url=lazy(static, str)("conversions/favicon.ico"))
        ),
    ),
    path("admin/", admin.site.urls),
    path("api/", include("conversions.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        # An HTML page: OPTIONS would render DRF's metadata through a template it has not.
        SpectacularSwaggerView.as_view(url_name="schema", http_method_names=["get", "head"]),
        name="docs",
    ),
    path("health/", HealthView.as_view(), name="health"),
    path("metrics", metrics_view, name="metrics"),
]

handler400 = "conversions.errors.json_bad_request"
handler404 = "conversions.errors.json_not_found"
handler500 = "conversions.errors.json_server_error"
