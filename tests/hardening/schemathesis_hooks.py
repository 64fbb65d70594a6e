"""Schemathesis hooks: real file and conversion ids, so generated requests reach the converter.

Loaded by run_schemathesis.sh through SCHEMATHESIS_HOOKS. When the schema has loaded, the
hooks upload a real logo from tests/data and convert it once; every generated string `file_id`
then names that upload and every `{id}` in a path names that conversion (a random UUID would
only ever test the 404). Values that are not strings stay as generated, so malformed ids still
test refusal. Time budgets are capped at 2 s to keep the run bounded: tier 3 spends its whole
budget, and the schema allows 60 s.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import requests
import schemathesis

BASE_URL = os.environ.get("SVGAI_BASE_URL", "http://127.0.0.1:8765")
LOGO = Path(__file__).resolve().parents[1] / "data" / "si-mdx.png"
MAX_BUDGET_S = 2.0
IDS: dict[str, str] = {}


def _prepare() -> dict[str, str]:
    """Upload the logo and convert it once; return its file_id and conversion_id."""
    if IDS:
        return IDS
    with LOGO.open("rb") as handle:
        upload = requests.post(f"{BASE_URL}/api/upload", files={"file": handle}, timeout=60)
    upload.raise_for_status()
    file_id = upload.json()["file_id"]
    convert = requests.post(f"{BASE_URL}/api/convert", json={"file_id": file_id}, timeout=120)
    convert.raise_for_status()
    IDS.update(file_id=file_id, conversion_id=convert.json()["conversion_id"])
    return IDS


@schemathesis.hook
def after_load_schema(context: Any, schema: Any) -> None:
    _prepare()


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Any) -> None:
    # Right before sending, in every phase (examples and coverage cases skip the map hooks).
    ids = _prepare()
    body = case.body
    if isinstance(body, dict):
        if isinstance(body.get("file_id"), str):
            body["file_id"] = ids["file_id"]
        budget = body.get("time_budget")
        if isinstance(budget, (int, float)) and not isinstance(budget, bool):
            body["time_budget"] = min(budget, MAX_BUDGET_S)
    parameters = case.path_parameters
    if (
        isinstance(parameters, dict)
        and case.operation.path.startswith("/api/conversions/")
        and isinstance(parameters.get("id"), str)
    ):
        parameters["id"] = ids["conversion_id"]
