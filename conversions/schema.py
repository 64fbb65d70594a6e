"""OpenAPI post-processing: say in the schema what the serializers enforce.

Request serializers with StrictKeysMixin refuse unknown keys (a misspelled option must not pass
silently), so their request bodies get `additionalProperties: false`; without it a client or a
test generator reading the schema would expect extra keys to be accepted.
"""

from __future__ import annotations

from typing import Any

from conversions.serializers import StrictKeysMixin


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def strict_request_bodies(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Mark the request components of strict serializers `additionalProperties: false`."""
    schemas = result.get("components", {}).get("schemas", {})
    for cls in _subclasses(StrictKeysMixin):
        stem = cls.__name__.removesuffix("Serializer")
        for name in (stem, f"{stem}Request"):  # COMPONENT_SPLIT_REQUEST adds the suffix
            component = schemas.get(name)
            if component is not None and component.get("type") == "object":
                component["additionalProperties"] = False
    return result
