"""Concurrent mixed requests against a running server on this machine: latency and bookkeeping.

Each level sends rounds of requests from that many simultaneous clients, in the order of `MIX`
(what a busy public service sees), through the one benchmark client (benchmarks.http), and then
checks that the conversion rows stored match the successful responses. `benchmark_load` is the
command around it.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from django.utils import timezone

from benchmarks.http import ApiClient, json_body, multipart
from conversions.models import Conversion

# One client's request, in turn: what a busy public service sees.
MIX = (
    "upload",
    "convert",
    "convert_ai_1",
    "list",
    "convert_ai_2",
    "detail",
    "convert_ai_auto",
    "ai_health",
)
CONVERSIONS = {"convert", "convert_ai_1", "convert_ai_2", "convert_ai_auto"}
# Uploads of the mix are sent as a script would, without naming the image type.
UPLOAD_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class Outcome:
    """One request of the mix: its kind, status, round-trip time and error message."""

    kind: str
    status: int
    seconds: float
    error: str = ""


@dataclass(frozen=True)
class Level:
    """One level's figures: requests, status classes, latency, and the rows stored meanwhile."""

    clients: int
    outcomes: tuple[Outcome, ...]
    stored: dict[str, int]  # Conversion status → rows created during the level

    @property
    def failures(self) -> list[Outcome]:
        """Return the requests the server failed (5xx, or no answer)."""
        return [o for o in self.outcomes if o.status >= 500]

    def row(self) -> str:
        """Return the level as a row of the Markdown table (`TABLE_HEAD`)."""
        codes = Counter(o.status // 100 for o in self.outcomes)
        latencies = [o.seconds for o in self.outcomes]
        converted = Counter(o.status for o in self.outcomes if o.kind in CONVERSIONS)
        stored = Counter(self.stored)
        return (
            f"| {self.clients} | {len(self.outcomes)} | {codes[2]} | {codes[4]} | {codes[5]} "
            f"| {percentile(latencies, 0.5):.2f} s | {percentile(latencies, 0.95):.2f} s "
            f"| {converted[200]} / {converted[422]} "
            f"| {stored['succeeded']} / {stored['failed']} / {stored['running']} |"
        )


TABLE_HEAD = (
    "| clients | requests | 2xx | 4xx | 5xx | p50 | p95 | conversions: 200 / 422 "
    "| rows: succeeded / failed / running |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def is_loopback(url: str) -> bool:
    """Return whether every address the URL's host resolves to is on this machine."""
    host = urlsplit(url).hostname or ""
    try:
        return all(
            ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None)
        )
    except (socket.gaierror, ValueError):
        return False


def percentile(values: list[float], q: float) -> float:
    """Return the nearest-rank q-quantile of the values (0.0 for none)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class Mix:
    """The requests of the mix against one server, with the uploads and record they refer to."""

    def __init__(self, client: ApiClient, images: Sequence[Path]) -> None:
        """Upload every image and convert the first; raise RuntimeError if the server cannot."""
        self.client = client
        self.payloads = [(p.name, p.read_bytes()) for p in images]
        self.file_ids = []
        for name, data in self.payloads:
            reply = client.send("POST", "/api/upload", *multipart(name, data, UPLOAD_TYPE))
            if reply.status != 200:
                raise RuntimeError(f"upload of {name} failed ({reply.status}): {reply.body}")
            self.file_ids.append(str(reply.body["file_id"]))
        first = client.send("POST", "/api/convert", *json_body({"file_id": self.file_ids[0]}))
        if first.status != 200:
            raise RuntimeError(f"a first conversion failed ({first.status}): {first.body}")
        self.conversion_id = str(first.body["conversion_id"])

    def request(self, n: int) -> Outcome:
        """Send the n-th request of the mix; return how it went."""
        kind = MIX[n % len(MIX)]
        file_id = self.file_ids[n % len(self.file_ids)]
        method, path, body, content_type = "GET", "", None, ""
        if kind == "upload":
            method, path = "POST", "/api/upload"
            name, data = self.payloads[n % len(self.payloads)]
            body, content_type = multipart(name, data, UPLOAD_TYPE)
        elif kind == "convert":
            method, path = "POST", "/api/convert"
            body, content_type = json_body({"file_id": file_id})
        elif kind.startswith("convert_ai_"):
            tier = kind.removeprefix("convert_ai_")
            method, path = "POST", "/api/convert-ai"
            body, content_type = json_body(
                {"file_id": file_id, "tier": tier if tier == "auto" else int(tier)}
            )
        elif kind == "list":
            path = "/api/conversions/"
        elif kind == "detail":
            path = f"/api/conversions/{self.conversion_id}/"
        else:
            path = "/api/ai-health"
        started = time.perf_counter()
        reply = self.client.send(method, path, body, content_type)
        seconds = time.perf_counter() - started
        return Outcome(kind, reply.status, seconds, str(reply.body.get("error")))


def run(mix: Mix, levels: Sequence[int], *, rounds: int = 1) -> list[Level]:
    """Return one `Level` per client count: `rounds` requests from each simultaneous client."""
    results = []
    for clients in levels:
        since = timezone.now()
        outcomes: list[Outcome] = []
        with ThreadPoolExecutor(max_workers=clients) as threads:
            for round_ in range(rounds):
                offset = round_ * clients
                outcomes.extend(threads.map(mix.request, range(offset, offset + clients)))
        results.append(Level(clients, tuple(outcomes), stored_since(since)))
    return results


def stored_since(since: datetime) -> dict[str, int]:
    """Return how many conversion rows of each status were created since `since`."""
    statuses = Conversion.objects.filter(created_at__gte=since).values_list("status", flat=True)
    return dict(Counter(statuses))
