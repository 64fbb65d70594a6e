from django.urls import path, re_path

from conversions import record_views, report_views, views
from conversions.batches import views as batch_views

conversion_list = record_views.ConversionViewSet.as_view({"get": "list"})
conversion_detail = record_views.ConversionViewSet.as_view({"get": "retrieve"})
conversion_svg = record_views.ConversionViewSet.as_view({"get": "svg"})

_UUID = r"(?P<pk>[0-9a-fA-F-]{36})"

urlpatterns = [
    path("upload", views.UploadView.as_view(), name="upload"),
    path("convert", views.ConvertView.as_view(), name="convert"),
    path("convert-ai", views.AIConvertView.as_view(), name="convert-ai"),
    path("model-status", report_views.ModelStatusView.as_view(), name="model-status"),
    path("ai-health", report_views.AIHealthView.as_view(), name="ai-health"),
    path("reports/quality", report_views.QualityReportView.as_view(), name="quality-report"),
    path("conversions/", conversion_list, name="conversion-list"),
    path("conversions/<uuid:pk>/", conversion_detail, name="conversion-detail"),
    # Both spellings: clients download from /svg; the slash form is what a router would add.
    re_path(r"^conversions/(?P<pk>[0-9a-f-]{36})/svg/?$", conversion_svg, name="conversion-svg"),
    re_path(
        r"^conversions/(?P<pk>[0-9a-f-]{36})/download/?$",
        record_views.ConversionDownloadView.as_view(),
        name="conversion-download",
    ),
    re_path(r"^batches/?$", batch_views.BatchListView.as_view(), name="batch-list"),
    re_path(rf"^batches/{_UUID}/?$", batch_views.BatchDetailView.as_view(), name="batch-detail"),
    re_path(
        rf"^batches/{_UUID}/cancel/?$", batch_views.BatchCancelView.as_view(), name="batch-cancel"
    ),
    re_path(
        rf"^batches/{_UUID}/download/?$",
        batch_views.BatchDownloadView.as_view(),
        name="batch-download",
    ),
]
