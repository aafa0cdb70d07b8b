"""The list view of a versioned asset kind (data, models) at any size: a search and a sort the service
applies, one page of names at a time with the true total ("rows 1-50 of 12,000"), previous and next."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from backend.services import asset_pages
from studio.ui import shell, widgets

PAGE_SIZE = 50


def _step(key: str, delta: int) -> None:
    st.session_state[key] = max(1, int(st.session_state.get(key, 1)) + delta)


def paged_asset_listing(
    page_: Callable[..., asset_pages.AssetPage],
    *,
    keys: tuple[str, str],
    register: Callable[[], None],
    empty: str,
    noun: str,
    extra: dict[str, str | Callable[[Any], Any]] | None = None,
) -> None:
    """As ``widgets.asset_listing``, over the service's pages (``page_``: ``data_assets.page_data_assets``,
    ``models.page_models``): Show archived (``keys[0]``), the ``register`` form, then a search box, a sort,
    the table (``keys[1]``; a selected row opens its object) and a pager."""
    show_archived = st.toggle("Show archived", key=keys[0])
    register()
    table = keys[1]
    cols = st.columns([4, 1.6])
    search = cols[0].text_input(
        f"Search {noun}s",
        key=f"{table}_search",
        placeholder=f"Search {noun}s: name or description",
        label_visibility="collapsed",
    )
    sort = cols[1].selectbox(
        "Sort",
        list(asset_pages.SORTS),
        key=f"{table}_sort",
        format_func=asset_pages.SORTS.get,
        label_visibility="collapsed",
    )
    page_key = f"{table}_page"
    signature = repr((search, sort, show_archived))
    if st.session_state.get(f"{table}_signature", signature) != signature:
        st.session_state[page_key] = 1
    st.session_state[f"{table}_signature"] = signature
    number = max(1, int(st.session_state.get(page_key, 1)))
    kwargs = {"workspace": shell.current_workspace(), "include_archived": show_archived, "search": search}
    page = widgets.load(page_, sort=sort, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE, **kwargs)
    if page is not None and page.total and number > page.pages:
        number = st.session_state[page_key] = page.pages
        page = widgets.load(page_, sort=sort, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE, **kwargs)
    if page is None:
        return
    if not page.total:
        st.info(f"No {noun} matches {search!r}." if search else empty)
        return
    st.caption(
        f"{page.total:,} {noun}{'s' if page.total != 1 else ''} · rows {page.first:,}-{page.last:,} of "
        f"{page.total:,}"
    )
    frame = widgets.frame_of(page.items, widgets.SUMMARY_COLUMNS | (extra or {}))
    widgets.pick_and_open(frame, key=f"{table}_{number}", dates=["updated"])
    if page.pages > 1:
        pager = st.columns([1, 1, 4])
        pager[0].button(
            "Previous", key=f"{table}_prev", disabled=number <= 1, on_click=_step, args=(page_key, -1)
        )
        pager[1].button(
            "Next", key=f"{table}_next", disabled=number >= page.pages, on_click=_step, args=(page_key, 1)
        )
        pager[2].caption(f"page {number:,} of {page.pages:,}")
