"""OpenAPI post-processing: say in the schema what the serializers enforce.

Request serializers with StrictKeysMixin refuse unknown keys (a misspelled option must not pass
silently), so their request bodies get `additionalProperties: false`; without it a client or a
test generator reading the schema would expect extra keys to be accepted.
"""

from __future__ import annotations

from typing import Any

from conversions.serializers.options import StrictKeysMixin

# An OpenAPI document or a part of it: any JSON. Read with `_dict`/`_list`, which see a missing
# or unexpected part as empty instead of raising in the middle of the schema view.
JSONDict = dict[str, object]


def _dict(value: object) -> JSONDict:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _schemas(result: JSONDict) -> JSONDict:
    return _dict(_dict(result.get("components")).get("schemas"))


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def strict_request_bodies(result: JSONDict, **kwargs: Any) -> JSONDict:
    """Mark the request components of strict serializers `additionalProperties: false`."""
    schemas = _schemas(result)
    for cls in _subclasses(StrictKeysMixin):
        stem = cls.__name__.removesuffix("Serializer")
        for name in (stem, f"{stem}Request"):  # COMPONENT_SPLIT_REQUEST adds the suffix
            component = _dict(schemas.get(name))
            if component.get("type") == "object":
                component["additionalProperties"] = False
    return result


def _inline_boolean_enums(result: JSONDict) -> None:
    """Put `enum: [false]` back where the enum hook took it out as a component.

    drf-spectacular's enum hook makes a component of every enum; `SuccessEnum` with the one
    value false would become a one-member enum type in generated clients, not a boolean.
    """
    schemas = _schemas(result)
    singles = {
        f"#/components/schemas/{name}": schema
        for name, value in schemas.items()
        if (schema := _dict(value)).get("type") == "boolean" and len(_list(schema.get("enum"))) == 1
    }
    for component in schemas.values():
        for value in _dict(_dict(component).get("properties")).values():
            prop = _dict(value)
            ref = _dict((_list(prop.get("allOf")) or [{}])[0]).get("$ref")
            if isinstance(ref, str) and ref in singles and len(_list(prop["allOf"])) == 1:
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


def _path_id_examples(result: JSONDict) -> None:
    for operations in _dict(result.get("paths")).values():
        for operation in _dict(operations).values():
            for value in _list(_dict(operation).get("parameters")):
                parameter = _dict(value)
                if parameter.get("in") == "path" and parameter.get("name") == "id":
                    parameter.setdefault("example", EXAMPLE_ID)


def _form_examples(result: JSONDict) -> None:
    for component in _schemas(result).values():
        for name, value in FORM_EXAMPLES.items():
            prop = _dict(_dict(component).get("properties")).get(name)
            if isinstance(prop, dict) and "default" not in prop:
                prop.setdefault("example", value)


def try_it_out(result: JSONDict, **kwargs: Any) -> JSONDict:
    """Make every operation's Swagger "Try it out" send, as prefilled, a request the API takes.

    Runs after the enum hook. Error bodies say `success` is always false.
    """
    _inline_boolean_enums(result)
    _path_id_examples(result)
    _form_examples(result)
    return result
