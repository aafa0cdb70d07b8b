"""Browser tests: a real ``studio up`` driven by Playwright in Debian's Chromium (never a downloaded one)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, RunningStudio, reset_caches, skip_or_fail

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str | None:
    for candidate in (os.environ.get("STUDIO_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def browser():
    path = _chromium()
    if not path:
        skip_or_fail("browser", "Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def output_dir(request: pytest.FixtureRequest) -> Path:
    """Screenshots of each page a test visits are kept here (test-output/<test name>/)."""
    folder = REPO / "test-output" / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="session")
def studio_server(tmp_path_factory):
    """One real ``studio up`` (MLflow, agent, UI) on free ports for every browser test of the run."""
    running = RunningStudio(tmp_path_factory.mktemp("browser-studio") / "home")
    try:
        running.info = running.wait_ready()
        yield running
    finally:
        running.stop()


@pytest.fixture
def studio(studio_server, monkeypatch):
    """The shared studio, with this test's services pointed at its home (so checks see what the UI did)."""
    monkeypatch.setenv("STUDIO_HOME", str(studio_server.home))
    monkeypatch.setenv("STUDIO_MLFLOW_URI", studio_server.info["mlflow_uri"])
    reset_caches()
    yield studio_server
    reset_caches()


@pytest.fixture
def page(browser, studio, output_dir):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.studio_url = studio.info["ui_url"]
    page.shots = output_dir
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def wait_for_app(page, timeout: float = 60_000) -> None:
    """Wait until Streamlit has finished a run, then fail on any exception it shows."""
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout
    )
    page.wait_for_timeout(300)
    exceptions = page.locator("[data-testid='stException']")
    assert exceptions.count() == 0, exceptions.first.inner_text()


def make_token(page, name: str) -> None:
    """Create a personal token on the Profile page, as a signed-in user does."""
    page.get_by_role("link", name="Profile", exact=True).click()
    wait_for_app(page)
    page.get_by_label("Token name").fill(name)
    page.get_by_label("Token name").press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Create token").click()
    wait_for_app(page)


def click(locator, timeout_s: float = 90) -> None:
    """Click, trying again while a loaded machine keeps the page busy (a rerun replacing the element)."""
    import time

    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            locator.click(timeout=15_000)
            return
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise


def shot(page, name: str) -> Path:
    path = page.shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def grid_cells_contain(page, text: str, timeout_s: float = 20, *, partial: bool = False) -> bool:
    """Streamlit tables draw on a canvas; their cells are readable through the accessibility grid.

    Tables arrive after the rest of a rerun, so this waits (up to ``timeout_s``) for a cell with ``text``
    (a cell that is ``text``, or with ``partial`` one that holds it).
    """
    import time

    cells = page.locator("[data-testid='stDataFrame'] [role='gridcell']")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = cells.all_text_contents()
        if text in found or (partial and any(text in cell for cell in found)):
            return True
        page.wait_for_timeout(250)
    return False
