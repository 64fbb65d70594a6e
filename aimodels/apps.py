from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate


class AimodelsConfig(AppConfig):
    name = "aimodels"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from aimodels import registry, signals

        # ready() runs for every manage.py command, so read files here, never the database.
        registry.load_all(settings.SVGAI_MODELS_DIR)
        post_migrate.connect(signals.sync_model_versions, sender=self)
