"""Fault tests against a live gunicorn: kill a conversion worker, then the web worker, mid-request.

Each asserts the record (a row, with the reason), the recovery (the next conversion succeeds,
abandoned rows are swept) and that no conversion process is left orphaned.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psutil
import pytest
from PIL import Image

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
LOGO = ROOT / "tests" / "data" / "tw-1f6f3.png"
WORKER_MARK = "vectorizer.workers import _main"


def _request(url: str, body: bytes | None = None, content_type: str = "", timeout: float = 120):
    headers = {"Content-Type": content_type} if content_type else {}
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _multipart(data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _conversion_workers(pid: int) -> list[psutil.Process]:
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if WORKER_MARK in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def _orphans(pids: list[int]) -> list[int]:
    left = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                left.append(pid)
        except psutil.NoSuchProcess:
            continue
    return left


def _cpu_seconds(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return times.user + times.system


def _wait(predicate, seconds: float, step: float = 0.1):
    """Return predicate()'s first true value, polled every `step`; its last one after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


class Server:
    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = tmp / "db.sqlite3"
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{self.db}",
            "MEDIA_ROOT": str(tmp / "media"),
            "SECRET_KEY": "fault-tests-" + uuid.uuid4().hex * 2,
            "SVGAI_STALE_AFTER": "3",
            "SVGAI_SWEEP_INTERVAL": "1",
            "SVGAI_THROTTLE_UPLOAD_ANON": "off",
            "SVGAI_THROTTLE_CONVERT_ANON": "off",
            "GUNICORN_CONTROL_SOCKET": str(tmp / "gunicorn.ctl"),
            "LOG_LEVEL": "WARNING",
        }
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=self.env,
            check=True,
            timeout=300,
        )
        self.log = open(tmp / "gunicorn.log", "w")  # noqa: SIM115 - closed in stop()
        self.master = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "svgai_site.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--threads",
                "4",
                "--timeout",
                "120",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.wait_ready()

    def web_worker(self) -> int:
        children = psutil.Process(self.master.pid).children()
        return children[0].pid if children else 0

    def wait_ready(self) -> None:
        def ready() -> bool:
            try:
                return _request(f"{self.url}/api/model-status", timeout=5)[0] == 200 and bool(
                    # SVGAI_WORKERS (2), the express worker for budgeted conversions and the
                    # rescue worker (vectorizer/rescue.py), all started by gunicorn.conf.py
                    len(_conversion_workers(self.web_worker())) == 4
                )
            except (OSError, IndexError, psutil.NoSuchProcess):
                return False

        assert _wait(ready, 120, 0.5), Path(self.log.name).read_text()[-3000:]

    def rows(self) -> list[tuple[str, str, str]]:
        with sqlite3.connect(self.db, timeout=10) as db:
            return db.execute(
                "SELECT id, status, error FROM conversions_conversion ORDER BY created_at"
            ).fetchall()

    def upload(self, data: bytes) -> str:
        status, body = _request(f"{self.url}/api/upload", *_multipart(data))
        assert status == 200, body
        return body["file_id"]

    def convert(self, file_id: str, timeout: float = 120) -> tuple[int, dict]:
        payload = json.dumps({"file_id": file_id}).encode()
        return _request(f"{self.url}/api/convert", payload, "application/json", timeout)

    def stop(self) -> list[int]:
        workers = [p.pid for p in _conversion_workers(self.master.pid)]
        self.master.send_signal(signal.SIGTERM)
        try:
            self.master.wait(30)
        except subprocess.TimeoutExpired:
            self.master.kill()
            self.master.wait()
        self.log.close()
        return workers


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("faults"))
    yield server
    workers = server.stop()
    assert _wait(lambda: not _orphans(workers), 10), _orphans(workers)


@pytest.fixture(scope="module")
def slow_image() -> bytes:
    """A detailed logo at 2000×2000 (within the legacy pixel budget): seconds to trace."""
    buffer = io.BytesIO()
    Image.open(LOGO).convert("RGBA").resize((2000, 2000), Image.LANCZOS).save(buffer, "PNG")
    return buffer.getvalue()


def _start_conversion(server: Server, file_id: str) -> tuple[threading.Thread, list, str]:
    """Send a conversion in a thread; return it, its answer holder and the running row's id."""
    answer: list = []

    def call() -> None:
        try:
            answer.append(server.convert(file_id))
        except OSError as exc:  # the web worker died under the request
            answer.append(exc)

    known = {row[0] for row in server.rows()}
    thread = threading.Thread(target=call)
    thread.start()
    running = _wait(
        lambda: [r for r in server.rows() if r[1] == "running" and r[0] not in known], 30
    )
    assert running, server.rows()
    return thread, answer, running[0][0]


def _finish(thread: threading.Thread, answer: list):
    thread.join(120)
    assert not thread.is_alive()
    return answer[0]


def _row(server: Server, conversion_id: str) -> tuple[str, str, str]:
    return next(r for r in server.rows() if r[0] == conversion_id)


def test_killed_conversion_worker_fails_that_conversion_and_pool_recovers(server, slow_image):
    file_id = server.upload(slow_image)
    web = server.web_worker()
    victims = _conversion_workers(web)
    assert victims
    idle = {victim.pid: _cpu_seconds(victim) for victim in victims}
    thread, answer, conversion_id = _start_conversion(server, file_id)
    # The trace is under way once a worker spends CPU (an idle one waits on its pipe).
    busy = _wait(lambda: [v for v in victims if _cpu_seconds(v) > idle[v.pid] + 0.02], 60)
    assert busy, "no conversion worker started the trace"

    for victim in victims:
        victim.send_signal(signal.SIGKILL)
    status, body = _finish(thread, answer)

    assert status == 422, body
    assert "stopped from outside (SIGKILL" in body["error"]
    assert uuid.UUID(body["conversion_id"]) == uuid.UUID(conversion_id)
    row = _row(server, conversion_id)
    assert row[1] == "failed"
    assert "stopped from outside" in row[2]
    # Recovery: the pool replaces the workers and the next conversion succeeds.
    small = server.upload(LOGO.read_bytes())
    assert server.convert(small)[0] == 200
    assert server.web_worker() == web  # the web worker itself never noticed
    assert not _orphans([v.pid for v in victims])


def test_killed_web_worker_leaves_a_record_that_is_swept_and_no_orphans(server, slow_image):
    file_id = server.upload(slow_image)
    web = server.web_worker()
    thread, answer, conversion_id = _start_conversion(server, file_id)
    workers = [p.pid for p in _conversion_workers(web)]
    assert workers

    os.kill(web, signal.SIGKILL)
    outcome = _finish(thread, answer)

    assert isinstance(outcome, OSError) or outcome[0] >= 500
    # Its conversion workers die with it (PR_SET_PDEATHSIG), mid-trace.
    assert _wait(lambda: not _orphans(workers), 10), _orphans(workers)
    # The record was made before the work; the new web worker's sweeper marks it failed.
    swept = _wait(lambda: _row(server, conversion_id)[1] == "failed", 30)
    assert swept, _row(server, conversion_id)
    assert "stopped before it finished" in _row(server, conversion_id)[2]
    # Recovery: gunicorn started a new web worker, which converts.
    server.wait_ready()
    assert server.web_worker() != web
    small = server.upload(LOGO.read_bytes())
    assert server.convert(small)[0] == 200
