"""A job whose metric has 100,000 points: its page charts a downsample quickly and pages every value."""

import time

import pytest

from tests.browser.conftest import shot, wait_for_app
from tests.job_fixtures import submit, wait

pytestmark = pytest.mark.browser

POINTS = 100_000
LOG = """import time

import mlflow
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

run = mlflow.start_run()
client, now = MlflowClient(), int(time.time() * 1000)
for start in range(0, {points}, 1000):
    batch = [Metric("loss", 1.0 / (1 + i) + (i % 11) * 1e-3, now + i, i) for i in range(start, start + 1000)]
    client.log_batch(run.info.run_id, metrics=batch)
mlflow.end_run()
"""


def test_a_100000_point_metric_is_charted_on_the_job_page(page, tmp_path):
    job = submit(
        tmp_path,
        "command: python log.py\ncode: .\nenvironment: azureml:AzureML-sklearn-1.5@latest\n",
        {"log.py": LOG.format(points=POINTS)},
    )
    assert wait(job.name, timeout_s=600).status == "Completed"

    page.goto(f"{page.studio_url}/jobs?job={job.name}")
    wait_for_app(page)
    page.locator("[data-testid='stTab']", has_text="Metrics").click()
    began = time.monotonic()
    chart = page.locator(".js-plotly-plot:visible").first
    chart.wait_for(timeout=60_000)
    page.locator(".js-plotly-plot:visible .scatterlayer .trace").first.wait_for(timeout=60_000)
    took = time.monotonic() - began
    print(f"\n{POINTS:,}-point metric: chart drawn {took:.2f}s after opening the Metrics tab")
    caption = page.get_by_text(f"of {POINTS:,} points drawn")
    caption.wait_for(timeout=30_000)
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    shot(page, "01-metrics-chart")

    page.get_by_text("Values", exact=True).click()
    page.get_by_text(f"Points 1-1,000 of {POINTS:,}, in step order.").wait_for(timeout=30_000)
    page.get_by_text("Page (of 100)").wait_for(timeout=30_000)
    page.get_by_role("button", name="Download CSV").wait_for(timeout=30_000)
    shot(page, "02-values")
