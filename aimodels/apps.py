from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AimodelsConfig(AppConfig):
    name = "aimodels"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from aimodels import signals

        # ready() runs for every manage.py command, so it loads no model: server processes do
        # at start (svgai_site.wsgi, svgai_site.celery), anything else on first registry.get().
        post_migrate.connect(signals.sync_model_versions, sender=self)
