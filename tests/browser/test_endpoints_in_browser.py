"""Endpoints in a real browser: train a model in a job, register its output from the job page, deploy it
with the wizard, send a request in the Test tab and see the prediction; Consume and Monitoring render."""

import json
import time
import uuid
import zipfile

import pytest
from playwright.sync_api import expect

from backend.services import endpoints, open_session
from tests.browser.conftest import click, grid_cells_contain, shot, wait_for_app
from tests.conftest import REPO
from tests.job_fixtures import submit, wait

pytestmark = pytest.mark.browser

IRIS = REPO / "assets" / "sample_data" / "iris.csv"
REQUEST = {
    "input_data": {
        "columns": ["sepal_length", "sepal_width", "petal_length", "petal_width"],
        "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]],
    }
}


def _deployment_state(endpoint: str, name: str) -> str:
    with open_session() as s:
        return endpoints.get_deployment(session=s, workspace="default", endpoint_name=endpoint, name=name)


def test_train_register_deploy_and_test_an_endpoint(page, studio, tmp_path):
    job = submit(
        tmp_path,
        f"""
        command: python train.py --data ${{{{inputs.iris}}}} --model-dir ${{{{outputs.model}}}}
        code: {REPO / "assets" / "sample_code"}
        inputs:
          iris: {{type: uri_file, path: {IRIS}}}
        outputs:
          model: {{type: mlflow_model}}
        environment: azureml:AzureML-sklearn-1.5@latest
        experiment_name: browser-endpoints
    """,
    )
    done = wait(job.name, timeout_s=300)
    assert done.status == "Completed", done.failure_reason

    # The job page: register its model output.
    model = f"iris-{uuid.uuid4().hex[:6]}"
    page.goto(f"{page.studio_url}/jobs?job={job.name}")
    wait_for_app(page)
    click(page.get_by_role("button", name="Register model"))
    name_box = page.get_by_role("textbox", name="Model name")
    name_box.fill(model)
    name_box.press("Enter")
    wait_for_app(page)
    shot(page, "1-job-register-model")
    register = page.get_by_role("button", name="Register", exact=True)
    expect(register).to_be_enabled()
    # The popover floats over the page; when the live job page redraws under it, Playwright can find it
    # "outside of the viewport" and retry forever. A click event on the button is what a person's click is.
    register.dispatch_event("click")
    link = page.get_by_role("link", name=f"Model {model}:1")
    link.wait_for(timeout=60_000)
    # (the same redraws as above: the link can be found "outside of the viewport")
    link.dispatch_event("click")
    wait_for_app(page)

    # The model's page: the Deploy wizard, to a new endpoint.
    page.get_by_role("button", name="Deploy", exact=True).first.click()
    wait_for_app(page)
    endpoint = f"{model}-ep"
    box = page.get_by_role("textbox", name="Endpoint name")
    box.fill(endpoint)
    box.press("Enter")
    wait_for_app(page)
    shot(page, "2-deploy-wizard")
    page.locator(".st-key-deploy_submit button").click()
    opened = page.get_by_role("link", name=f"Open endpoint {endpoint}")
    opened.wait_for(timeout=60_000)
    shot(page, "3-deployed")

    deadline = time.monotonic() + 300
    while (state := _deployment_state(endpoint, "blue")).provisioning_state not in ("Succeeded", "Failed"):
        assert time.monotonic() < deadline, "the deployment did not become ready"
        time.sleep(1)
    assert state.provisioning_state == "Succeeded", state.error

    # The endpoint's page: deployments, then the Test tab.
    opened.click()
    wait_for_app(page)
    page.get_by_text("Succeeded").first.wait_for(timeout=30_000)
    shot(page, "4-endpoint")
    page.get_by_role("tab", name="Test").click()
    wait_for_app(page)
    body = page.get_by_role("textbox", name="Request body (JSON)")
    body.fill(json.dumps(REQUEST))
    body.press("Control+Enter")
    wait_for_app(page)
    for _ in range(3):
        page.get_by_role("button", name="Send").click()
        wait_for_app(page)
    page.get_by_text("setosa").first.wait_for(timeout=30_000)
    page.get_by_text("virginica").first.wait_for(timeout=30_000)
    assert page.get_by_text("virginica").count() > 0
    assert page.locator("[data-testid='stMetricValue']", has_text="200").count() == 1
    shot(page, "5-test-tab")

    page.get_by_role("tab", name="Consume").click()
    wait_for_app(page)
    page.get_by_text("<your-key>").first.wait_for(timeout=30_000)  # the snippets come after the keys
    assert page.get_by_text("<your-key>").count() > 0
    shot(page, "6-consume-tab")
    # The Kubernetes manifests download as a zip (rendered on the click), the keys left out by default.
    page.get_by_text("Kubernetes manifests").click()
    wait_for_app(page)
    button = page.get_by_role("button", name="Download the manifests (.zip)")
    button.wait_for(timeout=30_000)
    shot(page, "7-k8s-manifests")
    with page.expect_download(timeout=60_000) as download:
        button.click()
    archive = tmp_path / "manifests.zip"
    download.value.save_as(archive)
    with zipfile.ZipFile(archive) as manifests:
        names = manifests.namelist()
        secret = next(manifests.read(n).decode() for n in names if "-secret-" in n)
    assert any("-deployment-" in n for n in names) and any("-ingress-" in n for n in names), names
    assert "studio online-endpoint get-credentials" in secret
    shot(page, "6b-consume-kubernetes")
    page.get_by_role("tab", name="Logs").click()
    wait_for_app(page)
    shot(page, "7-logs-tab")
    page.get_by_role("tab", name="Monitoring").click()
    wait_for_app(page)
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    shot(page, "8-monitoring-tab")
    page.goto(f"{page.studio_url}/endpoints")
    wait_for_app(page)
    assert grid_cells_contain(page, endpoint)
    shot(page, "9-endpoints-list")
