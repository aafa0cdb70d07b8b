"""The window of a paged list: which rows of the whole it shows (``first``-``last`` of ``total``)."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from backend.errors import ValidationError

MAX_PAGE_SIZE = 500  # rows a page shows at most


def check_page(sort: str, offset: int, limit: int, sorts: Iterable[str]) -> None:
    """One clear message for a sort order that is not one of ``sorts``, a page size out of range or a
    negative offset."""
    sorts = list(sorts)
    if sort not in sorts:
        raise ValidationError(f"sort: {sort!r} is not a sort order (use one of: {', '.join(sorts)})")
    if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationError(f"limit: {limit!r} is not a page size (use 1 to {MAX_PAGE_SIZE})")
    if not isinstance(offset, int) or offset < 0:
        raise ValidationError(f"offset: {offset!r} must be 0 or more")


class PageWindow(BaseModel):
    total: int  # rows that match the filters (all pages)
    offset: int
    limit: int

    @property
    def shown(self) -> int:
        """Rows on this page (each page model says which of its lists that is)."""
        raise NotImplementedError

    @property
    def first(self) -> int:
        """1-based number of this page's first row (0 when the list is empty)."""
        return self.offset + 1 if self.shown else 0

    @property
    def last(self) -> int:
        return self.offset + self.shown

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit))
