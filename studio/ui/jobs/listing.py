"""The list of jobs: filters, a search and a sort done by the database, one page at a time, and open,
compare, cancel or archive the selected ones.

The page asks ``job_listing.page_jobs`` for one page: the caption gives the true total ("rows 1-50 of
100,000") and the counts per status come from SQL, never from the rows loaded. Deep links: ``?q=`` (the
search), ``?sort=``, ``?size=`` (rows per page) and ``?page=`` (1-based).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from backend.services import job_listing, jobs
from backend.statuses import JobStatus
from studio.ui import run_widgets
from studio.ui.jobs import go
from studio.ui.run_widgets import NUMBER_FORMATS, STATUSES, plural

DEFAULT_SIZE = 50
COLUMNS = [
    "name",
    "display name",
    "status",
    "experiment",
    "compute",
    "type",
    "duration (s)",
    "created",
    "archived",
]
# query parameter -> (session-state key of its widget, default)
LINKED = {
    "q": ("jobs_table_filter", ""),
    "sort": ("jobs_sort", "newest"),
    "size": ("jobs_page_size", DEFAULT_SIZE),
}


def _from_link() -> None:
    """The first time the list is drawn in a session, its search, sort, size and page come from the URL."""
    if st.session_state.get("jobs_linked"):
        return
    st.session_state["jobs_linked"] = True
    params = st.query_params
    if params.get("q"):
        st.session_state["jobs_table_filter"] = params["q"]
    if params.get("sort") in job_listing.SORTS:
        st.session_state["jobs_sort"] = params["sort"]
    if params.get("size", "").isdigit() and int(params["size"]) in job_listing.PAGE_SIZES:
        st.session_state["jobs_page_size"] = int(params["size"])
    if params.get("page", "").isdigit() and int(params["page"]) >= 1:
        st.session_state["jobs_page"] = int(params["page"])


def _to_link(page: int) -> None:
    """Keep the URL in step with the list (defaults left out), so it can be shared or reloaded."""
    values = {name: st.session_state.get(key, default) for name, (key, default) in LINKED.items()}
    values["page"] = page
    defaults = {name: default for name, (_key, default) in LINKED.items()} | {"page": 1}
    for name, value in values.items():
        if value == defaults[name] or value in ("", None):
            if name in st.query_params:
                del st.query_params[name]
        elif st.query_params.get(name) != str(value):
            st.query_params[name] = str(value)


def _step(delta: int) -> None:
    st.session_state["jobs_page"] = max(1, int(st.session_state.get("jobs_page", 1)) + delta)


def listing() -> None:
    _from_link()
    for _name, (key, default) in LINKED.items():  # widgets' first values, without a default argument
        st.session_state.setdefault(key, default)
    top = st.columns([1.2, 2, 2.4, 1.2, 1.2])
    if top[0].button("Create job", type="primary", icon=":material/add:", key="jobs_new"):
        run_widgets.clear_state("jf_")
        go(create="1")
    experiments = run_widgets.call(jobs.list_experiments) or []
    experiment = top[1].selectbox(
        "Experiment", ["All experiments", *experiments], key="jobs_experiment", label_visibility="collapsed"
    )
    statuses = top[2].multiselect(
        "Status", STATUSES, key="jobs_status", placeholder="All statuses", label_visibility="collapsed"
    )
    children = top[3].toggle("Child jobs", key="jobs_children", help="Also list trials and pipeline steps")
    archived = top[4].toggle("Archived", key="jobs_archived", help="Also list archived jobs")
    row = st.columns([4, 1.6, 1])
    search = row[0].text_input(
        "Search jobs",
        key="jobs_table_filter",
        placeholder="Search jobs: name, display name or experiment",
        label_visibility="collapsed",
    )
    sort = row[1].selectbox(
        "Sort",
        list(job_listing.SORTS),
        key="jobs_sort",
        format_func=lambda s: job_listing.SORTS[s][0],
        label_visibility="collapsed",
    )
    size = row[2].selectbox(
        "Rows per page",
        job_listing.PAGE_SIZES,
        key="jobs_page_size",
        format_func=lambda n: f"{n} per page",
        label_visibility="collapsed",
    )
    filters = {
        "statuses": list(statuses),
        "experiment": None if experiment == "All experiments" else experiment,
        "search": search,
        "include_children": children,
        "include_archived": archived,
    }
    signature = repr((sorted(filters.items()), sort, size))
    if st.session_state.get("jobs_signature", signature) != signature:
        st.session_state["jobs_page"] = 1  # other filters: back to the first page
    st.session_state["jobs_signature"] = signature
    number = max(1, int(st.session_state.get("jobs_page", 1)))
    page = run_widgets.call(
        job_listing.page_jobs, sort=sort, offset=(number - 1) * size, limit=size, **filters
    )
    if page is None:
        return
    if page.total and number > page.pages:  # past the end (the list shrank, or a deep link): the last page
        number = st.session_state["jobs_page"] = page.pages
        page = run_widgets.call(
            job_listing.page_jobs, sort=sort, offset=(number - 1) * size, limit=size, **filters
        )
        if page is None:
            return
    _to_link(number)
    filtered = bool(search or statuses or filters["experiment"])
    if not page.total and not filtered:
        st.info(
            "No jobs here yet: create one with **Create job**, or submit the cloud's YAML with "
            "`studio job create --file job.yml`."
        )
        return
    _table(page, archived, number)
    _pager(page, number)
    _actions(page.jobs, experiments)


def _table(page: job_listing.JobPage, archived: bool, number: int) -> None:
    frame = pd.DataFrame(
        columns=COLUMNS,
        data=[
            {
                "name": j.name,
                "display name": j.display_name,
                "status": j.status,
                "experiment": j.experiment_name,
                "compute": j.compute,
                "type": j.type,
                "duration (s)": None if j.duration_s is None else round(j.duration_s, 1),
                "created": j.created_at,
                "archived": j.archived,
            }
            for j in page.jobs
        ],
    )
    if not archived:
        frame = frame.drop(columns=["archived"])
    if not page.total:
        st.info("No job matches these filters.")
    if (frame["display name"] == frame["name"]).all():
        frame = frame.drop(columns=["display name"])
    active = f", {page.active:,} active" if page.active else ""
    st.caption(
        f"{page.total:,} job{'s' if page.total != 1 else ''}{active} · "
        f"rows {page.first:,}-{page.last:,} of {page.total:,} · select rows to open, compare, cancel or "
        "archive them"
    )
    counts = " · ".join(f"{status} {n:,}" for status, n in sorted(page.status_counts.items()) if n)
    st.caption(f"By status: {counts}", help="Counts of every job that matches the other filters")
    numbers = {c: st.column_config.NumberColumn(c, format=f) for c, f in NUMBER_FORMATS.items() if c in frame}
    event = st.dataframe(
        frame,
        key=f"jobs_table_{number}_{page.sort}",
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="multi-row",
        column_config={
            "status": run_widgets.status_column(),
            "created": run_widgets.created_column(),
            **numbers,
        },
    )
    picked_rows = getattr(getattr(event, "selection", None), "rows", None) or []
    st.session_state["jobs_picked"] = [frame.iloc[i]["name"] for i in picked_rows if i < len(frame)]


def _pager(page: job_listing.JobPage, number: int) -> None:
    cols = st.columns([1, 1.4, 1, 4])
    cols[0].button(
        "Previous",
        key="jobs_prev",
        icon=":material/chevron_left:",
        disabled=number <= 1,
        on_click=_step,
        args=(-1,),
    )
    st.session_state["jobs_page"] = number  # (set before its widget is drawn: no default value given)
    cols[1].number_input(
        f"Page (of {page.pages:,})",
        min_value=1,
        max_value=page.pages,
        step=1,
        key="jobs_page",
        label_visibility="collapsed",
    )
    cols[2].button(
        "Next",
        key="jobs_next",
        icon=":material/chevron_right:",
        disabled=number >= page.pages,
        on_click=_step,
        args=(1,),
    )
    cols[3].caption(f"page {number:,} of {page.pages:,}")


def _actions(shown: list, experiments: list[str]) -> None:
    by_name = {j.name: j for j in shown}
    chosen = [by_name[n] for n in st.session_state.get("jobs_picked", []) if n in by_name]
    act = st.columns([1, 1.4, 1, 1, 3.2])
    if act[0].button("Open", key="jobs_open", disabled=len(chosen) != 1, icon=":material/open_in_new:"):
        go(job=chosen[0].name)
    with_runs = [j for j in chosen if j.mlflow_run_id]
    if act[1].button(
        f"Compare ({len(with_runs)})",
        key="jobs_compare",
        disabled=len(with_runs) < 2,
        icon=":material/compare_arrows:",
        help="Compare the selected jobs' runs (two or more that have started)",
    ):
        go(compare=",".join(j.name for j in with_runs))
    cancelable = [j for j in chosen if j.is_active and j.status != JobStatus.CANCEL_REQUESTED]
    if act[2].button("Cancel", key="jobs_cancel", disabled=not cancelable, icon=":material/cancel:"):
        _act_on(cancelable, "cancel")
    archivable = [j for j in chosen if not j.is_active and not j.archived]
    if act[3].button("Archive", key="jobs_archive", disabled=not archivable, icon=":material/archive:"):
        _act_on(archivable, "archive")
    with act[4]:
        exp_cols = st.columns([2, 1])
        target = exp_cols[0].selectbox(
            "Experiment to compare", experiments, key="jobs_compare_experiment", label_visibility="collapsed"
        )
        if exp_cols[1].button("Compare all", key="jobs_compare_all", disabled=not experiments):
            go(experiment=target)


def _act_on(selected: list, action: str) -> None:
    def _do(session, workspace):
        for job in selected:
            if action == "cancel":
                jobs.cancel_job(session=session, workspace=workspace, name=job.name)
            else:
                jobs.archive_job(session=session, workspace=workspace, name=job.name)
        return True

    verb = "Cancel requested for" if action == "cancel" else "Archived"
    run_widgets.act(_do, success=f"{verb} {plural(len(selected), 'job')}")
