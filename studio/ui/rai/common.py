"""What the Responsible AI views share: the page's query parameters, cached reads of a completed
artifact (it never changes once its job completed), links to jobs and models, and number formatting."""

from __future__ import annotations

import json
import re
from typing import Any

import streamlit as st

from backend.services import jobs, open_session, rai
from backend.statuses import JobStatus
from studio.ui import charts, run_widgets, shell, widgets

PAGE = "responsible_ai.py"
ROUTES = ("name", "cohort", "model")  # the page's own query parameters
CACHE_TTL_S = 600


def insight_link(name: str, label: str | None = None, **params: str) -> None:
    shell.page_link(PAGE, label or name, icon=":material/balance:", name=name, **params)


def job_link(job: str) -> None:
    shell.page_link("jobs.py", f"Job {job}", icon=":material/work:", job=job)


def model_link(model: str) -> None:
    """``name:version`` as a link to the version on the Models page."""
    name, _, version = model.rpartition(":")
    shell.page_link(
        "models.py", f"Model {model}", icon=":material/model_training:", name=name, version=version
    )


PROGRESS = re.compile(
    r"^\[rai (\d+)/(\d+)\] (.*)$"
)  # the job's progress lines: "[rai 3/7] error_analysis ..."
POLL_S = 2


def status_line(insight: rai.InsightPublic) -> bool:
    """The job's status and, while it runs, its progress (redrawn every few seconds); True once it completed."""
    state = run_widgets.job_state(insight.status, insight.job)
    if state is not None:
        return state
    _progress(insight.name, insight.job)
    return False


@st.fragment(run_every=POLL_S)
def _progress(name: str, job: str) -> None:
    """Follow the job: a progress bar from its log's ``[rai i/n]`` lines; the whole page once it ends."""
    workspace = shell.current_workspace()
    found = widgets.load(rai.get_insight, workspace=workspace, name=name)
    if found is None:
        return
    if found.status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED):
        st.rerun()
    text = shell.attempt(lambda: jobs.read_log(workspace=workspace, name=job)[0]) or ""
    steps = [m for line in text.splitlines() if (m := PROGRESS.match(line))]
    if steps:
        done, total, what = int(steps[-1][1]), int(steps[-1][2]), steps[-1][3]
        finished = (
            done if " done in " in what else done - 1
        )  # "[rai 3/7] x ..." then "[rai 3/7] x done in 1 s"
        st.progress(finished / total, text=f"Step {done} of {total}: {what}")
    else:
        st.info(f"Not ready yet: the job is {found.status}.", icon="⏳")


# ------------------------------------------------------------------------------------ cached reads
# The cached functions raise (nothing is cached then); ``load`` turns a StudioError into one message.


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=64)
def _insights(workspace: str, name: str) -> dict[str, Any]:
    with open_session() as s:
        return rai.read_insights(session=s, workspace=workspace, name=name)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=16)
def _rows(workspace: str, name: str):
    with open_session() as s:
        return rai.read_rows(session=s, workspace=workspace, name=name)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner="Computing the cohort's views ...", max_entries=64)
def _cohort(workspace: str, name: str, filters: str) -> dict[str, Any]:
    with open_session() as s:
        return rai.cohort_view(session=s, workspace=workspace, name=name, filters=json.loads(filters))


def insights(name: str) -> dict[str, Any] | None:
    return shell.attempt(lambda: _insights(shell.current_workspace(), name))


def rows(name: str):
    return shell.attempt(lambda: _rows(shell.current_workspace(), name))


def cohort_view(name: str, filters: list[dict]) -> dict[str, Any] | None:
    return shell.attempt(
        lambda: _cohort(shell.current_workspace(), name, json.dumps(filters, sort_keys=True))
    )


def get_insight(name: str) -> rai.InsightPublic | None:
    return widgets.load(rai.get_insight, workspace=shell.current_workspace(), name=name)


# ------------------------------------------------------------------------------------ formatting


number = charts.number


LABELS = {"roc_auc": "ROC AUC", "f1": "F1", "mae": "MAE", "rmse": "RMSE", "r2": "R²"}


def label(metric: str) -> str:
    return LABELS.get(metric) or metric.replace("_", " ").capitalize()


finite = charts.finite
