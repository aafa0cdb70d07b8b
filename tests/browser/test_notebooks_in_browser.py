"""Notebooks in a real browser: start a compute instance on the Notebooks page, open a new notebook in
JupyterLab from there, run a cell that logs an MLflow metric, see that run on the Notebooks page, and stop
the instance: its server, kernel and every process under them end."""

from __future__ import annotations

import re
import time
import uuid

import psutil
import pytest

from backend.services import compute, notebook_servers, open_session
from backend.specs.compute import ComputeSpec
from tests.browser.conftest import grid_cells_contain, shot, wait_for_app

pytestmark = pytest.mark.browser
START_TIMEOUT_MS = 240_000


def _processes_under(path: str) -> list[str]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            argv = " ".join(proc.info["cmdline"] or [])
        except psutil.Error:
            continue
        if path in argv:
            found.append(f"{proc.pid}: {argv[:160]}")
    return found


@pytest.mark.timeout(900)
def test_open_a_notebook_in_jupyterlab_log_a_metric_see_the_run_and_stop_the_instance(page, studio):
    instance = f"nb-{uuid.uuid4().hex[:6]}"
    notebook = f"nb_{uuid.uuid4().hex[:6]}"
    with open_session() as s:  # stopped, as an instance someone created earlier
        compute.create_compute(
            session=s, workspace="default", spec=ComputeSpec(name=instance, type="computeinstance")
        )
        compute.stop_compute(session=s, workspace="default", name=instance)

    try:
        page.set_viewport_size({"width": 1500, "height": 1100})
        page.goto(f"{page.studio_url}/notebooks?compute={instance}")
        wait_for_app(page)
        page.get_by_label("Name", exact=True).fill(notebook)
        page.get_by_role("button", name="New notebook").click()
        wait_for_app(page)
        assert grid_cells_contain(page, f"{notebook}.ipynb", partial=True)

        page.goto(f"{page.studio_url}/notebooks?path={notebook}.ipynb&compute={instance}")
        wait_for_app(page)
        page.get_by_role("button", name="Start").click()
        opener = page.get_by_role("link", name=f"Open {notebook}.ipynb in JupyterLab")
        opener.wait_for(timeout=START_TIMEOUT_MS)
        shot(page, "1-instance-running")

        with page.context.expect_page() as opened:
            opener.click()
        lab = opened.value
        lab.wait_for_load_state()
        cell = lab.locator(".jp-Notebook .jp-Cell .cm-content").first
        cell.wait_for(timeout=120_000)
        # As a person does: run the cell once the kernel is there. A cell run while JupyterLab still has no
        # kernel for the notebook is dropped silently (its prompt stays "[ ]"): that failed this test.
        lab.get_by_text(re.compile(r"Python 3 \(curated.*\) \| Idle")).first.wait_for(timeout=120_000)
        cell.click()
        lab.keyboard.type("import mlflow; mlflow.log_metric('from_browser', 0.25); print('logged', 6 * 7)")
        lab.keyboard.press("Shift+Enter")
        try:
            lab.locator(".jp-OutputArea-output", has_text="logged 42").first.wait_for(timeout=180_000)
        except Exception:  # what JupyterLab showed instead (a dialog, a dead kernel) is the clue
            lab.screenshot(path=str(page.shots / "2-jupyterlab-no-output.png"))
            log = notebook_servers.server_dir("default", instance) / "host.log"
            print("JupyterLab's log:\n" + (log.read_text()[-4000:] if log.exists() else "(none)"))
            raise
        lab.screenshot(path=str(page.shots / "2-jupyterlab.png"))

        page.goto(f"{page.studio_url}/notebooks?path={notebook}.ipynb&compute={instance}")
        wait_for_app(page)
        page.get_by_text(f"MLflow runs · experiment {notebook}").click()
        runs = page.locator("[data-testid='stExpander']", has_text="MLflow runs").locator("[role='gridcell']")
        deadline = time.monotonic() + 60
        while "0.25" not in runs.all_text_contents() and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        assert "0.25" in runs.all_text_contents(), runs.all_text_contents()
        shot(page, "3-the-notebooks-run")

        page.get_by_role("button", name="Stop").click()
        page.get_by_text("JupyterLab starts with the instance.").wait_for(timeout=120_000)
        folder = str(notebook_servers.instance_dir("default", instance))
        deadline = time.monotonic() + 30
        while _processes_under(folder) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert _processes_under(folder) == []
        shot(page, "4-instance-stopped")
    finally:  # a failure above must not leave the instance's server running after the suite
        with open_session() as s:
            compute.stop_compute(session=s, workspace="default", name=instance)
