from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    """Measuring the product (tiers, budgets, batches, load): its commands, never the runtime.

    An app only so that `manage.py` finds the benchmark commands; it has no models, and nothing
    in the runtime apps or the core imports it.
    """

    name = "benchmarks"
