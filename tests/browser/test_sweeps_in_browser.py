"""The Sweeps page in a real browser: build a sweep in the wizard, run it, open its parallel coordinates."""

import time

import pytest
from playwright.sync_api import expect

from backend.services import datastores, open_session, sweeps
from backend.statuses import JobStatus
from tests.browser.conftest import grid_cells_contain, shot, wait_for_app
from tests.job_fixtures import wait

pytestmark = pytest.mark.browser

# Logs `acc` over MLflow's REST API, without `import mlflow`, so trials start fast.
TRAIN = b"""import argparse, json, os, time, urllib.request
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float)
p.add_argument("--kind")
a = p.parse_args()
url = os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-metric"
for i in range(3):
    value = a.lr * (i + 1) / 3 * (1.0 if a.kind == "deep" else 0.8)
    body = {"run_id": os.environ["MLFLOW_RUN_ID"], "key": "acc", "value": value,
            "timestamp": int(time.time() * 1000), "step": i}
    urllib.request.urlopen(urllib.request.Request(url, json.dumps(body).encode(),
                                                  {"Content-Type": "application/json"})).read()
    time.sleep(0.3)
"""


def _fill(page, label: str, value: str, nth: int = 0) -> None:
    field = page.get_by_role("textbox", name=label, exact=True).nth(nth)
    field.fill(value)
    field.press("Enter")
    wait_for_app(page)


def _choose(page, label: str, option: str) -> None:
    page.get_by_test_id("stSelectbox").filter(has_text=label).first.click()
    page.keyboard.type(option)  # the list filters as you type, so the option is never scrolled away
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_app(page)


def _tab(page, name: str) -> None:
    page.locator("[data-testid='stTab']", has_text=name).click()
    wait_for_app(page)


def test_build_a_sweep_in_the_wizard_run_it_and_open_its_parallel_coordinates(page):
    with open_session() as s:
        datastores.upload_bytes(
            session=s, workspace="default", name="workspaceworkingdirectory", path="tune/train.py", data=TRAIN
        )
    page.goto(page.studio_url)
    wait_for_app(page)
    page.get_by_role("link", name="Sweeps", exact=True).click()
    wait_for_app(page)
    page.get_by_role("button", name="Create sweep").click()
    wait_for_app(page)

    # The trial: a command on the code folder of the workspace's working-directory datastore.
    command = page.get_by_role("textbox", name="Command")
    command.fill("python train.py --lr ${{search_space.lr}} --kind ${{search_space.kind}}")
    command.press("Control+Enter")
    wait_for_app(page)
    _choose(page, "Code folder", "tune")

    # The search space, row by row; a bad row is named as soon as it is typed.
    _fill(page, "Parameter", "lr")
    _choose(page, "Distribution", "uniform")
    _fill(page, "min_value", "0.9")
    _fill(page, "max_value", "0.2")
    expect(page.get_by_test_id("stAlert").first).to_contain_text("search_space.lr: min_value must be below")
    shot(page, "01-wizard-error-names-the-parameter")
    _choose(page, "Distribution", "choice")
    _fill(page, "values", "0.2, 0.8")
    page.get_by_role("button", name="Add parameter").click()
    wait_for_app(page)
    _fill(page, "Parameter", "kind", nth=1)
    _fill(page, "values", "shallow, deep", nth=1)
    _choose(page, "Sampling algorithm", "grid")
    _fill(page, "Primary metric", "acc")
    yaml_block = page.locator("[data-testid='stCode']").first
    expect(yaml_block).to_contain_text("sampling_algorithm: grid")
    expect(yaml_block).to_contain_text("code: azureml://datastores/workspaceworkingdirectory/paths/tune")
    assert page.get_by_test_id("stAlert").count() == 0
    shot(page, "02-wizard-with-yaml")

    page.get_by_role("button", name="Submit").click()
    page.wait_for_url("**sweep=*", timeout=60_000)
    wait_for_app(page)
    name = page.url.split("sweep=", 1)[1].split("&", 1)[0]
    page.get_by_role("heading", name=name).wait_for(timeout=60_000)
    wait_for_app(page)
    shot(page, "03-sweep-just-submitted")
    done = wait(name, timeout_s=240)
    assert done.status == JobStatus.COMPLETED, done.failure_reason
    # The live view follows the sweep to its end without a reload.
    page.locator(".stMarkdownBadge", has_text="Completed").first.wait_for(timeout=90_000)
    wait_for_app(page)
    with open_session() as s:
        view = sweeps.get_sweep(session=s, workspace="default", name=name)
    assert sorted((t.params["lr"], t.params["kind"]) for t in view.trials) == [
        (0.2, "deep"),
        (0.2, "shallow"),
        (0.8, "deep"),
        (0.8, "shallow"),
    ]
    assert view.best_trial == next(t.name for t in view.trials if t.params == {"lr": 0.8, "kind": "deep"})
    page.get_by_text(f"Best trial: {view.best_trial}").wait_for(timeout=30_000)
    wait_for_app(page)
    deadline = time.monotonic() + 30
    while not grid_cells_contain(page, view.best_trial) and time.monotonic() < deadline:
        page.wait_for_timeout(500)  # the table is redrawn by the live view's next refresh
    assert grid_cells_contain(page, view.best_trial)
    shot(page, "04-sweep-completed-trials")

    _tab(page, "Charts")
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    page.wait_for_timeout(800)
    shot(page, "05-charts")
    _tab(page, "Parallel coordinates")
    parallel = page.locator(".js-plotly-plot .parcoords").first
    parallel.wait_for(timeout=30_000)
    page.wait_for_timeout(800)
    labels = page.locator(".js-plotly-plot .parcoords .axis-title").all_text_contents()
    assert labels == ["lr", "kind", "acc"]
    shot(page, "06-parallel-coordinates")
    _tab(page, "Importance")
    page.locator(".js-plotly-plot .barlayer").first.wait_for(timeout=30_000)
    page.wait_for_timeout(800)
    shot(page, "07-importance")
    _tab(page, "Policy what-if")
    page.get_by_text("Trials it would stop").wait_for(timeout=30_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    page.wait_for_timeout(800)
    shot(page, "08-what-if")
