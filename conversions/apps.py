from django.apps import AppConfig


class ConversionsConfig(AppConfig):
    name = "conversions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects the receiver that counts and logs every finished conversion.
        from conversions import metrics  # noqa: F401
