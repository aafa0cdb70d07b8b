"""Every sweep of the workspace (top-level ones and pipeline steps) in a searchable table."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from backend.services import job_listing, sweeps
from backend.statuses import JobStatus
from studio.ui import run_widgets, shell
from studio.ui.sweeps import best, go, total, trials_done

STATUSES = [
    JobStatus.QUEUED,
    JobStatus.RUNNING,
    JobStatus.CANCEL_REQUESTED,
    JobStatus.COMPLETED,
    JobStatus.FAILED,
    JobStatus.CANCELED,
]


PAGE_SIZE = 50


def _sweep_page(session, workspace: str, *, statuses: list[str], search: str, sort: str, offset: int):
    """One page of the workspace's sweeps (top-level ones and pipeline steps), filtered, sorted and counted
    by the database; only this page's sweeps are summarised."""
    page = job_listing.page_jobs(
        session=session,
        workspace=workspace,
        types=["sweep"],
        include_children=True,
        statuses=statuses or None,
        search=search,
        sort=sort,
        offset=offset,
        limit=PAGE_SIZE,
    )
    views = [sweeps.get_sweep(session=session, workspace=workspace, name=j.name) for j in page.jobs]
    return page, views


def _step(delta: int) -> None:
    st.session_state["sw_page"] = max(1, int(st.session_state.get("sw_page", 1)) + delta)


def _record(view: sweeps.SweepView) -> dict:
    top = best(view)
    return {
        "name": view.job.name,
        "display name": view.job.display_name,
        "status": view.job.status,
        "created": view.job.created_at,
        "trials done": trials_done(view),
        "max trials": total(view),
        "objective": f"{view.goal} {view.primary_metric}",
        "best value": top.metric if top else None,
        "best trial": view.best_trial or "",
        "algorithm": view.algorithm,
        "policy": (view.policy or {}).get("type", "none"),
        "experiment": view.job.experiment_name,
    }


def listing() -> None:
    linked = st.query_params.get("page", "1")
    if linked != st.session_state.get("sw_page_link"):  # a deep link's page (?page=, 1-based), or back
        st.session_state["sw_page"] = int(linked) if linked.isdigit() and int(linked) >= 1 else 1
        st.session_state["sw_page_link"] = linked
    top = st.columns([1.6, 2.6, 2.6, 1.6])
    if top[0].button("Create sweep", type="primary", icon=":material/add:", key="sw_new"):
        go(create="1")
    statuses = top[1].multiselect(
        "Status", STATUSES, key="sw_status", placeholder="All statuses", label_visibility="collapsed"
    )
    search = top[2].text_input(
        "Search sweeps",
        key="sw_search",
        placeholder="Search sweeps: name, display name or experiment",
        label_visibility="collapsed",
    )
    sort = top[3].selectbox(
        "Sort",
        list(job_listing.SORTS),
        key="sw_sort",
        format_func=lambda key: job_listing.SORTS[key][0],
        label_visibility="collapsed",
    )
    signature = repr((sorted(statuses), search, sort))
    if st.session_state.get("sw_signature", signature) != signature:
        st.session_state["sw_page"] = 1  # other filters: back to the first page
    st.session_state["sw_signature"] = signature
    number = max(1, int(st.session_state["sw_page"]))
    found = run_widgets.call(
        _sweep_page, statuses=list(statuses), search=search, sort=sort, offset=(number - 1) * PAGE_SIZE
    )
    if found is None:
        return
    page, views = found
    if page.total and number > page.pages:  # past the end (the list shrank, or a deep link)
        number = st.session_state["sw_page"] = page.pages
        found = run_widgets.call(
            _sweep_page, statuses=list(statuses), search=search, sort=sort, offset=(number - 1) * PAGE_SIZE
        )
        if found is None:
            return
        page, views = found
    if number > 1:
        st.query_params["page"] = str(number)
    elif "page" in st.query_params:
        del st.query_params["page"]
    st.session_state["sw_page_link"] = str(number)
    if not page.total:
        if statuses or search:
            st.info("No sweep matches these filters.")
        else:
            st.info(
                "No sweeps here yet: build one with **Create sweep**, or submit the cloud's sweep YAML "
                "with `studio job create --file sweep.yml`."
            )
        return
    active = f", {page.active:,} active" if page.active else ""
    note = (
        f"{active} · rows {page.first:,}-{page.last:,} of {page.total:,} · click a header to sort this "
        "page · select a row to open the sweep"
    )
    frame = pd.DataFrame([_record(v) for v in views])
    if (frame["display name"] == frame["name"]).all():
        frame = frame.drop(columns=["display name"])
    st.caption(run_widgets.plural(page.total, "sweep") + note)
    event = st.dataframe(
        frame,
        key="sw_table",
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        column_config={"status": run_widgets.status_column(), "created": run_widgets.created_column()},
    )
    picked = shell.selected_row(event, frame)
    if picked:
        go(sweep=picked["name"])
    if page.pages > 1:
        cols = st.columns([1, 1, 5])
        cols[0].button("Previous", key="sw_prev", icon=":material/chevron_left:", disabled=number <= 1,
                       on_click=_step, args=(-1,))  # fmt: skip
        cols[1].button("Next", key="sw_next", icon=":material/chevron_right:", disabled=number >= page.pages,
                       on_click=_step, args=(1,))  # fmt: skip
        cols[2].caption(f"page {number:,} of {page.pages:,}")
