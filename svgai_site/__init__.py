"""svgai's Django project; the Celery app loads with it so tasks find their configuration."""

from svgai_site.celery import app as celery_app

__all__ = ("celery_app",)
