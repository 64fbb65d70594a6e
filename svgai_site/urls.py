"""URL map: the page, the API under /api/, its schema and docs, the admin and health checks."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from conversions import views as conversion_views
from conversions.metrics import metrics_view
from svgai_site.health import HealthView

urlpatterns = [
    path("", conversion_views.home, name="home"),
    path("admin/", admin.site.urls),
    path("api/", include("conversions.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("health/", HealthView.as_view(), name="health"),
    path("metrics", metrics_view, name="metrics"),
]

handler404 = "conversions.errors.json_not_found"
handler500 = "conversions.errors.json_server_error"
