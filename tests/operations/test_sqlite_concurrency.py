"""Embedded SQLite under concurrency: a live server and a command write the same file, both wait.

With SQLite's defaults (rollback journal, deferred transactions, 5 s busy timeout) the server
answered 500 "database is locked" while `manage.py benchmark` wrote records, and the command died
with the same error. Settings for SQLite URLs now turn on WAL, a longer busy timeout and
IMMEDIATE transactions; here a writer loop (tests/operations/sqlite_writer.py) runs beside a
gunicorn serving uploads on the same database file, and every request and write must succeed.
"""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from PIL import Image

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
WRITES = 150  # the command's transactions
UPLOADS = 10  # per request thread at least; they go on while the command writes
THREADS = 4


def _png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (seed % 256, (seed // 256) % 256, 7)).save(buffer, "PNG")
    return buffer.getvalue()


def _upload(url: str, data: bytes) -> tuple[int, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{url}/api/upload",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()[:300].decode(errors="replace")


@pytest.fixture
def live(tmp_path):
    """Yield (url, env) of a gunicorn on a fresh SQLite file; stop it after the test."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "SECRET_KEY": "sqlite-concurrency-" + uuid.uuid4().hex * 2,
        "SVGAI_THROTTLE_UPLOAD_ANON": "off",
        "SVGAI_UPLOAD_QUOTA_BYTES": "0",
        "SVGAI_UPLOAD_QUOTA_FILES": "0",
        "GUNICORN_CONTROL_SOCKET": str(tmp_path / "gunicorn.ctl"),
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "svgai_site.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                str(THREADS),
                "--timeout",
                "180",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # a readiness wait, not a speed assertion
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/conversions/", timeout=10) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        assert server.poll() is None, log.read_text()[-3000:]
        time.sleep(0.5)
    else:
        pytest.fail("the server did not answer: " + log.read_text()[-3000:])
    yield url, env, tmp_path / "db.sqlite3", log
    server.terminate()
    server.wait(60)


def test_a_command_and_the_server_write_the_same_sqlite_file_and_both_succeed(live):
    url, env, db, log = live
    writer = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            f"import tests.operations.sqlite_writer as w; w.main({WRITES})",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    failures: list[tuple[int, str]] = []
    sent = [0] * THREADS

    def client(k: int) -> None:
        # Requests go on for as long as the command writes (its start-up takes seconds).
        while writer.poll() is None or sent[k] < UPLOADS:
            status, body = _upload(url, _png(k * 100_000 + sent[k]))
            sent[k] += 1
            if status != 200:
                failures.append((status, body))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(THREADS)]
    for thread in threads:
        thread.start()
    output, _ = writer.communicate(timeout=600)
    for thread in threads:
        thread.join()

    assert writer.returncode == 0, output[-3000:]
    assert f"wrote {WRITES}" in output
    assert failures == [], (failures[:3], log.read_text()[-2000:])
    with sqlite3.connect(db, timeout=30) as connection:
        uploads = connection.execute("SELECT COUNT(*) FROM conversions_upload").fetchone()[0]
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    assert uploads == WRITES + sum(sent)
    assert mode == "wal"  # the server's and the command's connections set it on the file
