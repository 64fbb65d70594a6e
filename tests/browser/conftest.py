"""Browser tests: a real server (gunicorn, its own SQLite file) driven by Debian's Chromium.

Playwright never downloads a browser here: it launches the machine's `chromium`
(SVGAI_CHROMIUM overrides the path). Without Playwright or Chromium the tests skip with the reason.
Screenshots go to tests/browser/screenshots/ (SVGAI_SCREENSHOTS overrides), which CI keeps.
With SVGAI_DOCS_SCREENSHOTS=1 the ones README.md shows are also written to docs/screenshots/:
`SVGAI_DOCS_SCREENSHOTS=1 make test PYTEST_ARGS=tests/browser/test_converter.py` retakes them
from the current build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.servers import Server, free_port

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
CHROMIUM = Path(os.environ.get("SVGAI_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(os.environ.get("SVGAI_SCREENSHOTS", Path(__file__).parent / "screenshots"))
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
DESKTOP = {"width": 1366, "height": 900}
MOBILE = {"width": 375, "height": 740}

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = ""
    if sync_playwright is None:
        reason = "Playwright for Python is not installed (pip install -r requirements.txt)"
    elif not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium, or set SVGAI_CHROMIUM)"
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def _environment(folder: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.browser.server_settings",
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "MEDIA_ROOT": str(folder / "media"),
        "SVGAI_SECRET_KEY_FILE": str(folder / "secret_key"),
        "SVGAI_WORKERS": "2",
        "DEBUG": "false",
        "PYTHONUNBUFFERED": "1",
        # One address makes every request here: the anonymous rate limits would count them all.
        "SVGAI_THROTTLE_UPLOAD_ANON": "off",
        "SVGAI_THROTTLE_CONVERT_ANON": "off",
    }
    env.update(extra)
    return env


def _start(folder: Path, **extra: str) -> Server:
    port = free_port()
    env = _environment(folder, **extra)
    log = folder / "server.log"
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "svgai_site.wsgi:application",
        "--config",
        str(ROOT / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--threads",
        "8",
        "--timeout",
        "120",
    ]
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(url=f"http://127.0.0.1:{port}", process=process, log=log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the test server exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url + "/api/ai-health", timeout=5):
                return server
        except urllib.error.HTTPError:
            return server  # 503 from an unhealthy AI is still a running server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the test server did not answer in 90 s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def _migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("browser-db")
    (folder / "no-models").mkdir()
    # Migrating needs no models: an empty folder spares loading torch (the servers load their own).
    env = _environment(folder, SVGAI_MODELS_DIR=str(folder / "no-models"))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return folder / "db.sqlite3"


def _server_folder(tmp_path_factory: pytest.TempPathFactory, name: str, db: Path) -> Path:
    folder = tmp_path_factory.mktemp(name)
    shutil.copy(db, folder / "db.sqlite3")
    return folder


@pytest.fixture(scope="session")
def live_url(tmp_path_factory: pytest.TempPathFactory, _migrated_db: Path) -> Iterator[str]:
    """Return the URL of a server with the shipped models."""
    server = _start(_server_folder(tmp_path_factory, "browser-server", _migrated_db))
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def no_ai_url(tmp_path_factory: pytest.TempPathFactory, _migrated_db: Path) -> Iterator[str]:
    """Return the URL of a server whose models folder is empty (AI unavailable)."""
    folder = _server_folder(tmp_path_factory, "browser-server-no-ai", _migrated_db)
    empty = folder / "no-models"
    empty.mkdir()
    server = _start(folder, SVGAI_MODELS_DIR=str(empty), SVGAI_WORKERS="1")
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@dataclass
class ConsoleLog:
    """Errors the page logged; `allow` names expected ones (e.g. a 404 while feature-detecting)."""

    errors: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def allow(self, fragment: str) -> None:
        self.allowed.append(fragment)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in self.allowed)]


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def open_page(browser: Browser, console: ConsoleLog) -> Iterator[Callable[..., Page]]:
    """Return a function opening the converter page in a fresh browser context."""
    contexts = []

    def _open(url: str, *, viewport: dict[str, int] = DESKTOP, **options: Any) -> Page:
        context = browser.new_context(viewport=viewport, accept_downloads=True, **options)
        contexts.append(context)
        page = context.new_page()

        def on_console(message: Any) -> None:
            if message.type == "error":
                location = message.location.get("url", "") if message.location else ""
                console.errors.append(f"{message.text} {location}".strip())

        page.on("console", on_console)
        page.on("pageerror", lambda error: console.errors.append(f"page error: {error}"))
        page.goto(url + "/")
        page.wait_for_selector("body[data-ready=true]")
        page.wait_for_function("document.querySelector('#ai-status').dataset.state !== 'checking'")
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not console.unexpected(), f"console errors: {console.unexpected()}"


def screenshot_path(name: str) -> Path:
    """Return where the screenshot `name` goes (the folder CI keeps)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot of the page's current state for CI's artifacts."""
    path = screenshot_path(name)
    page.screenshot(path=str(path), full_page=full_page)
    return path


def for_readme(path: Path, name: str) -> None:
    """With SVGAI_DOCS_SCREENSHOTS=1, also save the screenshot at `path` as README's `name`."""
    if os.environ.get("SVGAI_DOCS_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS_SCREENSHOTS / f"{name}.png")
