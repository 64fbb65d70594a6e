"""Slow clients against the real embedded server, started exactly as `make run` starts it.

A slowloris client opens a connection and sends its headers a line at a time, never finishing.
The server must go on answering everyone else.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import draw_logo
from tests.servers import Server, free_port

ROOT = Path(__file__).resolve().parents[2]
SLOW_CLIENTS = 64  # four times `make run`'s 16 threads


def make_run_command(port: int) -> tuple[dict[str, str], list[str]]:
    """Return the environment and the server command `make run` would run on `port`."""
    shown = subprocess.run(
        ["make", "-n", "-s", "run", "HOST=127.0.0.1", f"PORT={port}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in shown.replace("\\\n", " ").splitlines() if "gunicorn" in x)
    words = shlex.split(line)
    env = {}
    while "=" in words[0] and not words[0].startswith(("/", ".")):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    words[0] = str(ROOT / words[0]) if not os.path.isabs(words[0]) else words[0]
    return env, words


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("slow-clients")
    port = free_port()
    extra, command = make_run_command(port)
    env = {
        **os.environ,
        **extra,
        "DJANGO_SETTINGS_MODULE": "svgai_site.settings",
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "MEDIA_ROOT": str(folder / "media"),
        "STATIC_ROOT": str(folder / "static"),
        "SVGAI_SECRET_KEY_FILE": str(folder / "secret_key"),
        "GUNICORN_CONTROL_SOCKET": str(folder / "gunicorn.ctl"),
        "SVGAI_WORKERS": "1",
        "PYTHONUNBUFFERED": "1",
        # One address makes every request here.
        "SVGAI_THROTTLE_UPLOAD_ANON": "off",
        "SVGAI_THROTTLE_CONVERT_ANON": "off",
        "SVGAI_THROTTLE_READ_ANON": "off",
        "SVGAI_THROTTLE_REPORT_ANON": "off",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    log = folder / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    running = Server(url=f"http://127.0.0.1:{port}", process=process, log=log)
    try:
        deadline = time.monotonic() + 180  # a loaded machine starts the models slowly
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            with contextlib.suppress(OSError):
                if _get(running.url + "/health/", timeout=5)[0]:
                    break
            time.sleep(0.5)
        yield running
    finally:
        running.stop()


def _get(url: str, *, timeout: float) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _post(url: str, body: bytes, content_type: str, *, timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _multipart(name: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"'
            "\r\nContent-Type: image/png\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@contextlib.contextmanager
def slowloris(url: str, count: int) -> Iterator[list[socket.socket]]:
    """Hold `count` connections that send a header line every second and never finish."""
    host, port = url.removeprefix("http://").split(":")
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((host, int(port)), timeout=10)
        sock.sendall(b"GET /health/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sockets.append(sock)
    stop = threading.Event()

    def drip() -> None:
        while not stop.wait(1.0):
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.sendall(b"X-Slow: 1\r\n")

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        yield sockets
    finally:
        stop.set()
        dripper.join()
        for sock in sockets:
            sock.close()


def test_server_answers_others_while_slow_clients_hold_connections(server):
    with slowloris(server.url, SLOW_CLIENTS):
        # Generous timeouts: the assertion is that an answer comes at all, not how fast.
        status, _ = _get(server.url + "/health/", timeout=30)
        assert status in (200, 503)

        body, content_type = _multipart("file", "logo.png", draw_logo(64))
        status, answer = _post(server.url + "/api/upload", body, content_type, timeout=30)
        assert status == 200, answer
        file_id = json.loads(answer)["file_id"]

        request = json.dumps({"file_id": file_id, "tier": 1}).encode()
        status, answer = _post(
            server.url + "/api/convert-ai", request, "application/json", timeout=60
        )
        assert status == 200, answer
        assert json.loads(answer)["success"] is True


def test_server_closes_a_connection_whose_headers_never_finish(server):
    # The default SVGAI_HEADER_TIMEOUT is 10 s; wait far longer for the server to act.
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=120) as sock:
        sock.sendall(b"GET /health/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n")
        answer = b""
        while chunk := sock.recv(4096):  # until the server closes the connection
            answer += chunk

    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
