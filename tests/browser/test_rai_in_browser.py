"""The Responsible AI page in a real browser on the loan fixture: the planted disparity on the Fairness
tab, the planted error cohort at the top of the error analysis, and a screenshot of every tab."""

from urllib.parse import quote

import pytest

from tests.browser.conftest import grid_cells_contain, shot, wait_for_app
from tests.job_fixtures import wait
from tests.rai.rai_setup import register_fixture
from tests.ui.test_rai_page import TABS, create_insights

pytestmark = pytest.mark.browser


def open_tab(page, name: str, tab: str) -> None:
    page.goto(f"{page.studio_url}/responsible_ai?name={name}&tab={quote(tab)}")
    wait_for_app(page)


def test_the_planted_disparity_and_error_cohort_show_on_every_tab(page, studio):
    refs = register_fixture("logreg")
    insight = create_insights(refs)
    job = wait(insight.job, timeout_s=300)
    assert job.status == "Completed", job.failure_reason
    page.set_viewport_size({"width": 1400, "height": 2200})  # Streamlit scrolls inside the page: show all

    page.goto(f"{page.studio_url}/responsible_ai")
    wait_for_app(page)
    assert grid_cells_contain(page, insight.name)
    shot(page, "rai-list")

    open_tab(page, insight.name, "Fairness")
    # The first open of an insight reads its results from MLflow: slow on a loaded machine (a CI run waited
    # over 30 s), so this first wait is long; the later tabs reuse what it read.
    page.get_by_text("Demographic parity difference").first.wait_for(timeout=120_000)
    metric = page.locator("[data-testid='stMetric']").filter(has_text="Demographic parity difference")
    assert "0.164" in metric.first.inner_text()
    gap = page.get_by_text("Selection rate ranges from").first.inner_text()
    assert "0.336" in gap and "female" in gap and "0.500" in gap and "male" in gap
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    page.get_by_text("gap 0.164").first.wait_for(timeout=30_000)  # written on the selection-rate panel
    shot(page, "rai-fairness")

    open_tab(page, insight.name, "Error analysis")
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    page.get_by_text("credit_history_years <= 2.85").first.wait_for(timeout=30_000)  # a node of the tree map
    assert grid_cells_contain(page, "debt_ratio > 0.672 and credit_history_years <= 2.85")  # top leaf
    shot(page, "rai-error-analysis")

    for tab in TABS:
        if tab in ("Fairness", "Error analysis"):
            continue
        open_tab(page, insight.name, tab)
        page.get_by_role("tab", name=tab).wait_for(timeout=30_000)
        page.wait_for_timeout(1500)  # charts draw after the run ends
        shot(page, "rai-" + tab.lower().replace(" & ", "-").replace(" ", "-"))

    name, version = refs["model"].split(":")
    page.goto(f"{page.studio_url}/models?name={name}&version={version}")
    wait_for_app(page)
    page.get_by_role("tab", name="Responsible AI").click()
    page.get_by_text("New insights of this version").wait_for(timeout=30_000)
    shot(page, "model-responsible-ai")
