"""One page of a list of versioned assets (data, models): the summaries shown, the true total, and the
search and sort that produced them."""

from __future__ import annotations

from backend.services import paging
from backend.services.assets import AssetSummary
from backend.services.paging import PageWindow

SORTS = {"name": "Name A-Z", "updated": "Recently updated"}


class AssetPage(PageWindow):
    items: list[AssetSummary]

    @property
    def shown(self) -> int:
        return len(self.items)


def check_page(sort: str, offset: int, limit: int) -> None:
    paging.check_page(sort, offset, limit, SORTS)


def page_of(
    summaries: list[AssetSummary], *, search: str | None, sort: str, offset: int, limit: int
) -> AssetPage:
    """A page of summaries already read (a registry that is not Studio's database: MLflow's models)."""
    check_page(sort, offset, limit)
    text = (search or "").strip().lower()
    found = [s for s in summaries if not text or text in s.name.lower() or text in s.description.lower()]
    if sort == "updated":
        found.sort(key=lambda s: (-s.updated_at.timestamp(), s.name))
    else:
        found.sort(key=lambda s: s.name)
    return AssetPage(items=found[offset : offset + limit], total=len(found), offset=offset, limit=limit)
