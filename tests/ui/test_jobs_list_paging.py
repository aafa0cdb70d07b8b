"""The Jobs list pages through every job (AppTest): the true total, a pager, the search and the sort done
by the service, counts per status from every job, and deep links to a page of a search."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from backend.services import open_session
from backend.services.lookup import get_workspace_row
from bench.ui_scale import seed_jobs
from tests.ui.conftest import APP

COUNT = 1_234


@pytest.fixture
def many_jobs():
    from backend.db import ensure_schema

    ensure_schema()
    with open_session() as s:
        ws = get_workspace_row(session=s, name="default")
        seed_jobs(session=s, workspace_id=ws.id, count=COUNT)


def _captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def _names(at) -> list[str]:
    return list(at.dataframe[0].value["name"])


def test_the_list_shows_the_true_total_and_pages_through_every_job(app, many_jobs):
    at = app("jobs.py")
    assert f"{COUNT:,} jobs, 352 active" in _captions(at)  # 176 Running + 176 Queued, of every job
    assert f"rows 1-50 of {COUNT:,}" in _captions(at)
    assert "By status: Canceled 176 · Completed 530 · Failed 176 · Queued 176 · Running 176" in _captions(at)
    assert _names(at)[:2] == ["job-001234", "job-001233"] and len(_names(at)) == 50
    assert at.button(key="jobs_prev").disabled

    at.button(key="jobs_next").click().run()
    assert f"rows 51-100 of {COUNT:,}" in _captions(at)
    assert _names(at)[0] == "job-001184"
    assert at.query_params["page"] == "2"

    at.number_input(key="jobs_page").set_value(25).run()  # the last page
    assert f"rows 1,201-1,234 of {COUNT:,}" in _captions(at)
    assert _names(at)[-1] == "job-000001" and len(_names(at)) == 34
    assert at.button(key="jobs_next").disabled

    seen = set()
    at.number_input(key="jobs_page").set_value(1).run()
    at.selectbox(key="jobs_page_size").select(500).run()
    for _ in range(3):
        seen |= set(_names(at))
        if not at.button(key="jobs_next").disabled:
            at.button(key="jobs_next").click().run()
    assert len(seen) == COUNT  # every job, each on one page


def test_search_sort_and_status_filter_are_asked_of_the_service(app, many_jobs):
    at = app("jobs.py")
    at.button(key="jobs_next").click().run()
    at.text_input(key="jobs_table_filter").input("JOB-0011").run()
    assert "100 jobs" in _captions(at) and "rows 1-50 of 100" in _captions(at)  # back to page 1
    at.selectbox(key="jobs_sort").select("name").run()
    assert _names(at)[:2] == ["job-001100", "job-001101"]
    at.multiselect(key="jobs_status").select("Failed").run()
    names = _names(at)
    assert names and all(n.startswith("job-0011") for n in names)
    assert set(at.dataframe[0].value["status"]) == {"Failed"}
    assert f"{len(names)} jobs" in _captions(at)
    at.text_input(key="jobs_table_filter").input("nothing-like-this").run()
    assert any("No job matches these filters" in i.value for i in at.info)


def _linked(**query: str) -> AppTest:
    """The Jobs page opened from a URL with these query parameters (``page`` is one of them)."""
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("../pages/jobs.py").run()
    assert not at.exception, at.exception
    return at


def test_a_deep_link_opens_a_page_of_a_search_in_an_order(many_jobs):
    at = _linked(q="job-000", sort="name", size="25", page="3")
    assert "rows 51-75 of 999" in _captions(at)
    assert _names(at)[0] == "job-000051"
    assert at.number_input(key="jobs_page").value == 3
    late = _linked(page="999")  # past the end: the last page
    assert f"rows 1,201-1,234 of {COUNT:,}" in _captions(late)
