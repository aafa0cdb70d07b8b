"""The Jobs page in a real browser: create a job from the form, watch its log, clone it, compare the runs."""

import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from backend.services import jobs, open_session
from backend.statuses import JobStatus
from tests.browser.conftest import grid_cells_contain, shot, wait_for_app

pytestmark = pytest.mark.browser

TRAIN = b"""import sys
import time

import mlflow

epochs = int(sys.argv[1])
mlflow.log_param("epochs", epochs)
for epoch in range(epochs):
    print(f"epoch {epoch}", flush=True)
    mlflow.log_metric("loss", 1.0 / (epoch + 1) + 0.1 / epochs, step=epoch)
    time.sleep(1.0)
print("training done", flush=True)
"""
EXPERIMENT = "browser-compare"  # other browser tests share the studio: the list is searched for this
ROW_HEIGHT = 35  # Streamlit's table rows (and header), in pixels


def _status(name: str) -> str:
    with open_session() as s:
        return jobs.get_job(session=s, workspace="default", name=name).status


def _newest_job() -> str:
    with open_session() as s:
        return jobs.list_jobs(session=s, workspace="default")[0].name


def _log_text(page) -> str:
    """The log shown in the Logs tab (the other tabs' code blocks are hidden)."""
    blocks = page.locator("[data-testid='stCode']:visible")
    return blocks.last.inner_text() if blocks.count() else ""


def _wait_for_badge(page, status: str, timeout_s: float = 180) -> None:
    page.locator(".stMarkdownBadge", has_text=status).first.wait_for(timeout=timeout_s * 1000)


def _show_chart(page) -> None:
    """Scroll the visible chart into view (the app scrolls inside its own container)."""
    chart = page.locator(".js-plotly-plot:visible").first
    chart.wait_for(timeout=60_000)
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(800)


def _submit_form(page) -> str:
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url("**job=*", timeout=60_000)
    wait_for_app(page)
    return page.url.split("job=", 1)[1].split("&", 1)[0]


def _grid_row_of(page, name: str) -> int:
    """The 0-based data row that shows ``name`` (the grid's accessible rows; row 1 is the header)."""
    rows = page.locator("[data-testid='stDataFrame'] [role='row']")
    for i in range(rows.count()):
        if name in rows.nth(i).locator("[role='gridcell']").all_text_contents():
            return int(rows.nth(i).get_attribute("aria-rowindex") or i + 1) - 2
    raise AssertionError(f"job {name} is not in the table")


def _select_rows(page, names: list[str], attempts: int = 4) -> None:
    """Tick the selection checkbox of each job's row and check that the page saw it ("Compare (n)").

    The table draws on a canvas, so the checkbox is clicked by position; a click that lands while the grid
    is still being drawn (after a rerun) is lost, so it is tried again until the count moves."""
    for picked, name in enumerate(names, start=1):
        for name_ in names:
            assert grid_cells_contain(page, name_), f"job {name_} never appeared in the table"
        for _attempt in range(attempts):
            grid = page.locator("[data-testid='stDataFrame']").first
            grid.scroll_into_view_if_needed()
            box = grid.bounding_box()
            row = _grid_row_of(page, name)
            x, y = box["x"] + 18, box["y"] + ROW_HEIGHT * (row + 1) + ROW_HEIGHT / 2
            page.mouse.move(x, y)  # hover first: the checkbox shows under the pointer
            page.wait_for_timeout(300)
            page.mouse.click(x, y)
            try:
                page.get_by_role("button", name=f"Compare ({picked})").wait_for(timeout=8_000)
                break
            except PlaywrightTimeout:
                wait_for_app(page)  # a slow rerun may have taken the click after all: never click twice
                if page.get_by_role("button", name=f"Compare ({picked})").count():
                    break
        else:
            raise AssertionError(f"selecting the row of {name} never reached the page (Compare ({picked}))")
        wait_for_app(page)


def test_create_a_job_watch_its_log_clone_it_and_compare_the_runs(page, tmp_path):
    (tmp_path / "train.py").write_bytes(TRAIN)
    page.goto(page.studio_url)
    wait_for_app(page)
    page.get_by_role("link", name="Jobs", exact=True).click()
    wait_for_app(page)
    page.get_by_role("button", name="Create job").click()
    wait_for_app(page)

    # The form: code uploaded from the browser, a command with an input, the YAML it will submit.
    page.locator("input[type='file']").set_input_files(str(tmp_path / "train.py"))
    page.get_by_text("train.py").first.wait_for()
    command = page.get_by_role("textbox", name="Command")
    command.fill("python train.py ${{inputs.epochs}}")
    command.press("Control+Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Add input").click()
    wait_for_app(page)
    page.get_by_label("Name", exact=True).fill("epochs")
    page.get_by_label("Value", exact=True).fill("8")
    page.get_by_label("Value", exact=True).press("Enter")
    wait_for_app(page)
    page.get_by_text("Name, experiment, description").click()
    experiment = page.get_by_label("Experiment", exact=True)
    experiment.fill(EXPERIMENT)
    experiment.press("Enter")
    wait_for_app(page)
    yaml_block = page.locator("[data-testid='stCode']").first
    expect(yaml_block).to_contain_text("epochs: 8", timeout=30_000)
    expect(yaml_block).to_contain_text("code: src")
    shot(page, "01-create-form")
    first = _submit_form(page)
    assert first == _newest_job()

    # The log follows the running job, then the page follows it to Completed.
    page.locator("[data-testid='stTab']", has_text="Logs").click()
    seen_partial = False
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        text = _log_text(page)
        if "epoch 1" in text and "training done" not in text and not seen_partial:
            seen_partial = True
            shot(page, "02-log-while-running")
        if "training done" in text:
            break
        page.wait_for_timeout(500)
    assert seen_partial, f"the log never showed a partial run (job {_status(first)}; log shown: {text!r})"
    _wait_for_badge(page, "Completed")
    assert _status(first) == JobStatus.COMPLETED
    assert "training done" in _log_text(page)
    shot(page, "03-completed-log")

    # Clone it with fewer epochs: the prefilled form resubmits the same code.
    page.get_by_role("button", name="Clone").click()
    wait_for_app(page)
    expect(page.get_by_role("textbox", name="Command")).to_have_value("python train.py ${{inputs.epochs}}")
    page.get_by_label("Value", exact=True).fill("3")
    page.get_by_label("Value", exact=True).press("Enter")
    wait_for_app(page)
    shot(page, "04-clone-form")
    second = _submit_form(page)
    assert second != first
    _wait_for_badge(page, "Completed")
    assert _status(second) == JobStatus.COMPLETED

    # Pick both runs in the list and compare them.
    page.get_by_role("button", name="← All jobs").click()
    wait_for_app(page)
    search = page.get_by_placeholder("Search jobs: name, display name or experiment")
    search.fill(EXPERIMENT)
    search.press("Enter")
    wait_for_app(page)
    expect(page.get_by_text("rows 1-2 of 2")).to_be_visible(timeout=30_000)  # the service's count
    _select_rows(page, [first, second])
    compare = page.get_by_role("button", name="Compare (2)")
    shot(page, "05-list-two-selected")
    compare.click()
    wait_for_app(page)
    page.get_by_role("heading", name="Compare runs").wait_for()
    _show_chart(page)
    shot(page, "06-compare-curves")
    assert set(page.url.split("compare=", 1)[1].split("&", 1)[0].split("%2C")) == {first, second}
    for tab, name in (("Parallel coordinates", "07-parallel"), ("Scatter", "08-scatter")):
        page.locator("[data-testid='stTab']", has_text=tab).click()
        wait_for_app(page)
        _show_chart(page)
        shot(page, name)
    page.locator("[data-testid='stTab']", has_text="Table").click()
    wait_for_app(page)
    assert grid_cells_contain(page, first) and grid_cells_contain(page, second)
    shot(page, "09-table")
