"""The database edge: no NaN or infinity is ever stored (PostgreSQL's jsonb and SQLite's JSON
refuse them, so one would turn a finished conversion into a 500 and lose its record).

Every Conversion passes `scrub_non_finite` before it is saved: non-finite floats in its JSON
fields become null, in its float fields null (or 0 where the column needs a value), and each
replacement is logged, so a model that misbehaves shows in the logs instead of failing requests.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
from django.db import models

logger = logging.getLogger(__name__)


def finite(value: Any) -> Any:
    """Return `value` with NaN and infinities (nested in dicts, lists, tuples) as None.

    NumPy scalars and arrays become plain Python values, which JSON columns can store.
    """
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def scrub_non_finite(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    """Replace non-finite numbers in a record's float and JSON fields before it is saved."""
    for field in instance._meta.concrete_fields:
        if not isinstance(field, (models.JSONField, models.FloatField)):
            continue
        value = getattr(instance, field.attname)
        if not _has_non_finite(value):
            continue
        logger.warning(
            "%s %s: non-finite number in %s stored as null",
            sender.__name__,
            instance.pk,
            field.name,
        )
        clean = finite(value)
        if isinstance(field, models.FloatField) and clean is None and not field.null:
            clean = 0.0
        setattr(instance, field.attname, clean)


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, (float, np.floating)):
        return not math.isfinite(value)
    if isinstance(value, np.ndarray):
        return bool(value.dtype.kind == "f" and not np.isfinite(value).all())
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_non_finite(v) for v in value)
    return False
