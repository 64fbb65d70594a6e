from django.urls import path

from aimodels import views

urlpatterns = [
    path("model-status", views.ModelStatusView.as_view(), name="model-status"),
    path("ai-health", views.AIHealthView.as_view(), name="ai-health"),
    path("reports/quality", views.QualityReportView.as_view(), name="quality-report"),
]
