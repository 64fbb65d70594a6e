"""OpenAPI post-processing: say in the schema what the serializers enforce.

Request serializers with StrictKeysMixin refuse unknown keys (a misspelled option must not pass
silently), so their request bodies get `additionalProperties: false`; without it a client or a
test generator reading the schema would expect extra keys to be accepted.
"""

from __future__ import annotations

from typing import Any

from conversions.serializers.options import StrictKeysMixin


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


def _inline_boolean_enums(result: dict[str, Any]) -> None:
    """Put `enum: [false]` back where the enum hook took it out as a component.

    drf-spectacular's enum hook makes a component of every enum; `SuccessEnum` with the one
    value false would become a one-member enum type in generated clients, not a boolean.
    """
    schemas = result.get("components", {}).get("schemas", {})
    singles = {
        f"#/components/schemas/{name}": schema
        for name, schema in schemas.items()
        if schema.get("type") == "boolean" and len(schema.get("enum", [])) == 1
    }
    for component in schemas.values():
        for prop in component.get("properties", {}).values():
            ref = (prop.get("allOf") or [{}])[0].get("$ref")
            if ref in singles and len(prop["allOf"]) == 1:
                del prop["allOf"]
                prop.update({"type": "boolean", "enum": singles[ref]["enum"]})
    for ref in singles:
        del schemas[ref.rsplit("/", 1)[1]]


# Swagger UI prefills a path parameter only from an `example`; without one "Try it out" refuses
# to send. This id names nothing, so the call answers a clean 404 that shows the error body.
EXAMPLE_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
# Swagger UI fills every form field with a sample of its schema: a nullable number with no
# default got its maximum (time_budget 60 s, over the anonymous cap; max_bytes 2147483647), and
# an example of null is sent as the text "null". These examples are ordinary values instead:
# tier 3's own budget, and a size a simple logo's SVG fits in.
FORM_EXAMPLES = {"time_budget": 4.0, "max_bytes": 100_000}


def _path_id_examples(result: dict[str, Any]) -> None:
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter.get("name") == "id":
                    parameter.setdefault("example", EXAMPLE_ID)


def _form_examples(result: dict[str, Any]) -> None:
    for component in result.get("components", {}).get("schemas", {}).values():
        for name, value in FORM_EXAMPLES.items():
            prop = component.get("properties", {}).get(name)
            if prop is not None and "default" not in prop:
                prop.setdefault("example", value)


def try_it_out(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Make every operation's Swagger "Try it out" send, as prefilled, a request the API takes.

    Runs after the enum hook. Error bodies say `success` is always false.
    """
    _inline_boolean_enums(result)
    _path_id_examples(result)
    _form_examples(result)
    return result
