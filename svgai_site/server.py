"""gunicorn's asyncio worker for `make run`, with a deadline on a connection's first headers.

gunicorn 27's asyncio worker holds a slow client at the cost of a socket, not a thread, and its
keep-alive timer bounds the headers of a connection's next request; but nothing bounds the
first request's headers, so a client sending one header line a minute keeps its socket for
ever, and `worker_connections` (1000) of them stop the worker accepting anyone. Here the first
request's headers get SVGAI_HEADER_TIMEOUT seconds; then the client is answered 408 and the
connection closed. Bodies are bounded by svgai_site/front.py (SVGAI_BODY_TIMEOUT).

This module is imported by gunicorn's master: it loads no Django application.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gunicorn.asgi.protocol import ASGIProtocol  # type: ignore[import-untyped]
from gunicorn.workers import gasgi  # type: ignore[import-untyped]


class HeaderDeadlineProtocol(ASGIProtocol):
    """gunicorn's HTTP/1 protocol, closing a connection whose first headers come too late."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        if self._callback_parser is None:  # HTTP/2 and uWSGI have their own framing
            return
        from django.conf import settings

        timeout = settings.SVGAI_HEADER_TIMEOUT
        if timeout > 0:
            self._header_timer = self.worker.loop.call_later(timeout, self._headers_late)

    def _on_headers_complete(self) -> Any:
        self._cancel_header_timer()
        return super()._on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self._closed:
            return
        self._send_error_response(408, "The request headers did not arrive in time.")
        self._close_transport()
        if self._request_ready is not None:  # as gunicorn's keep-alive timeout does
            self._request_ready.set()


class FrontWorker(gasgi.ASGIWorker):
    """gunicorn's asyncio worker serving connections with HeaderDeadlineProtocol."""

    def init_process(self) -> None:
        # The asyncio worker builds its protocol from this module-level name; this process is a
        # worker already (after the fork), so the master and other workers are unaffected.
        gasgi.ASGIProtocol = HeaderDeadlineProtocol
        super().init_process()
