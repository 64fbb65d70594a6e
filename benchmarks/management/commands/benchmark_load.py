"""manage.py benchmark_load: concurrent mixed requests against a running server on this machine."""

from __future__ import annotations

import ipaddress
import json
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

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


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return all(
            ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None)
        )
    except (socket.gaierror, ValueError):
        return False


def _call(
    url: str, body: bytes | None, content_type: str, timeout: float
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": content_type} if content_type else {}
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            kind = response.headers.get("Content-Type", "")
            return response.status, json.loads(raw) if "json" in kind else {}
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {}
    except OSError as exc:  # reset or timed out: count it as the server's failure
        return 599, {"error": str(exc)}


def _multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    return head.encode() + data + f"\r\n--{boundary}--\r\n".encode(), (
        f"multipart/form-data; boundary={boundary}"
    )


@dataclass
class Outcome:
    kind: str
    status: int
    seconds: float
    error: str = ""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class Command(BaseCommand):
    help = (
        "Send mixed requests (uploads, legacy and AI conversions of tiers 1, 2 and auto, "
        "listings, records, health) from 10, 30 and 50 simultaneous clients to a running svgai "
        "on this machine (loopback only); report p50/p95 latency, status codes, and whether the "
        "conversion rows stored match the successful responses. Run it with the server's "
        "DATABASE_URL, and the server's throttles off (SVGAI_THROTTLE_*=off)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        data = Path(settings.BASE_DIR) / "tests" / "data"
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--images", type=Path, nargs="*", default=sorted(data.glob("*.png")))
        parser.add_argument("--levels", default="10,30,50", help="concurrent clients per round")
        parser.add_argument(
            "--rounds", type=int, default=1, help="requests per client at each level"
        )
        parser.add_argument("--timeout", type=float, default=120.0)

    def handle(self, *args: Any, **options: Any) -> None:
        base = options["url"].rstrip("/")
        if not _is_loopback(base):
            raise CommandError("load tests only target this machine (127.0.0.1, localhost, ::1)")
        images = [p for p in options["images"] if p.exists()]
        if not images:
            raise CommandError("--images: no such files")
        try:
            levels = [int(n) for n in options["levels"].split(",")]
        except ValueError as exc:
            raise CommandError("--levels: numbers separated by commas, e.g. 10,30,50") from exc
        if not all(1 <= n <= 64 for n in levels) or not 1 <= options["rounds"] <= 5:
            raise CommandError("each level must be 1–64 clients and --rounds 1–5")
        timeout = options["timeout"]
        payloads = [(p.name, p.read_bytes()) for p in images]
        file_ids = []
        for name, data in payloads:
            code, body = _call(f"{base}/api/upload", *_multipart(name, data), timeout)
            if code != 200:
                raise CommandError(f"upload of {name} failed ({code}): {body}")
            file_ids.append(body["file_id"])
        code, first = _call(
            f"{base}/api/convert", json.dumps({"file_id": file_ids[0]}).encode(),
            "application/json", timeout,
        )  # fmt: skip
        if code != 200:
            raise CommandError(f"a first conversion failed ({code}): {first}")
        conversion_id = first["conversion_id"]

        def one(n: int) -> Outcome:
            kind = MIX[n % len(MIX)]
            file_id = file_ids[n % len(file_ids)]
            body: bytes | None = None
            content_type = ""
            if kind == "upload":
                url = f"{base}/api/upload"
                body, content_type = _multipart(*payloads[n % len(payloads)])
            elif kind == "convert":
                url = f"{base}/api/convert"
                body = json.dumps({"file_id": file_id}).encode()
            elif kind.startswith("convert_ai_"):
                url = f"{base}/api/convert-ai"
                tier = kind.removeprefix("convert_ai_")
                tier_value: int | str = tier if tier == "auto" else int(tier)
                body = json.dumps({"file_id": file_id, "tier": tier_value}).encode()
            elif kind == "list":
                url = f"{base}/api/conversions/"
            elif kind == "detail":
                url = f"{base}/api/conversions/{conversion_id}/"
            else:
                url = f"{base}/api/ai-health"
            if body is not None and not content_type:
                content_type = "application/json"
            started = time.perf_counter()
            status, answer = _call(url, body, content_type, timeout)
            return Outcome(kind, status, time.perf_counter() - started, str(answer.get("error")))

        rows = []
        for level in levels:
            since = timezone.now()
            outcomes: list[Outcome] = []
            with ThreadPoolExecutor(max_workers=level) as threads:
                for round_ in range(options["rounds"]):
                    offset = round_ * level
                    outcomes.extend(threads.map(one, range(offset, offset + level)))
            rows.append(self._summarise(level, outcomes, since))
            for outcome in outcomes:
                if outcome.status >= 500:
                    self.stdout.write(f"  {outcome.kind} {outcome.status}: {outcome.error}")
        self.stdout.write(
            "| clients | requests | 2xx | 4xx | 5xx | p50 | p95 | conversions: 200 / 422 "
            "| rows: succeeded / failed / running |"
        )
        self.stdout.write("|---|---|---|---|---|---|---|---|---|")
        for row in rows:
            self.stdout.write(row)

    def _summarise(self, level: int, outcomes: list[Outcome], since: Any) -> str:
        codes = Counter(o.status // 100 for o in outcomes)
        latencies = [o.seconds for o in outcomes]
        converted = Counter(o.status for o in outcomes if o.kind in CONVERSIONS)
        stored = Counter(
            Conversion.objects.filter(created_at__gte=since).values_list("status", flat=True)
        )
        return (
            f"| {level} | {len(outcomes)} | {codes[2]} | {codes[4]} | {codes[5]} "
            f"| {_percentile(latencies, 0.5):.2f} s | {_percentile(latencies, 0.95):.2f} s "
            f"| {converted[200]} / {converted[422]} "
            f"| {stored['succeeded']} / {stored['failed']} / {stored['running']} |"
        )
