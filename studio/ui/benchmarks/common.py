"""What the benchmark views share: the page's query parameters, reads of the artifact (cached once its job
ended, since a finished artifact never changes), links, progress while the job runs, and formatting."""

from __future__ import annotations

from typing import Any

import streamlit as st

from backend.services import benchmarks, open_session
from backend.statuses import JobStatus
from studio.ui import run_widgets, shell, widgets

PAGE = "model_benchmarks.py"
ROUTES = ("name", "tab")  # the page's own query parameters
CACHE_TTL_S = 600
POLL_S = 2
ENDED = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED)


def benchmark_link(name: str, label: str | None = None) -> None:
    shell.page_link(PAGE, label or f"Benchmark {name}", icon=":material/leaderboard:", name=name)


def job_link(job: str) -> None:
    shell.page_link("jobs.py", f"Job {job}", icon=":material/work:", job=job)


def get_benchmark(name: str) -> benchmarks.BenchmarkPublic | None:
    return widgets.load(benchmarks.get_benchmark, workspace=shell.current_workspace(), name=name)


# ------------------------------------------------------------------------------------ reads
# A finished artifact is read once (cached); a running one every time (it grows). The cached functions
# raise (nothing is cached then); ``shell.attempt`` shows a StudioError as one message.


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=32)
def _results(workspace: str, name: str) -> dict[str, Any]:
    with open_session() as s:
        return benchmarks.read_results(session=s, workspace=workspace, name=name)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=16)
def _items(workspace: str, name: str) -> list[dict]:
    with open_session() as s:
        return benchmarks.read_items(session=s, workspace=workspace, name=name)


def results(name: str) -> dict[str, Any] | None:
    return shell.attempt(lambda: _results(shell.current_workspace(), name))


def items(name: str, *, ended: bool = True) -> list[dict] | None:
    if ended:
        return shell.attempt(lambda: _items(shell.current_workspace(), name))
    return widgets.load(benchmarks.read_items, workspace=shell.current_workspace(), name=name)


# ------------------------------------------------------------------------------------ progress


def status_line(bench: benchmarks.BenchmarkPublic) -> bool:
    """The job's status and, while it runs, its progress (redrawn every few seconds); True once completed."""
    state = run_widgets.job_state(bench.status, bench.job)
    if state is not None:
        return state
    _progress(bench.name)
    return False


def progress_counts(answered: list[dict], models: list[str], max_items: int | None) -> tuple[int, int | None]:
    """(answers so far, answers expected): a line per (model, item); the total only when it is known."""
    done = len({(r.get("model"), r.get("index")) for r in answered})
    return done, (max_items * len(models) if max_items and models else None)


@st.fragment(run_every=POLL_S)
def _progress(name: str) -> None:
    """Follow the job: answers done out of the total from items.jsonl; the whole page once it ends."""
    found = get_benchmark(name)
    if found is None:
        return
    if found.status in ENDED:
        st.rerun()
    answered = items(name, ended=False) or []
    done, total = progress_counts(answered, found.models, found.max_items)
    if total:
        st.progress(min(done / total, 1.0), text=f"{done} of {total} answers ({len(found.models)} models)")
    elif done:
        st.info(f"{done} answers so far: the job is {found.status}.", icon="⏳")
    else:
        st.info(f"Not ready yet: the job is {found.status}.", icon="⏳")
