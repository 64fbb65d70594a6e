"""Swagger UI at /api/docs/: every operation's "Try it out", executed as prefilled, gets an answer
the API means: no 400 for a prefilled form, no 5xx, and an error body that says success false.

A newcomer's first call is often Swagger's prefilled form; the batch form used to send
converter ai with every vtracer parameter and max_bytes=2147483647, and got a 400.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, screenshot
from tests.browser.pages import SIMPLE


@dataclass
class Call:
    operation: str
    method: str
    url: str
    status: int
    content_type: str
    body: bytes


def _execute_all(page: Any) -> list[Call]:
    """Click "Try it out" then "Execute" on every operation, with what Swagger prefilled."""
    calls: list[Call] = []
    blocks = page.locator(".opblock")
    for index in range(blocks.count()):
        block = blocks.nth(index)
        title = " ".join(block.locator(".opblock-summary").inner_text().split()[:2])
        block.locator(".opblock-summary").click()
        block.locator(".try-out__btn").click()
        files = block.locator(".opblock-section-request-body input[type=file]")
        for n in range(files.count()):
            files.nth(n).set_input_files(str(SIMPLE))
        method = title.split(" ", 1)[0]

        def matches(response: Any, method: str = method) -> bool:
            request = response.request
            return request.method == method and "/api/" in request.url

        with page.expect_response(matches, timeout=90_000) as answer:
            block.locator(".execute").click()
        response = answer.value
        calls.append(
            Call(
                operation=title,
                method=method,
                url=response.url,
                status=response.status,
                content_type=response.headers.get("content-type", ""),
                body=response.body(),
            )
        )
        # The answer is shown too, as a person would read it.
        block.locator(".live-responses-table tbody .response-col_status").wait_for()
    return calls


@pytest.fixture
def docs(browser, live_url):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(live_url + "/api/docs/")
    page.wait_for_selector(".opblock")
    yield page
    context.close()


def test_swagger_try_it_out_works_as_prefilled_for_every_operation(docs):
    calls = _execute_all(docs)
    screenshot(docs, "swagger-try-it-out", full_page=True)

    by_operation = {call.operation: call for call in calls}
    operations = docs.locator(".opblock").count()
    assert len(calls) == operations, f"only {len(calls)} of {operations} operations were sent"
    assert by_operation["POST /api/upload"].status == 200
    assert by_operation["POST /api/batches/"].status == 202, by_operation["POST /api/batches/"]
    for call in calls:
        assert call.status != 400, f"{call.operation} refused its prefilled form: {call.body!r}"
        assert call.status < 500, f"{call.operation}: {call.status} {call.body!r}"
        if call.status >= 400:
            assert call.content_type.startswith("application/json"), call
            assert json.loads(call.body)["success"] is False, call


def test_swagger_error_examples_say_success_false(docs):
    block = docs.locator(".opblock").filter(has_text="/api/convert-ai").first
    block.locator(".opblock-summary").click()
    example = block.locator('.responses-table tr.response[data-code="404"] .example')
    example.first.wait_for()

    shown = json.loads(example.first.inner_text())
    assert shown["success"] is False
