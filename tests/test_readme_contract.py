"""Every endpoint, parameter, answer key, command, make target and setting README.md documents
exists.

README.md is read as a newcomer reads it (tests/readme.py); the schema is the one /api/schema/
serves, the commands are Django's, the targets the Makefile's. A README line that names something
the code no longer has fails here, and so does a vtracer range or default the API does not keep.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType
from typing import Any

import pytest
from django.core.management import get_commands, load_command_class
from django.urls import Resolver404, resolve
from rest_framework.test import APIClient

from tests import readme

# Served beside the API but, being the schema and its viewer, not operations of it.
NOT_IN_SCHEMA = {"/api/schema", "/api/docs"}


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


@pytest.fixture(scope="module")
def ops(schema: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Return the schema's operations by method and normalised path."""
    return {
        (method.upper(), readme.normalise(path)): operation
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    }


def _component(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref") or next(iter(node.get("allOf", [])), {}).get("$ref")
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else node


def _request_fields(schema: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    fields = {p["name"]: p.get("schema", {}) for p in operation.get("parameters", [])}
    for content in operation.get("requestBody", {}).get("content", {}).values():
        fields.update(_component(schema, content["schema"]).get("properties", {}))
    return fields


def _answer_fields(schema: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    fields: set[str] = set()
    for code, response in operation["responses"].items():
        if code.startswith("2"):
            for content in response.get("content", {}).values():
                fields |= set(_component(schema, content["schema"]).get("properties", {}))
    return fields


def test_readme_documents_the_api_it_reads_from():
    # The parser must see the tables at all, or every check below would pass on nothing.
    paths = {(e.method, e.path) for e in readme.endpoints()}
    assert {("POST", "/api/upload"), ("POST", "/api/convert-ai"), ("GET", "/api/batches")} <= paths
    assert len(readme.curl_examples()) >= 2
    assert {"run", "test", "admin"} <= readme.make_targets()


def test_every_documented_endpoint_is_an_operation_of_the_schema(ops):
    missing = [f"{e.method} {e.path}" for e in readme.endpoints() if (e.method, e.path) not in ops]
    assert not missing, f"README documents endpoints the API does not serve: {missing}"

    known = {path for _, path in ops} | NOT_IN_SCHEMA
    assert not readme.api_paths() - known, "README mentions /api/ paths the API does not serve"
    for path in NOT_IN_SCHEMA:
        try:
            resolve(path + "/")
        except Resolver404:
            pytest.fail(f"README mentions {path}/, which no URL serves")


@pytest.mark.parametrize("endpoint", readme.endpoints(), ids=lambda e: f"{e.method} {e.path}")
def test_documented_parameters_and_answer_keys_exist(schema, ops, endpoint):
    operation = ops[(endpoint.method, endpoint.path)]

    accepted = _request_fields(schema, operation)
    assert not endpoint.request_keys - set(accepted), f"not accepted: {endpoint.row}"
    keys = endpoint.answer_keys
    if keys is not None:
        documented = {k for k in keys if not k.endswith("?")}
        assert not documented - _answer_fields(schema, operation), f"not answered: {endpoint.row}"


def test_documented_conversion_filters_and_download_options_are_parameters(schema, ops):
    source = readme.text()
    row = next(e.row for e in readme.endpoints() if e.path == "/api/conversions")
    filters = set(re.findall(r"`(\w+)(?:=[^`]*)?`", row.split("filters", 1)[1]))
    download = re.search(r"download\?format=([^`]+)`", source).group(1)
    options = set(re.findall(r"[&\[](\w+)=", download))
    formats = set(download.split("&")[0].split("[")[0].split("|"))

    listing = _request_fields(schema, ops[("GET", "/api/conversions")])
    assert len(filters) >= 5
    assert not filters - set(listing)
    fields = _request_fields(schema, ops[("GET", "/api/conversions/{id}/download")])
    assert {"width", "height", "unit", "dpi"} <= options
    assert not options - set(fields)
    assert formats == set(fields["format"]["enum"])


def _vtracer_table() -> list[tuple[str, str, str]]:
    source = readme.text()
    table = source.split("vtracer parameters (all optional", 1)[1].split("\n\n")[1]
    rows = [readme.cells(line)[1:4] for line in table.splitlines()[2:]]
    return [(name.strip(" `"), span.strip(), default.strip()) for name, span, default in rows]


@pytest.mark.parametrize("path", ["/api/convert", "/api/batches"])
def test_vtracer_table_gives_the_ranges_and_defaults_the_api_keeps(schema, ops, path):
    fields = _request_fields(schema, ops[("POST", path)])
    table = _vtracer_table()
    assert len(table) == 11

    for name, span, default in table:
        field = _component(schema, fields[name])
        if "–" in span:  # a range, e.g. `0–128` or `0.0–64.0`
            low, high = (float(v) for v in span.split("–"))
            assert (field["minimum"], field["maximum"]) == (low, high), name
        else:  # choices, e.g. `color`, `binary`
            assert set(re.findall(r"`(\w+)`", span)) == set(field["enum"]), name
        shown = default.split()[0].strip("`")
        assert str(fields[name]["default"]) == shown, name


def _command_options(name: str) -> set[str]:
    command = load_command_class(get_commands()[name], name)
    parser = command.create_parser("manage.py", name)
    return set(parser._option_string_actions)


def test_every_documented_command_and_option_exists():
    commands = get_commands()
    shown = readme.manage_commands()
    assert len({name for name, _ in shown}) >= 10

    for name, options in shown:
        assert name in commands, f"README shows `manage.py {name}`, which does not exist"
        assert not set(options) - _command_options(name), f"manage.py {name}: unknown {options}"


def test_every_documented_make_target_exists():
    makefile = (readme.ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, flags=re.M))

    assert not readme.make_targets() - targets


def test_every_documented_setting_is_read_and_listed_in_env_example():
    # README: "Our settings start with `SVGAI_`; `.env.example` lists every variable."
    names = set(re.findall(r"\bSVGAI_[A-Z0-9_]*[A-Z0-9]", readme.text()))
    product = "".join(
        path.read_text()
        for folder in ("svgai_site", "conversions", "aimodels", "vectorizer", "benchmarks")
        for path in (readme.ROOT / folder).rglob("*.py")
    )
    tests = "".join(path.read_text() for path in (readme.ROOT / "tests").rglob("*.py"))
    listed = (readme.ROOT / ".env.example").read_text()
    assert len(names) > 30

    assert not {n for n in names if n not in product and n not in tests}, "read by nothing"
    assert not {n for n in names if n in product and n not in listed}, "not in .env.example"


def test_every_picture_and_file_the_readme_links_exists():
    links = re.findall(r"\]\(([^)#\s]+)\)", readme.text())
    local = [link for link in links if not link.startswith(("http://", "https://"))]
    assert len(local) >= 4  # the three screenshots and the benchmark chart

    assert not [link for link in local if not (readme.ROOT / link).is_file()]


PACKAGES = ("", "vectorizer.", "conversions.", "aimodels.", "aimodels.ml.", "benchmarks.")
# Spans that look like `module.name` but are keys of an answer (a module of that name exists).
ANSWER_KEYS = {
    "errors.files",
    "routing.degraded",
    "routing.estimates",
    "routing.problems",
    "routing.reason",
    "routing.rescued",
}
FILE_NAME = re.compile(r".*\.(py|sh|json|csv|toml|png|pdf|md|gz|sqlite3|txt|example)")


def _module(name: str) -> ModuleType | None:
    for package in PACKAGES:
        try:
            return importlib.import_module(package + name)
        except ImportError:
            continue
    return None


def test_every_function_and_constant_the_readme_names_exists():
    # `tiers.worth`, `rescue.RESCUE_CANDIDATE`, `aimodels.activation.activate`: README's way of
    # pointing at the code (file names and answer keys aside).
    spans = [s for s in readme.code_spans() if s not in ANSWER_KEYS and not FILE_NAME.fullmatch(s)]
    named = {
        (match[1], match[2])
        for span in spans
        if (match := re.fullmatch(r"([a-z_]+(?:\.[a-z_]+)*)\.([A-Za-z_]\w*)(?:\(\))?", span))
    }
    resolved = [(module, name, _module(module)) for module, name in sorted(named)]
    resolved = [(m, n, found) for m, n, found in resolved if found is not None]
    assert len(resolved) >= 15

    assert not [f"{m}.{n}" for m, n, found in resolved if not hasattr(found, n)]
