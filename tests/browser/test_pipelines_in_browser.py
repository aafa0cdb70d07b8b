"""Compose a two-step pipeline in the browser, run it on the real agent, and watch its graph turn green."""

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from backend.services import open_session
from backend.services import pipeline_views as pv
from backend.statuses import JobStatus
from tests.browser.conftest import shot, wait_for_app
from tests.services.test_pipeline_views import READER, WRITER, register

pytestmark = pytest.mark.browser
COMPLETED_FILL = "rgb(67, 160, 71)"  # dag.STATUS_STYLE["Completed"], as the browser reports it


def _node_fills(page) -> list[str]:
    return page.locator(".js-plotly-plot .scatterlayer .point").evaluate_all(
        "nodes => nodes.map(n => getComputedStyle(n).fill)"
    )


def _running_step(pipeline: str, step: str, timeout_s: float = 120) -> str:
    import time

    from backend.services import jobs

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with open_session() as s:
            for child in jobs.list_jobs(session=s, workspace="default", parent=pipeline):
                if child.name.endswith(f"_{step}") and child.status == JobStatus.RUNNING:
                    return child.name
        time.sleep(0.2)
    raise AssertionError(f"step {step} of {pipeline} never ran")


def _choose(page, label: str, option: str) -> None:
    """Pick an option of a select box (again if a rerun redrew the box while its list was open)."""
    for _attempt in range(3):
        page.get_by_test_id("stSelectbox").filter(has_text=label).click()
        choice = page.get_by_role("option", name=option)
        try:
            choice.wait_for(timeout=5_000)
            choice.click()
            wait_for_app(page)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            wait_for_app(page)
    raise AssertionError(f"option {option!r} of {label!r} never showed")


def test_compose_run_and_watch_a_two_step_pipeline_turn_green(page, studio, tmp_path):
    # One writes a file to its output, the other reads it. The writer waits for a go-ahead file in its
    # working folder (all of the machine it can see, in its sandbox), so the graph is seen unfinished
    # first, then turning green live.
    wait_for_go = "for i in $(seq 1200); do [ -f ./go ] && break; sleep 0.1; done && "
    register(tmp_path / "c", WRITER.replace("command: >-\n  for", f"command: >-\n  {wait_for_go}for"), READER)
    page.goto(f"{page.studio_url}/components?name=writer&version=1")
    wait_for_app(page)
    page.get_by_role("heading", name="writer:1").wait_for()
    page.locator("[data-testid='stDataFrame'] [role='gridcell']").first.wait_for(state="attached")
    shot(page, "01-component")
    page.get_by_role("link", name="Use in a pipeline").click()
    wait_for_app(page)
    page.get_by_role("heading", name="Compose a pipeline").wait_for()
    assert "compose=1" in page.url and "component=writer" in page.url

    wait_for_app(page)
    _choose(page, "Component to add", "reader:1")
    page.get_by_role("button", name="Add step").click()
    wait_for_app(page)
    page.get_by_text("${{parent.jobs.writer.outputs.out}}").wait_for()
    shot(page, "02-composer")

    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(re.compile(r"pipeline="), timeout=30_000)
    wait_for_app(page)
    name = re.search(r"pipeline=([\w-]+)", page.url).group(1)
    page.locator(".js-plotly-plot").first.wait_for()
    shot(page, "03-submitted")
    assert COMPLETED_FILL not in _node_fills(page)
    writer = _running_step(name, "writer")  # its working folder is in place once it runs
    go = studio.home / "jobs" / "default" / writer / "wd" / "go"
    go.write_text("go")  # the writer finishes now; the page is not reloaded from here on

    page.wait_for_function(
        f"""() => {{
            const points = [...document.querySelectorAll('.js-plotly-plot .scatterlayer .point')];
            return points.length === 2 && points.every(p => getComputedStyle(p).fill === '{COMPLETED_FILL}');
        }}""",
        timeout=120_000,
    )
    wait_for_app(page)
    shot(page, "04-completed")
    with open_session() as s:
        view = pv.get_pipeline_view(session=s, workspace="default", name=name)
    assert view.job.status == JobStatus.COMPLETED
    assert [(step.name, step.status) for step in view.steps] == [
        ("writer", "Completed"),
        ("reader", "Completed"),
    ]
    assert _node_fills(page) == [COMPLETED_FILL, COMPLETED_FILL]

    # Clicking the second node opens that step: its log shows what the first step wrote.
    page.locator(".js-plotly-plot .scatterlayer .point").nth(1).click(force=True)
    wait_for_app(page)
    page.get_by_role("heading", name="reader").wait_for()
    log = page.get_by_text("hello-calm").first
    log.wait_for()
    log.scroll_into_view_if_needed()
    shot(page, "05-step")
    assert "step=reader" in page.url
