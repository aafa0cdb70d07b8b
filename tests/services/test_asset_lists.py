"""Data asset lists at scale, on both databases: the true total of names, complete paging, search and sort
by the database; and the page of models through the same page model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from backend.db.models import DataAsset
from backend.errors import ValidationError
from backend.services import asset_pages, data_assets, open_session
from backend.services.assets import AssetSummary
from backend.services.lookup import get_workspace_row

pytestmark = pytest.mark.usefixtures("database")
NAMES = 130


@pytest.fixture
def many_assets():
    """``NAMES`` names with 1 to 3 versions each; every 10th name has only archived versions."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with open_session() as s:
        ws = get_workspace_row(session=s, name="default")
        rows = [
            {
                "workspace_id": ws.id,
                "name": f"set-{i:04d}",
                "version": str(v),
                "type": "uri_file",
                "path": f"azureml://datastores/workspaceblobstore/paths/set-{i}/{v}.csv",
                "source": "",
                "description": "labelled images" if i % 4 == 0 else "tables",
                "tags": {},
                "archived": i % 10 == 0,
                "created_at": start + timedelta(minutes=(i * 7919) % NAMES, seconds=v),
            }
            for i in range(NAMES)
            for v in range(1, 2 + i % 3)
        ]
        s.execute(insert(DataAsset), rows)


def _page(**kwargs) -> asset_pages.AssetPage:
    with open_session() as s:
        return data_assets.page_data_assets(session=s, workspace="default", **kwargs)


def test_the_total_counts_names_and_paging_meets_each_once(many_assets):
    live = [f"set-{i:04d}" for i in range(NAMES) if i % 10]
    for sort in asset_pages.SORTS:
        seen = []
        offset = 0
        while page := _page(sort=sort, offset=offset, limit=25).items:
            seen += [a.name for a in page]
            offset += 25
        assert sorted(seen) == live and len(seen) == len(set(seen))
    first = _page(limit=25)
    assert first.total == len(live) and (first.first, first.last) == (1, 25) and first.pages == 5
    assert [a.name for a in first.items[:2]] == ["set-0001", "set-0002"]
    assert first.items[1].versions == 3 and first.items[1].latest_version == "3"
    assert _page(include_archived=True).total == NAMES
    with open_session() as s:
        whole = data_assets.list_data_assets(session=s, workspace="default")
    assert {a.name: a for a in _page(limit=500).items} == {a.name: a for a in whole}  # the same lines


def test_search_and_sort_are_done_by_the_database(many_assets):
    labelled = _page(search="LABELLED", limit=500)
    assert labelled.total == sum(1 for i in range(NAMES) if i % 4 == 0 and i % 10)
    assert all(a.description == "labelled images" for a in labelled.items)
    assert [a.name for a in _page(search="set-012", limit=500).items] == [
        f"set-{i:04d}" for i in range(121, 130)
    ]
    updated = _page(sort="updated", limit=500).items
    assert [a.updated_at for a in updated] == sorted((a.updated_at for a in updated), reverse=True)
    with pytest.raises(ValidationError, match="sort: 'size' is not a sort order"):
        _page(sort="size")
    with pytest.raises(ValidationError, match=r"limit: 0 is not a page size \(use 1 to 500\)"):
        _page(limit=0)


def test_a_page_of_summaries_read_elsewhere():
    when = datetime(2026, 1, 1, tzinfo=UTC)
    summaries = [
        AssetSummary(
            name=f"m{i:03d}",
            latest_version="1",
            type="mlflow_model",
            versions=1,
            description="fraud" if i % 2 else "",
            tags={},
            updated_at=when + timedelta(hours=i % 5),
            archived=False,
        )
        for i in range(120)
    ]
    page = asset_pages.page_of(summaries, search="FRAUD", sort="updated", offset=50, limit=50)
    assert page.total == 60 and len(page.items) == 10 and page.pages == 2
    assert all(s.description == "fraud" for s in page.items)
