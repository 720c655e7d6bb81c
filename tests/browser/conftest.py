"""Browser tests: Playwright driving Debian's Chromium (headless) against live_server.

Chromium comes from the system packages (`apt-get install chromium`), never
from `playwright install` (which downloads a browser). Without it these tests
fail and say how to install it: they never skip.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connections

from tests.summarizer_project.helpers import free_port

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# The closed network makes Chromium stall on its background services without these.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
PASSWORD = "pass-word-123"  # tests.factories.UserFactory's


def require_chromium(path: Path = CHROMIUM) -> Path:
    """The Chromium binary, or a failed test that says how to install it (never a skip)."""
    if not path.is_file():
        pytest.fail(
            f"Chromium is not installed at {path}: the browser tests need it. Install it "
            "with `apt-get update && apt-get install -y --no-install-recommends chromium` "
            "(Debian/Ubuntu; .ci/run does this), or set CHROMIUM_PATH to a Chromium binary. "
            "Do not run `playwright install`.",
            pytrace=False,
        )
    return path


@pytest.fixture
def browser(monkeypatch):
    """A headless Chromium for one test (about a second to start)."""
    chromium = require_chromium()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop in this thread, which makes Django
    # refuse ORM calls; the tests' own ORM calls between page actions are synchronous
    # and safe. Only for this test: the variable must not leak into other tests'
    # subprocesses (`check --deploy` rejects it).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
            # Close this thread's database connections while Django still allows it
            # here; left open, they keep PostgreSQL from dropping the test database.
            connections.close_all()


@pytest.fixture
def page(browser, live_server, request):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1400, "height": 1000}
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            with contextlib.suppress(Exception):
                shoot(page, f"FAILED-{request.node.name}")
        context.close()
    assert not errors, f"JavaScript errors on the dashboard pages: {errors}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def shoot(page, name: str) -> Path:
    """A full-page screenshot under test-artifacts/browser/ (kept by CI as an artifact)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")


# --- a real TensorBoard ----------------------------------------------------------------


class TensorBoard:
    def __init__(self, logdir: Path, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        tensorboard = Path(sys.executable).parent / "tensorboard"
        argv = (
            [str(tensorboard)]
            if tensorboard.exists()
            else [sys.executable, "-m", "tensorboard.main"]
        )
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [
                    *argv,
                    f"--logdir={logdir}",
                    "--host=127.0.0.1",
                    f"--port={self.port}",
                    "--reload_interval=1",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tensorboard exited: {self.log.read_text()[-3000:]}")
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(self.url + "/data/runs", timeout=2) as resp,
            ):
                if resp.status == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError(
            f"tensorboard did not answer in {timeout}s: {self.log.read_text()[-3000:]}"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture
def tensorboard(settings, tmp_path):
    """A real TensorBoard on TENSORBOARD_LOGDIR (a temp dir); the admin proxy points at it.

    Started at once and waited for only when a test needs it, so it boots while
    the test does other work.
    """
    logdir = tmp_path / "tensorboard"
    logdir.mkdir()
    settings.TENSORBOARD_LOGDIR = logdir
    board = TensorBoard(logdir, tmp_path / "tensorboard.log")
    settings.TENSORBOARD_INTERNAL_URL = board.url
    try:
        yield board
    finally:
        board.stop()
