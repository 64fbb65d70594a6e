"""A newcomer's first hour, scripted: a fresh clone, `make run`, then README.md's curl examples in
the order README shows them, each answer checked against what README says about it.

The examples are read from README.md (tests/readme.py), not copied here: an edit that breaks one
fails this run. The clone shares this checkout's virtualenv (a symlink) so that `make run` has
nothing to install.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests import readme
from tests.servers import Server, free_port

LOGO = readme.ROOT / "tests" / "data" / "si-mdx.png"
README_URL = "http://127.0.0.1:8000"
# What the download examples write (`-OJ`): the upload's name with the format's extension.
MAGIC = {"pdf": b"%PDF", "eps": b"%!PS", "png": b"\x89PNG", "dxf": b"SECTION"}


def _fresh_clone(folder: Path) -> Path:
    clone = folder / "svgai"
    subprocess.run(["git", "clone", "-q", str(readme.ROOT), str(clone)], check=True)
    venv = (readme.ROOT / ".venv").resolve()
    (clone / ".venv").symlink_to(venv)
    # Every file of a clone is new: make would take requirements.txt as newer than the shared
    # venv's stamp and reinstall into it. The checkout's own date keeps the stamp current.
    source = (readme.ROOT / "requirements.txt").stat()
    os.utime(clone / "requirements.txt", (source.st_atime, source.st_mtime))
    return clone


def _newcomer_environment() -> dict[str, str]:
    # A newcomer's shell: none of this test run's settings (pytest-django's settings module, a
    # CI PostgreSQL, a broker), so `make run` takes its embedded defaults.
    dropped = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CELERY_BROKER_URL", "MEDIA_ROOT")
    return {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("SVGAI_")}


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Return `make run` serving a fresh clone on a free port."""
    clone = _fresh_clone(tmp_path_factory.mktemp("newcomer"))
    port = free_port()
    log = clone / "make-run.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=clone,
            env=_newcomer_environment(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(url=f"http://127.0.0.1:{port}", process=process, log=log)
    try:
        _wait_until_serving(server)
        yield server
    finally:
        server.stop()


def _wait_until_serving(server: Server) -> None:
    deadline = time.monotonic() + 240  # migrate, collectstatic, models: ~20 s idle
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"make run exited:\n{server.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url + "/api/ai-health", timeout=5):
                return
        except urllib.error.HTTPError:
            return  # an unhealthy AI still answers: the server runs
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"make run served nothing in 240 s:\n{server.log.read_text()[-3000:]}")


@dataclass
class Newcomer:
    """A shell in a folder holding `logo.png`, running README's commands against a server."""

    url: str
    folder: Path
    values: dict[str, str] = field(default_factory=dict)

    def run(self, command: str) -> tuple[int, str]:
        """Run one README command as written (its placeholders filled); return status and body."""
        command = command.replace(README_URL, self.url)
        for placeholder, value in self.values.items():
            command = command.replace(f"<{placeholder}>", value)
        finished = subprocess.run(
            ["bash", "-c", command + " -w '\\n%{http_code}'"],
            cwd=self.folder,
            env={**os.environ, "ID": self.values.get("conversion_id", "")},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        body, _, status = finished.stdout.rpartition("\n")
        return int(status), body


def _assert_documented_keys(answer: dict[str, Any], keys: dict[str, dict | None], where: str):
    for key, nested in keys.items():
        if key.endswith("?"):
            continue
        assert key in answer, f"{where}: README promises `{key}`; the answer has {list(answer)}"
        if nested is not None and key != "models":  # `models: {name: {...}}`: names vary
            _assert_documented_keys(answer[key], nested, f"{where}.{key}")


def _endpoint(command: str) -> readme.Endpoint:
    method = "POST" if re.search(r"\s(-F|-d)\s", command) else "GET"
    path = readme.normalise(re.search(r"/api/[^\s'\"?]*", command).group(0))
    path = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "{id}", path)
    return next(e for e in readme.endpoints() if (e.method, e.path) == (method, path))


def _check_api_answer(newcomer: Newcomer, command: str, status: int, body: str) -> None:
    endpoint = _endpoint(command)
    expected = 202 if "→ 202" in endpoint.row else 200
    assert status == expected, f"{command}\n→ {status} {body[:500]}"
    answer = json.loads(body)
    if endpoint.answer_keys:
        _assert_documented_keys(answer, endpoint.answer_keys, f"{endpoint.method} {endpoint.path}")
    if endpoint.path == "/api/upload":
        assert answer["success"] is True
        assert (answer["filename"], answer["format"]) == ("logo.png", "PNG")
        newcomer.values["file_id"] = answer["file_id"]
    elif endpoint.path == "/api/convert-ai":
        assert answer["success"] is True
        assert answer["ai_metadata"]["tier_used"] in (1, 2, 3)
        assert answer["svg"].lstrip().startswith("<svg")
        assert answer["ai_metadata"]["routing"]["reason"]  # "routing: {reason, estimates}"
        newcomer.values["conversion_id"] = answer["conversion_id"]
    elif endpoint.path == "/api/conversions":  # "this client's conversions"
        ids = [c["conversion_id"] for c in answer["results"]]
        assert ids == [newcomer.values["conversion_id"]], answer
    elif endpoint.path == "/api/reports/quality":  # "and their quality figures"
        assert answer["success"] is True
        assert sum(row["count"] for row in answer["ai"]) == 1, answer
    elif endpoint.path == "/api/batches":  # every file sent is taken (logos.zip holds one logo)
        sent = command.count("files=@")
        assert (answer["success"], answer["items"], answer["refused_total"]) == (True, sent, 0)
        newcomer.values["batch_id"] = answer["batch_id"]
        newcomer.values["batch_items"] = str(sent)
    elif endpoint.path == "/api/batches/{id}":  # followed "until it is done"
        assert answer["status"] == "done", answer
        assert answer["counts"]["done"] == int(newcomer.values["batch_items"]), answer


def _follow(newcomer: Newcomer, command: str) -> tuple[int, str]:
    """Run a batch's status command until the batch has finished, as a reader would repeat it."""
    deadline = time.monotonic() + 300
    while True:
        status, body = newcomer.run(command)
        if status != 200 or json.loads(body)["status"] not in ("queued", "running"):
            return status, body
        assert time.monotonic() < deadline, f"the batch did not finish in 300 s: {body[:500]}"
        time.sleep(1)


def _check_download(newcomer: Newcomer, command: str, status: int) -> None:
    assert status == 200, command
    if "/api/batches/" in command:  # "its ZIP: logo.svg, logo-2.svg and report.csv"
        name = re.search(r" -o (\S+)", command)[1]
        expected = ["logo-2.svg", "logo.svg", "report.csv"]
        if name == "converted.zip":  # formats svg,pdf,png of logos.zip's icons/logo.png
            expected = ["icons/logo.pdf", "icons/logo.png", "icons/logo.svg", "report.csv"]
        with zipfile.ZipFile(newcomer.folder / name) as archive:
            assert sorted(archive.namelist()) == expected
            header = archive.read("report.csv").decode().splitlines()[0]
        # README: "name, status, tier, measured_ssim, predicted_ssim, bytes, time_s, error, ..."
        assert header.startswith("name,status,tier,measured_ssim,predicted_ssim,bytes,time_s")
        return
    query = dict(re.findall(r"[?&](\w+)=([\w.]+)", command))
    # "The answer is an attachment named after the upload (`logo.pdf`)", which -OJ keeps.
    named = re.search(r" -o (\S+)", command)
    written = newcomer.folder / (named.group(1) if named else f"logo.{query['format']}")
    assert written.exists(), f"{command} wrote {sorted(p.name for p in newcomer.folder.iterdir())}"
    assert MAGIC[query["format"]] in written.read_bytes()[:64]
    if query["format"] == "png":  # `width=1024`: pixels
        assert Image.open(written).width == int(query["width"])
    if query["format"] == "eps":  # `width=3&unit=in`: 216 pt
        assert re.search(rb"%%BoundingBox: 0 0 21[56] ", written.read_bytes())


def test_readme_examples_run_in_order_against_make_run(make_run, tmp_path):
    blocks = readme.curl_examples()
    assert len(blocks) >= 2, "README's curl examples went missing"
    shutil.copy(LOGO, tmp_path / "logo.png")
    # README's batch examples send a folder of the newcomer's logos as `logos.zip`.
    with zipfile.ZipFile(tmp_path / "logos.zip", "w") as folder:
        folder.write(LOGO, "icons/logo.png")
    newcomer = Newcomer(url=make_run.url, folder=tmp_path)

    for command in (c for block in blocks for c in block):
        if "/download" in command:
            _check_download(newcomer, command, newcomer.run(command)[0])
        elif command.endswith("/api/batches/<batch_id>"):
            _check_api_answer(newcomer, command, *_follow(newcomer, command))
        else:
            _check_api_answer(newcomer, command, *newcomer.run(command))
    assert {"file_id", "conversion_id", "batch_id"} <= set(newcomer.values)


def test_without_the_jar_ids_still_reach_the_records_but_lists_are_empty(make_run, tmp_path):
    # README: "Without the jar ... every curl call is a new anonymous client: its upload and
    # conversion are still reached by their ids, but /api/conversions/ and the report list
    # nothing."
    shutil.copy(LOGO, tmp_path / "logo.png")
    newcomer = Newcomer(url=make_run.url, folder=tmp_path)
    upload, convert, listing, report = (
        re.sub(r" -[cb] jar", "", command) for command in readme.curl_examples()[0][:4]
    )
    assert "jar" not in upload + convert + listing + report

    newcomer.values["file_id"] = json.loads(newcomer.run(upload)[1])["file_id"]
    conversion = json.loads(newcomer.run(convert)[1])
    record = f"curl -s {make_run.url}/api/conversions/{conversion['conversion_id']}/"
    status, body = newcomer.run(record)

    assert status == 200
    assert json.loads(body)["conversion_id"] == conversion["conversion_id"]
    assert json.loads(newcomer.run(listing)[1])["count"] == 0
    assert all(row["count"] == 0 for row in json.loads(newcomer.run(report)[1])["ai"])


def test_make_admin_and_a_token_make_the_records_your_own(make_run, tmp_path):
    # README: `make admin` "runs `createsuperuser --noinput` when DJANGO_SUPERUSER_USERNAME,
    # _PASSWORD and _EMAIL are set"; `manage.py drf_create_token <username>` gives an API token,
    # and with `-H 'Authorization: Token <key>'` instead of the jar the records are the user's.
    # Runs after the tests above: its listing counts their records.
    clone = make_run.log.parent
    admin = {
        "DJANGO_SUPERUSER_USERNAME": "newcomer",
        "DJANGO_SUPERUSER_PASSWORD": "a long enough passphrase",
        "DJANGO_SUPERUSER_EMAIL": "newcomer@example.com",
    }
    shell = {**_newcomer_environment(), **admin}
    subprocess.run(["make", "admin"], cwd=clone, env=shell, check=True, capture_output=True)
    made = subprocess.run(
        [".venv/bin/python", "manage.py", "drf_create_token", "newcomer"],
        cwd=clone,
        env=shell,
        check=True,
        capture_output=True,
        text=True,
    )
    key = re.search(r"\b([0-9a-f]{40})\b", made.stdout)[1]
    shutil.copy(LOGO, tmp_path / "logo.png")
    newcomer = Newcomer(url=make_run.url, folder=tmp_path)
    token = f"-H 'Authorization: Token {key}'"
    upload, convert, listing = (
        re.sub(r"( -[cb] jar)+", " " + token, command) for command in readme.curl_examples()[0][:3]
    )

    newcomer.values["file_id"] = json.loads(newcomer.run(upload)[1])["file_id"]
    conversion = json.loads(newcomer.run(convert)[1])["conversion_id"]
    mine = json.loads(newcomer.run(listing)[1])
    theirs = json.loads(newcomer.run(re.sub(r" -H 'Authorization: [^']+'", "", listing))[1])

    # The admin is staff, and "staff: all": the earlier tests' anonymous records too.
    assert conversion in [c["conversion_id"] for c in mine["results"]]
    assert mine["count"] > 1
    assert conversion not in [c["conversion_id"] for c in theirs["results"]]


def _get(url: str) -> tuple[int, str, str]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=60) as answer:
            return answer.status, answer.headers.get("Location", ""), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location", ""), error.read().decode()


def test_the_addresses_readme_lists_first_answer(make_run):
    # README's list: `/` a page, the schema at /api/schema/, Swagger UI at /api/docs/, /admin/,
    # and /health/ with "database, storage, cache and AI-model checks (`?format=json`)".
    page, schema, docs = (_get(make_run.url + path) for path in ("/", "/api/schema/", "/api/docs/"))
    admin = _get(make_run.url + "/admin/")
    health = _get(make_run.url + "/health/?format=json")

    assert [page[0], schema[0], docs[0], admin[0], health[0]] == [200, 200, 200, 302, 200]
    assert "svgai" in page[2]
    assert "/api/convert-ai" in schema[2]
    assert "swagger" in docs[2].lower()
    assert admin[1].startswith("/admin/login/")
    checks = " ".join(json.loads(health[2])).lower()
    assert all(word in checks for word in ("database", "storage", "cache", "model")), checks
