"""What the run-like pages (Jobs, Sweeps, Pipelines) share: service calls in a session, status columns
and run tables, links between the pages, cancel buttons, log tails, and the pickers and row ids of their
forms.

A page's views are modules that stay imported between reruns, so nothing here keeps the workspace: every
call reads the current one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from backend.services import compute as compute_service
from backend.services import jobs, open_session
from backend.statuses import JobStatus
from studio.ui import charts, shell

T = TypeVar("T")
STATUSES = list(JobStatus)
NUMBER_FORMATS = {"duration (s)": "%.1f", "best value": "%.4g"}  # columns of the runs tables


# ---------------------------------------------------------------------------------------- service calls


def in_session(action: Callable[..., T], /, **kwargs: Any) -> T:
    """``action(session=..., workspace=<current>, **kwargs)`` in a fresh session."""
    with open_session() as s:
        return action(session=s, workspace=shell.current_workspace(), **kwargs)


def call(action: Callable[..., T], /, *, success: str | None = None, **kwargs: Any) -> T | None:
    """``in_session``, with a StudioError shown on the page (and None returned) instead of raised."""
    return shell.attempt(lambda: in_session(action, **kwargs), success=success)


def act(action: Callable[..., Any], /, *, success: str, **kwargs: Any) -> None:
    """A button's service call: a toast and a rerun when it works, the error when it does not."""
    if call(action, success=success, **kwargs):
        st.rerun()


def compute_names(session) -> list[str]:
    return [
        c.name for c in compute_service.list_computes(session=session, workspace=shell.current_workspace())
    ]


# ---------------------------------------------------------------------------------------------- tables


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def status_column() -> Any:
    """Statuses as coloured pills in a table."""
    return st.column_config.MultiselectColumn(
        "status", options=STATUSES, color=[charts.status_color(s) for s in STATUSES]
    )


def created_column() -> Any:
    return st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm:ss")


def runs_table(frame: pd.DataFrame, key: str, noun: str, note: str, *, multi: bool = False):
    """A caption (how many ``noun``s, then ``note``) over a searchable, selectable table of runs: status
    pills, creation times, numbers in ``NUMBER_FORMATS``; the display name only where one differs from the
    name. Returns the dataframe event and the rows shown (as ``shell.filtered_table``)."""
    if (frame["display name"] == frame["name"]).all():
        frame = frame.drop(columns=["display name"])
    st.caption(plural(len(frame), noun) + note)
    numbers = {c: st.column_config.NumberColumn(c, format=f) for c, f in NUMBER_FORMATS.items() if c in frame}
    return shell.filtered_table(
        frame,
        key=key,
        placeholder=f"Search {noun}s",
        on_select="rerun",
        selection_mode="multi-row" if multi else "single-row",
        column_config={"status": status_column(), "created": created_column(), **numbers},
    )


# ----------------------------------------------------------------------------------------- run actions


def link(page: str, label: str, icon: str | None = None, **params: str) -> None:
    """A link to another page; a plain link when that page is not in the navigation of this build."""
    try:
        shell.page_link(page, label, icon=icon, **params)
    except StreamlitPageNotFoundError:
        query = "&".join(f"{k}={v}" for k, v in {"ws": shell.current_workspace(), **params}.items())
        st.markdown(f"[{label}]({page.removesuffix('.py')}?{query})")


def run_view(
    label: str,
    *,
    key: str,
    back: Callable[[], None],
    load: Callable[..., T],
    caption: Callable[[T], str] | None = None,
    **kwargs: Any,
) -> T | None:
    """The top of a run's view: its back button (``back`` leaves), then the run, ``call(load, **kwargs)``
    (None when it cannot be read). With ``caption``, also a header: the run's display name, ``caption(run)``
    under it and the status badge (a sweep's or pipeline's view has its job in ``.job``)."""
    if st.button(label, key=key):
        back()
    run = call(load, **kwargs)
    if run is not None and caption is not None:
        job = getattr(run, "job", run)
        head = st.columns([5, 1])
        head[0].header(job.display_name)
        head[0].caption(caption(run))
        head[1].badge(job.status, color=charts.status_color(job.status), width="stretch")
    return run


def cancel_button(where, name: str, *, key: str, disabled: bool = False) -> None:
    """Cancel a running job (and so its trials or steps)."""
    if where.button("Cancel", key=key, icon=":material/cancel:", disabled=disabled):
        act(jobs.cancel_job, name=name, success=f"Cancel requested for {name}")


def log_tail(store: str, name: str, *, which: str, keep_chars: int) -> dict:
    """A job's log as far as read: ``{"offset", "text"}``, kept in ``st.session_state[store]`` per job and
    file; each call reads what was written since (and keeps the last ``keep_chars`` characters)."""
    buffers = st.session_state.setdefault(store, {})
    buffer = buffers.setdefault((name, which), {"offset": 0, "text": ""})
    text, offset = jobs.read_log(
        workspace=shell.current_workspace(), name=name, offset=buffer["offset"], which=which
    )
    if text:
        buffer["text"] = (buffer["text"] + text)[-keep_chars:]
        buffer["offset"] = offset
    return buffer


# ----------------------------------------------------------------------------------------------- forms


def clear_state(prefix: str) -> None:
    """Forget a form's fields: every session-state key that starts with ``prefix``."""
    for key in [k for k in st.session_state if str(k).startswith(prefix)]:
        del st.session_state[key]


def next_id(counter: str, start: int = 0) -> int:
    """A new id for a row of a form (its widgets' keys end in it), counted in ``st.session_state``."""
    value = st.session_state.get(counter, start)
    st.session_state[counter] = value + 1
    return value


def compute_select(computes: list[str], *, key: str, label: str = "Compute", where=st) -> str | None:
    """The compute picker, on ``serverless`` (else the first compute) until one is chosen."""
    if computes and st.session_state.get(key) not in computes:
        st.session_state[key] = "serverless" if "serverless" in computes else computes[0]
    return where.selectbox(label, computes, key=key)


def environment_select(envs: list, *, key: str, notes: bool = False, where=st) -> str | None:
    """The environment picker over ``job_forms.environment_choices``; a chosen reference that is not
    among them (a cloned job's) stays selectable."""
    refs = [c.reference for c in envs]
    current = st.session_state.get(key)
    if current and current not in refs:
        refs.append(current)
    labels = {c.reference: c.label for c in envs}
    chosen = where.selectbox("Environment", refs, key=key, format_func=lambda r: labels.get(r, r))
    descriptions = {c.reference: c.description for c in envs}
    if notes and chosen in descriptions:
        where.caption(descriptions[chosen])
    return chosen


def name_fields(prefix: str, *, noun: str | None = None, experiment_placeholder: str = "Default") -> dict:
    """A form's names (``noun``: also the run's own name) and description, as the form's fields."""
    cols = st.columns(3 if noun else 2)
    fields = {}
    if noun:
        fields["name"] = cols[0].text_input(f"{noun} name (empty: generated)", key=f"{prefix}name")
    fields["display_name"] = cols[-2].text_input("Display name", key=f"{prefix}display")
    fields["experiment_name"] = cols[-1].text_input(
        "Experiment", key=f"{prefix}experiment", placeholder=experiment_placeholder
    )
    fields["description"] = st.text_input("Description", key=f"{prefix}description")
    return fields


def submit(action: Callable[..., Any], /, *, success: str, prefix: str, **kwargs: Any):
    """Submit a form through a service; when it works the form's fields (``prefix``) are forgotten and the
    submitted job is returned."""
    job = call(action, success=success, **kwargs)
    if job:
        clear_state(prefix)
    return job


def job_state(status: str, job: str) -> bool | None:
    """The status of something a job computes, as a badge: True once the job completed, False when it
    failed or was canceled (said so, with where to look), None while it is queued or running."""
    st.badge(status, color=charts.status_color(status))
    if status == JobStatus.COMPLETED:
        return True
    if status in (JobStatus.FAILED, JobStatus.CANCELED):
        st.error(f"The job {job} is {status}: open it for its log.", icon="⚠️")
        return False
    return None
