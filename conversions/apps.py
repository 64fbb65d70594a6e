from django.apps import AppConfig


class ConversionsConfig(AppConfig):
    name = "conversions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import pre_save

        # metrics connects the receiver that counts and logs every finished conversion; guards
        # keeps NaN and infinity out of the database (a stored record beats a 500).
        from conversions import guards, metrics  # noqa: F401
        from conversions.models import Conversion

        pre_save.connect(guards.scrub_non_finite, sender=Conversion, dispatch_uid="svgai-finite")
