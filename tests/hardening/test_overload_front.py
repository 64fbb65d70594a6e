"""The embedded server's front (svgai_site/front.py): whole requests, bounded threads, refusals."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from svgai_site.front import Front

T = TypeVar("T")


def run_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a scenario on an event loop of its own thread.

    The browser tests' Playwright keeps an event loop running in the main thread, where
    asyncio.run() refuses to start another.
    """
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class Blocking:
    """A WSGI application that answers 200 once `release` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.bodies: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.bodies.append(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
        assert self.release.wait(30)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"done"]


def scope(method: str = "POST", headers: list[tuple[bytes, bytes]] | None = None) -> dict:
    return {
        "type": "http",
        "method": method,
        "path": "/api/convert",
        "query_string": b"",
        "headers": headers or [],
        "http_version": "1.1",
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }


async def call(front: Front, messages: list[dict], **kwargs: Any) -> tuple[int, dict, bytes]:
    """Return (status, headers, body) of one request whose body arrives as `messages`."""
    pending = list(messages)
    forever = asyncio.Event()

    async def receive() -> dict:
        if pending:
            return pending.pop(0)
        await forever.wait()  # a client that never sends the rest
        return {"type": "http.disconnect"}

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    await front(scope(**kwargs), receive, send)
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


def whole(body: bytes) -> list[dict]:
    return [{"type": "http.request", "body": body, "more_body": False}]


def test_front_buffers_a_body_sent_in_pieces_before_the_application_runs():
    app = Blocking()
    app.release.set()
    front = Front(app, threads=1, queue=0, queue_wait=30, body_timeout=30, max_body_bytes=100)
    pieces = [
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"cd", "more_body": False},
    ]

    status, _, body = run_loop(call(front, pieces))

    assert (status, body) == (200, b"done")
    assert app.bodies == [b"abcd"]


def test_front_answers_408_when_the_body_stalls():
    app = Blocking()
    front = Front(app, threads=1, queue=0, queue_wait=30, body_timeout=0.2, max_body_bytes=100)
    stalled = [{"type": "http.request", "body": b"ab", "more_body": True}]

    status, _, body = run_loop(call(front, stalled))

    assert status == 408
    assert json.loads(body)["success"] is False
    assert app.bodies == []  # no thread ever saw it


def test_front_answers_413_for_a_body_over_its_limit():
    front = Front(Blocking(), threads=1, queue=0, queue_wait=30, body_timeout=30, max_body_bytes=10)

    declared = run_loop(call(front, [], headers=[(b"content-length", b"11")]))
    streamed = run_loop(call(front, whole(b"x" * 11)))

    assert declared[0] == streamed[0] == 413


def test_front_answers_503_with_retry_after_when_threads_and_queue_are_full():
    app = Blocking()
    front = Front(app, threads=1, queue=1, queue_wait=30, body_timeout=30, max_body_bytes=100)

    async def scenario() -> tuple[tuple, tuple, list[int]]:
        running = asyncio.create_task(call(front, whole(b"1")))
        waiting = asyncio.create_task(call(front, whole(b"2")))
        for _ in range(3000):  # wait (10 s at most) until one runs and one waits
            if front.admitted == 2:
                break
            await asyncio.sleep(0.01)
        assert front.admitted == 2
        refused = await call(front, whole(b"3"))
        admitted_then = front.admitted
        app.release.set()
        first, second = await running, await waiting
        return refused, (admitted_then,), [first[0], second[0]]

    refused, (admitted_then,), others = run_loop(scenario())

    status, headers, body = refused
    assert status == 503
    assert int(headers["retry-after"]) >= 1
    answer = json.loads(body)
    assert answer["success"] is False
    assert "busy" in answer["error"]
    assert admitted_then == 2  # the refused request never took a place
    assert others == [200, 200]
    assert front.refused == 1


def test_front_answers_503_when_no_thread_frees_within_the_queue_wait():
    app = Blocking()
    front = Front(app, threads=1, queue=5, queue_wait=0.2, body_timeout=30, max_body_bytes=100)

    async def scenario() -> tuple[tuple, int]:
        running = asyncio.create_task(call(front, whole(b"1")))
        for _ in range(3000):
            if front.running == 1:
                break
            await asyncio.sleep(0.01)
        refused = await call(front, whole(b"2"))  # waits its 0.2 s for the held thread
        app.release.set()
        return refused, (await running)[0]

    (status, headers, body), first = run_loop(scenario())

    assert status == 503
    assert int(headers["retry-after"]) >= 1
    assert "within 0.2 s" in json.loads(body)["error"]
    assert first == 200
    assert app.bodies == [b"1"]  # the refused request never reached the application


def test_front_counts_a_thread_until_it_finishes_even_when_the_client_leaves():
    app = Blocking()
    front = Front(app, threads=1, queue=0, queue_wait=30, body_timeout=30, max_body_bytes=100)

    async def until(predicate) -> None:
        for _ in range(3000):  # 30 s at most
            if predicate():
                return
            await asyncio.sleep(0.01)

    async def scenario() -> tuple[int, int, int]:
        left = asyncio.create_task(call(front, whole(b"1")))
        await until(lambda: front.running == 1)
        left.cancel()  # its client went away; its thread still runs the request
        with contextlib.suppress(asyncio.CancelledError):
            await left
        still = front.running
        refused = await asyncio.wait_for(call(front, whole(b"2")), 10)
        app.release.set()
        await until(lambda: front.running == 0)
        after = await asyncio.wait_for(call(front, whole(b"3")), 10)
        return still, refused[0], after[0]

    assert run_loop(scenario()) == (1, 503, 200)
