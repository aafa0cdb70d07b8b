"""One page of a list of versioned assets (data, models): the summaries shown, the true total, and the
search and sort that produced them."""

from __future__ import annotations

from backend.errors import ValidationError
from backend.services.assets import AssetSummary
from backend.services.paging import PageWindow

MAX_PAGE_SIZE = 500
SORTS = {"name": "Name A-Z", "updated": "Recently updated"}


class AssetPage(PageWindow):
    items: list[AssetSummary]

    @property
    def shown(self) -> int:
        return len(self.items)


def check_page(sort: str, offset: int, limit: int) -> None:
    if sort not in SORTS:
        raise ValidationError(f"sort: {sort!r} is not a sort order (use one of: {', '.join(SORTS)})")
    if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationError(f"limit: {limit!r} is not a page size (use 1 to {MAX_PAGE_SIZE})")
    if not isinstance(offset, int) or offset < 0:
        raise ValidationError(f"offset: {offset!r} must be 0 or more")


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
