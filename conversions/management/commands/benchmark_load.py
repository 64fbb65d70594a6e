"""manage.py benchmark_load: concurrent conversions against a running server on this machine."""

from __future__ import annotations

import ipaddress
import json
import socket
import statistics
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return all(
            ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None)
        )
    except (socket.gaierror, ValueError):
        return False


def _post(url: str, body: bytes, content_type: str, timeout: float) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _multipart(path: Path) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + path.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


class Command(BaseCommand):
    help = (
        "Send N simultaneous AI conversions of one logo to a running svgai server on this "
        "machine (loopback only) and report successes and latency. Bounded: --rounds × "
        "--concurrency requests, then it stops."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        default = sorted((Path(settings.BASE_DIR) / "tests" / "data").glob("*.png"))
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--image", type=Path, default=default[0] if default else None)
        parser.add_argument("--concurrency", type=int, default=10)
        parser.add_argument("--rounds", type=int, default=1)
        parser.add_argument("--tier", default="1")
        parser.add_argument("--timeout", type=float, default=60.0)

    def handle(self, *args: Any, **options: Any) -> None:
        base = options["url"].rstrip("/")
        if not _is_loopback(base):
            raise CommandError("load tests only target this machine (127.0.0.1, localhost, ::1)")
        if options["image"] is None or not options["image"].exists():
            raise CommandError("--image: no such file")
        if not 1 <= options["concurrency"] <= 64 or not 1 <= options["rounds"] <= 20:
            raise CommandError("--concurrency must be 1–64 and --rounds 1–20")
        body, content_type = _multipart(options["image"])
        code, upload = _post(f"{base}/api/upload", body, content_type, options["timeout"])
        if code != 200:
            raise CommandError(f"upload failed ({code}): {upload}")
        tier = options["tier"] if options["tier"] == "auto" else int(options["tier"])
        payload = json.dumps({"file_id": upload["file_id"], "tier": tier}).encode()

        def one(_: int) -> tuple[int, float, dict]:
            started = time.perf_counter()
            status, answer = _post(
                f"{base}/api/convert-ai", payload, "application/json", options["timeout"]
            )
            return status, time.perf_counter() - started, answer

        results = []
        with ThreadPoolExecutor(max_workers=options["concurrency"]) as threads:
            for _ in range(options["rounds"]):
                results.extend(threads.map(one, range(options["concurrency"])))
        ok = [r for r in results if r[0] == 200]
        latencies = sorted(r[1] for r in results)
        self.stdout.write(
            f"{len(ok)}/{len(results)} succeeded at concurrency {options['concurrency']} "
            f"(tier {tier}); latency mean {statistics.mean(latencies):.2f} s, "
            f"median {statistics.median(latencies):.2f} s, max {latencies[-1]:.2f} s"
        )
        for status, _, answer in results:
            if status != 200:
                self.stdout.write(f"  {status}: {answer.get('error')}")
