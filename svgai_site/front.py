"""The embedded server's front: whole requests in, then a thread; overload answered at once.

gunicorn's threaded worker gives a connection a thread as soon as its first byte arrives, so 16
clients that send their headers one byte at a time hold 16 threads and nobody else is served
(slowloris). This ASGI application, served by gunicorn's asyncio worker (`make run`), reads each
request whole on the event loop, which holds a slow client at the cost of a socket, and only
then runs the Django WSGI application on one of SVGAI_WEB_THREADS threads. The answer is
spooled (to disk beyond a megabyte) and written back on the event loop too, so a client that
reads slowly does not hold a thread either.

Limits, each answered with the API's JSON error shape:
- a body that has not arrived within SVGAI_BODY_TIMEOUT seconds: 408;
- a body bigger than the largest request the API accepts (Content-Length or as it arrives): 413;
- more than SVGAI_WEB_QUEUE requests already waiting for a thread, or no thread free within
  SVGAI_WEB_QUEUE_WAIT seconds: 503 with Retry-After, instead of a wait in the socket backlog
  that grows without bound.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from tempfile import SpooledTemporaryFile
from typing import IO, Any
from wsgiref.types import WSGIApplication, WSGIEnvironment

from asgiref.typing import ASGIReceiveCallable, HTTPScope, Scope
from django.conf import settings

from svgai_site.wsgi import application as django_application

logger = logging.getLogger(__name__)

# What this front sends: http.response.* and lifespan.* events (asgiref's TypedDicts would
# add a "trailers" key to every response start).
Message = Mapping[str, object]
Receive = ASGIReceiveCallable
Send = Callable[[Message], Awaitable[None]]
WSGIApp = WSGIApplication

_SPOOL_BYTES = 1024 * 1024  # a body or an answer beyond this waits on disk, not in memory
_CHUNK = 64 * 1024


class _Refused(Exception):
    def __init__(self, status: int, error: str, headers: list[tuple[bytes, bytes]] | None = None):
        super().__init__(error)
        self.status = status
        self.error = error
        self.headers = headers or []


class Front:
    """Serve a WSGI application to an ASGI server: whole requests, a bounded pool of threads."""

    def __init__(
        self,
        app: WSGIApp,
        *,
        threads: int,
        queue: int,
        queue_wait: float,
        body_timeout: float,
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self.threads = max(1, threads)
        self.queue = max(0, queue)
        self.queue_wait = queue_wait
        self.body_timeout = body_timeout
        self.max_body_bytes = max_body_bytes
        # A request takes a slot before it is handed to a thread, so the executor never queues:
        # requests wait here, where they are counted and can give up.
        self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="svgai-web")
        self._slots: asyncio.Semaphore | None = None
        # Touched on the event loop only: no lock.
        self.running = 0
        self.waiting = 0
        self.refused = 0
        self._request_seconds = 1.0  # moving average, for Retry-After

    @property
    def admitted(self) -> int:
        """Return how many requests run on a thread or wait for one now."""
        return self.running + self.waiting

    def retry_after(self) -> int:
        """Return seconds after which a refused request has a fair chance of a thread."""
        waves = (self.admitted + 1) / self.threads
        return int(min(60, max(1, math.ceil(self._request_seconds * waves))))

    def _busy(self, why: str) -> _Refused:
        self.refused += 1
        wait = self.retry_after()
        return _Refused(
            503,
            f"The server is busy: {why}. Retry after {wait} s (see Retry-After).",
            [(b"retry-after", str(wait).encode())],
        )

    async def _take_thread(self) -> None:
        """Wait for a free thread; raise _Refused when too many wait or none frees in time."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.threads)
        if not self._slots.locked():
            await self._slots.acquire()
            return
        if self.waiting >= self.queue:
            raise self._busy(f"{self.running} requests are running and {self.waiting} waiting")
        self.waiting += 1
        try:
            async with asyncio.timeout(self.queue_wait):
                await self._slots.acquire()
        except TimeoutError:
            raise self._busy(f"no request thread was free within {self.queue_wait:g} s") from None
        finally:
            self.waiting -= 1

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":  # no websockets here
            return
        try:
            body = await self._read_body(scope, receive)
        except _Refused as refused:
            await _send_error(send, refused)
            return
        if body is None:  # the client went away
            return
        try:
            await self._take_thread()
        except _Refused as refused:
            body.close()
            await _send_error(send, refused)
            return
        assert self._slots is not None
        slots = self._slots
        self.running += 1
        started = time.monotonic()
        work = asyncio.get_running_loop().run_in_executor(self._executor, self._run, scope, body)

        def finished(_: object) -> None:
            # When the thread is done, even if this request's task was cancelled meanwhile (its
            # client went away): only then is the thread free and the body unused.
            body.close()
            self.running -= 1
            slots.release()
            elapsed = time.monotonic() - started
            self._request_seconds = 0.8 * self._request_seconds + 0.2 * elapsed

        work.add_done_callback(finished)
        status, headers, answer = await asyncio.shield(work)
        with answer:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            while chunk := answer.read(_CHUNK):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _read_body(self, scope: HTTPScope, receive: Receive) -> IO[bytes] | None:
        """Return the whole request body, spooled; None if the client disconnected."""
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise _Refused(413, self._too_large(int(declared)))
        body: IO[bytes] = SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":  # http.disconnect: the client left
                        body.close()
                        return None
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body_bytes:
                        raise _Refused(413, self._too_large(size))
                    body.write(chunk)
                    if not message.get("more_body"):
                        break
        except TimeoutError:
            body.close()
            raise _Refused(
                408,
                f"The request body did not arrive within {self.body_timeout:g} s "
                f"({size} bytes came). Send it faster, or a smaller file.",
            ) from None
        except _Refused:
            body.close()
            raise
        body.seek(0)
        return body

    def _too_large(self, size: int) -> str:
        return (
            f"The request body is {size} bytes; this server accepts at most "
            f"{self.max_body_bytes}. Send a smaller file."
        )

    def _run(
        self, scope: HTTPScope, body: IO[bytes]
    ) -> tuple[int, list[tuple[bytes, bytes]], IO[bytes]]:
        """Run the WSGI application on this thread; return its status, headers and spooled body."""
        environ = _environ(scope, body)
        started: list[tuple[int, list[tuple[bytes, bytes]]]] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            if exc_info is not None and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [
                (
                    int(status.split(" ", 1)[0]),
                    [(k.lower().encode(), v.encode("latin-1")) for k, v in headers],
                )
            ]
            return lambda data: answer.write(data)  # PEP 3333's write(), for old applications

        answer: IO[bytes] = SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
        try:
            result = self.app(environ, start_response)
            try:
                for chunk in result:
                    answer.write(chunk)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()  # Django's request_finished: database connections go back here
        except Exception:
            logger.exception("unhandled error in the WSGI application")
            answer.close()
            answer = SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
            answer.write(_error_body("Internal server error."))
            started[:] = [(500, [(b"content-type", b"application/json")])]
        answer.seek(0)
        status, headers = started[0]
        return status, headers, answer


def _header(scope: HTTPScope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1").strip()
    return None


def _environ(scope: HTTPScope, body: IO[bytes]) -> WSGIEnvironment:
    """Return the WSGI environ of a whole ASGI request (PEP 3333)."""
    script_name = scope.get("root_path", "").encode().decode("latin-1")
    path = scope["path"].encode().decode("latin-1")
    if script_name and path.startswith(script_name):
        path = path[len(script_name) :]
    body.seek(0, 2)
    length = body.tell()
    body.seek(0)
    server = scope.get("server") or ("localhost", 80)
    environ: WSGIEnvironment = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path,
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] or 0),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if client := scope.get("client"):
        environ["REMOTE_ADDR"] = client[0]
        environ["REMOTE_PORT"] = str(client[1])
    for key, value in scope.get("headers", []):
        name = key.decode("latin-1").upper().replace("-", "_")
        if name not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = f"HTTP_{name}"
        text = value.decode("latin-1")
        environ[name] = f"{environ[name]},{text}" if name in environ else text
    # The body is whole: its length is known even when it came chunked.
    environ["CONTENT_LENGTH"] = str(length)
    return environ


def _error_body(error: str) -> bytes:
    return json.dumps({"success": False, "error": error}).encode()


async def _send_error(send: Send, refused: _Refused) -> None:
    body = _error_body(refused.error)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *refused.headers,
    ]
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _lifespan(receive: Receive, send: Send) -> None:
    # Start-up work (models, conversion workers, the sweeper) runs in gunicorn.conf.py's
    # post_worker_init, as it does for the threaded worker.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


application = Front(
    django_application,
    threads=settings.SVGAI_WEB_THREADS,
    queue=settings.SVGAI_WEB_QUEUE,
    queue_wait=settings.SVGAI_WEB_QUEUE_WAIT,
    body_timeout=settings.SVGAI_BODY_TIMEOUT,
    max_body_bytes=max(settings.SVGAI_BATCH_MAX_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    + 1024 * 1024,
)
