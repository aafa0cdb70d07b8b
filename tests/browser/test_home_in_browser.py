"""A newcomer's first minute in a real browser: ``studio demo`` then ``studio up`` (what ``make run`` does),
the bare address lands on the demo workspace, and Home's buttons run the sample job and sweep."""

import os
import re
import subprocess
import sys
import time

import pytest

from backend.services import jobs, open_session, samples, sweeps
from backend.statuses import JobStatus
from tests.browser.conftest import grid_cells_contain, shot, wait_for_app
from tests.conftest import BASE_ENV_DIR, REPO, STUDIO_ENV, RunningStudio, reset_caches
from tests.job_fixtures import wait

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("test_home_in_browser")]  # (one studio for both)


@pytest.fixture(scope="module")
def demo_studio(tmp_path_factory):
    """A studio of its own, prepared as ``make run`` prepares one (the shared one has no demo workspace,
    and must not get one: other tests open its bare address and expect 'default')."""
    home = tmp_path_factory.mktemp("first-minute") / "home"
    env = {k: v for k, v in os.environ.items() if k not in STUDIO_ENV}
    env.update({"STUDIO_HOME": str(home), "STUDIO_BASE_ENV_DIR": str(BASE_ENV_DIR)})
    made = subprocess.run(
        [sys.executable, "-m", "studio.cli", "demo"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    running = RunningStudio(home)
    try:
        running.info = running.wait_ready()
        yield running
    finally:
        running.stop()


@pytest.fixture
def fresh_page(browser, demo_studio, output_dir, monkeypatch):
    """A new browser (no session, no ``?ws=``); the test's services see the same studio."""
    monkeypatch.setenv("STUDIO_HOME", str(demo_studio.home))
    monkeypatch.setenv("STUDIO_MLFLOW_URI", demo_studio.info["mlflow_uri"])
    reset_caches()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.studio_url = demo_studio.info["ui_url"]
    page.shots = output_dir
    yield page
    context.close()
    reset_caches()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _job(name: str):
    with open_session() as s:
        return jobs.get_job(session=s, workspace="demo", name=name)


def _sweep(name: str):
    with open_session() as s:
        return sweeps.get_sweep(session=s, workspace="demo", name=name)


def _open_home(page) -> None:
    page.goto(page.studio_url)  # the bare address, as `make run` prints it
    wait_for_app(page)
    page.get_by_role("heading", name="Workspace · demo").wait_for(timeout=30_000)
    assert "ws=demo" in page.url


def _run_sample(page, button: str, param: str) -> str:
    page.get_by_role("button", name=button).click()
    page.wait_for_url(f"**{param}=*", timeout=60_000)
    wait_for_app(page)
    return page.url.split(f"{param}=", 1)[1].split("&", 1)[0]


def _wait_for_badge(page, status: str, timeout_s: float) -> None:
    page.locator(".stMarkdownBadge", has_text=status).first.wait_for(timeout=timeout_s * 1000)
    wait_for_app(page)


def _show_chart(page, timeout_s: float = 60) -> None:
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + timeout_s
    while True:
        chart = page.locator(".js-plotly-plot:visible").first
        chart.wait_for(timeout=max(1.0, deadline - time.monotonic()) * 1000)
        try:
            chart.scroll_into_view_if_needed(timeout=5_000)
            break
        except PlaywrightError as exc:  # the live view drew the chart anew meanwhile: find it again
            if "not attached" not in str(exc) or time.monotonic() > deadline:
                raise
    page.wait_for_timeout(800)


def test_the_bare_address_opens_the_demo_and_the_sample_job_runs_to_completed(fresh_page):
    page = fresh_page
    started = time.monotonic()
    _open_home(page)
    page.get_by_text("What it submits").first.click()
    page.locator("[data-testid='stCode']").first.wait_for()
    shot(page, "01-home-on-the-demo-workspace")

    name = _run_sample(page, "Run the sample job", "job")
    assert _job(name).experiment_name == "iris-demo"
    page.get_by_role("heading", name="iris logistic regression").wait_for(timeout=30_000)
    shot(page, "02-sample-job-just-submitted")
    # Followed live: its learning curve is drawn while it runs, then the page follows it to Completed.
    page.locator("[data-testid='stTab']", has_text="Metrics").click()
    _show_chart(page, timeout_s=120)
    shot(page, "03-sample-job-metrics-while-running")
    _wait_for_badge(page, "Completed", timeout_s=120)
    assert _job(name).status == JobStatus.COMPLETED
    # The charts followed live stay once it has ended, with what was logged in the tables beside them.
    page.locator("[data-testid='stTab']", has_text="Metrics").click()
    _show_chart(page, timeout_s=60)
    assert page.locator(".js-plotly-plot:visible").count() >= 2
    assert grid_cells_contain(page, "accuracy")
    shot(page, "04-sample-job-completed")
    print(f"first sample job on screen and Completed {time.monotonic() - started:.0f}s after opening Home")


@pytest.mark.timeout(600)  # a second job, a comparison and a 6-trial sweep, watched: long on a slow machine
def test_a_second_run_is_compared_and_the_sample_sweep_fills_in(fresh_page):
    page = fresh_page
    with open_session() as s:  # the first test ran one already; alone, this one starts with one too
        if not samples.list_sample_runs(session=s, workspace="demo", kind="job"):
            samples.run_sample(session=s, workspace="demo", kind="job")
    _open_home(page)
    second = _run_sample(page, "Run the sample job", "job")
    page.get_by_role("heading", name="iris logistic regression").wait_for(timeout=30_000)
    assert wait(second, workspace="demo").status == JobStatus.COMPLETED
    _wait_for_badge(page, "Completed", timeout_s=60)

    _open_home(page)
    compare = page.get_by_role("link", name="Compare the runs of iris-demo (2)")
    compare.wait_for(timeout=30_000)
    shot(page, "05-home-with-two-runs")
    compare.click()
    wait_for_app(page)
    page.get_by_role("heading", name="Compare runs of iris-demo").wait_for(timeout=30_000)
    _show_chart(page)
    shot(page, "06-compare-the-two-runs")

    _open_home(page)
    sweep = _run_sample(page, "Run the sample sweep", "sweep")
    page.get_by_role("heading", name="iris logistic regression sweep").wait_for(timeout=60_000)
    # Trials fill in while the sweep runs: the live view shows the first ones done before the sweep ends.
    done_so_far = page.get_by_test_id("stMetricValue").filter(has_text=re.compile(r"^[1-5] / 6$"))
    done_so_far.first.wait_for(timeout=180_000)
    shot(page, "07-sample-sweep-running")
    assert wait(sweep, workspace="demo", timeout_s=240).status == JobStatus.COMPLETED
    _wait_for_badge(page, "Completed", timeout_s=60)
    view = _sweep(sweep)
    assert view.job.status == JobStatus.COMPLETED and len(view.trials) == 6
    page.get_by_text(f"Best trial: {view.best_trial}").wait_for(timeout=30_000)
    shot(page, "08-sample-sweep-completed")
    page.locator("[data-testid='stTab']", has_text="Charts").click()
    wait_for_app(page)
    _show_chart(page)
    shot(page, "09-sample-sweep-charts")
