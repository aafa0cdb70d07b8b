"""The window of a paged list: which rows of the whole it shows (``first``-``last`` of ``total``)."""

from __future__ import annotations

from pydantic import BaseModel


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
