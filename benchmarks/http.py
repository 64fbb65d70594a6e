"""The one HTTP client of the benchmarks that call the JSON API over the network.

urllib, because that is what any script would send. `send` answers every status as a `Reply`
(a load test counts refusals and failures); `request` is for callers that need a success and
raise otherwise (the API benchmark).
"""

from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

# A reset or timed-out connection has no status of its own: it counts as the server's failure.
NO_ANSWER = 599


@dataclass(frozen=True)
class Reply:
    """One answer: its status and its JSON body ({} when the answer was not JSON)."""

    status: int
    body: dict[str, object]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def multipart(filename: str, data: bytes, content_type: str = "image/png") -> tuple[bytes, str]:
    """Return a multipart body holding one file in the field `file`, and its Content-Type."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
    )
    body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class ApiClient:
    """A small HTTP client for the JSON API.

    With `cookies`, the client keeps the anonymous client cookie the API sets, as a browser
    would, so listings show what it made; without, every request is a new anonymous caller.
    """

    def __init__(
        self,
        base_url: str,
        *,
        host: str | None = None,
        timeout: float = 300.0,
        cookies: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.host = host
        self.timeout = timeout
        handlers = (
            [urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())] if cookies else []
        )
        self.opener = urllib.request.build_opener(*handlers)

    def send(
        self, method: str, path: str, body: bytes | None = None, content_type: str = ""
    ) -> Reply:
        """Return the answer to one request, whatever its status (599: no answer)."""
        request = urllib.request.Request(self.base_url + path, data=body, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        if self.host:
            request.add_header("Host", self.host)
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return Reply(response.status, _json(response.read()))
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, _json(exc.read()))
        except OSError as exc:  # refused, reset or timed out
            return Reply(NO_ANSWER, {"error": str(exc)})

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str = ""
    ) -> dict[str, object]:
        """Return the JSON answer of one request; raise RuntimeError on any non-2xx status."""
        reply = self.send(method, path, body, content_type)
        if not reply.ok:
            raise RuntimeError(f"{method} {path} answered {reply.status}: {reply.body}")
        return reply.body

    def upload(
        self, data: bytes, filename: str = "logo.png", content_type: str = "image/png"
    ) -> str:
        """Upload an image; return its file_id."""
        answer = self.request("POST", "/api/upload", *multipart(filename, data, content_type))
        return str(answer["file_id"])

    def convert(self, file_id: str) -> dict[str, object]:
        """Convert an upload with the legacy endpoint's defaults."""
        return self.request("POST", "/api/convert", *json_body({"file_id": file_id}))


def json_body(value: Mapping[str, object]) -> tuple[bytes, str]:
    """Return a JSON request body and its Content-Type."""
    return json.dumps(value).encode(), "application/json"


def _json(raw: bytes) -> dict[str, object]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
