"""The Jobs list at scale, on both databases: true totals beyond 1,000, complete and stable paging,
filters, search and sorting done by the database, and counts per status from SQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend.errors import ValidationError
from backend.services import job_listing, jobs, open_session
from backend.services.lookup import get_workspace_row
from bench.ui_scale import EXPERIMENTS, STATUSES, seed_jobs

pytestmark = pytest.mark.usefixtures("database")
COUNT = 2_345


@pytest.fixture
def many_jobs():
    with open_session() as s:
        ws = get_workspace_row(session=s, name="default")
        # three rows share each creation time: paging must still be stable
        seed_jobs(session=s, workspace_id=ws.id, count=COUNT, same_time_every=3)
    return COUNT


def _page(**kwargs) -> job_listing.JobPage:
    with open_session() as s:
        return job_listing.page_jobs(session=s, workspace="default", **kwargs)


def test_the_total_is_true_beyond_a_thousand_and_the_counts_come_from_every_job(many_jobs):
    page = _page(limit=50)
    assert page.total == COUNT
    assert len(page.jobs) == 50 and (page.first, page.last) == (1, 50)
    assert page.pages == -(-COUNT // 50)
    expected = {s: sum(1 for i in range(COUNT) if STATUSES[i % len(STATUSES)] == s) for s in set(STATUSES)}
    assert page.status_counts == expected
    assert page.active == expected["Running"] + expected["Queued"]
    # newest first, ties broken by id: the very last job seeded comes first
    assert page.jobs[0].name == f"job-{COUNT:06d}"


@pytest.mark.parametrize("sort", list(job_listing.SORTS))
def test_paging_meets_every_job_once_in_every_order(many_jobs, sort):
    seen: list[str] = []
    offset = 0
    while True:
        page = _page(sort=sort, offset=offset, limit=500)
        if not page.jobs:
            break
        seen += [j.name for j in page.jobs]
        offset += len(page.jobs)
    assert len(seen) == COUNT
    assert len(set(seen)) == COUNT  # none twice, none missing
    again = [j.name for j in _page(sort=sort, offset=1000, limit=100).jobs]
    assert again == seen[1000:1100]  # the same page twice is the same rows


def test_filters_search_and_sort_are_applied_by_the_database(many_jobs):
    failed = _page(statuses=["Failed"], limit=500)
    assert failed.total == sum(1 for i in range(COUNT) if STATUSES[i % len(STATUSES)] == "Failed")
    assert {j.status for j in failed.jobs} == {"Failed"}
    assert failed.status_counts["Completed"] > 0  # counts per status ignore the status filter

    both = _page(statuses=["Running", "Queued"], experiment="tuning", limit=10)
    assert both.total == sum(
        1
        for i in range(COUNT)
        if STATUSES[i % len(STATUSES)] in ("Running", "Queued")
        and EXPERIMENTS[i % len(EXPERIMENTS)] == "tuning"
    )
    assert all(j.experiment_name == "tuning" and j.status in ("Running", "Queued") for j in both.jobs)

    found = _page(search="JOB-0012", limit=100)  # case-insensitive, part of a name
    assert sorted(j.name for j in found.jobs) == [f"job-{i:06d}" for i in range(1200, 1300)]
    assert found.total == 100
    assert _page(search="100%_", limit=10).total == 0  # LIKE wildcards are plain characters

    by_name = _page(sort="name", limit=3)
    assert [j.name for j in by_name.jobs] == ["job-000001", "job-000002", "job-000003"]
    last = _page(sort="name", offset=COUNT - 1, limit=50)
    assert [j.name for j in last.jobs] == [f"job-{COUNT:06d}"] and last.last == COUNT
    assert _page(offset=COUNT + 10).jobs == []


def test_archived_and_child_jobs_are_left_out_unless_asked(many_jobs):
    with open_session() as s:
        ws = get_workspace_row(session=s, name="default")
        parent = jobs.insert_job(
            session=s, workspace_id=ws.id, name="sweep-1", type_="sweep", spec={}, compute="serverless"
        )
        jobs.insert_job(
            session=s,
            workspace_id=ws.id,
            name="trial-1",
            type_="command",
            spec={},
            compute="serverless",
            parent_id=parent.id,
        )
        done = jobs.get_job(session=s, workspace="default", name="job-000001")
        assert done.status == "Completed"
        jobs.archive_job(session=s, workspace="default", name="job-000001")
    assert _page().total == COUNT  # COUNT - 1 archived + the sweep
    assert _page(include_archived=True).total == COUNT + 1
    assert _page(include_children=True).total == COUNT + 1
    assert [j.name for j in _page(parent="sweep-1").jobs] == ["trial-1"]
    assert _page(parent="sweep-1").jobs[0].parent == "sweep-1"


def test_experiments_are_listed_once_each(many_jobs):
    with open_session() as s:
        assert jobs.list_experiments(session=s, workspace="default") == sorted(EXPERIMENTS)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sort": "size"}, "sort: 'size' is not a sort order"),
        ({"limit": 0}, "limit: 0 is not a page size (use 1 to 500)"),
        ({"limit": 10_000}, "limit: 10000 is not a page size"),
        ({"offset": -1}, "offset: -1 must be 0 or more"),
        ({"statuses": ["Done"]}, "status: 'Done' is not a job status"),
    ],
)
def test_a_bad_page_request_is_one_clear_error(kwargs, message):
    with pytest.raises(ValidationError) as caught:
        _page(**kwargs)
    assert message in str(caught.value)


def test_all_jobs_reads_every_page(many_jobs):
    with open_session() as s:
        found = job_listing.all_jobs(session=s, workspace="default", experiment="nightly", chunk=200)
    assert (
        len(found)
        == len({j.name for j in found})
        == sum(1 for i in range(COUNT) if EXPERIMENTS[i % len(EXPERIMENTS)] == "nightly")
    )
    assert found[0].created_at >= found[-1].created_at
    assert datetime(2026, 1, 1, tzinfo=UTC) <= found[-1].created_at.replace(tzinfo=UTC)
