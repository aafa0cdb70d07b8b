"""Home: the current workspace at a glance, and the two samples a newcomer runs in one click each."""

import pandas as pd
import streamlit as st

from backend.services import open_session, overview, samples
from studio.ui import charts, shell

LIVE_REFRESH_S = 2  # how often the sample runs' statuses are re-read while one of them is active
RUNS_SHOWN = 4  # the latest runs of each sample listed on Home
RUNS_LISTED = 100  # read to count them for the comparison link

workspace = shell.current_workspace()
st.title(f"Workspace · {workspace}")

SAMPLES = {
    "job": {
        "title": "Sample job",
        "button": "Run the sample job",
        "icon": ":material/play_arrow:",
        "page": "jobs.py",
        "param": "job",
        "about": "Logistic regression on the `iris` data asset (`assets/sample_code/train.py`) on the curated "
        "`AzureML-sklearn-1.5` environment; it logs its parameters, a learning curve and the model with "
        "plain MLflow in a few seconds. Each run tries the next value of `C`: run it twice, then compare.",
    },
    "sweep": {
        "title": "Sample sweep",
        "button": "Run the sample sweep",
        "icon": ":material/tune:",
        "page": "sweeps.py",
        "param": "sweep",
        "about": "Six short trials of the same script, two at a time, sampling `C` and `max_iter` to "
        "maximise accuracy; a bandit policy stops trials that fall behind the best.",
    },
}


def _load():
    with open_session() as s:
        return overview.workspace_overview(session=s, workspace=workspace)


def _submit(kind: str) -> None:
    def _run():
        with open_session() as s:
            return samples.run_sample(session=s, workspace=workspace, kind=kind)

    run = shell.attempt(_run)
    if run is None:
        return
    spec = SAMPLES[kind]
    if run.agent_running:  # follow it live on its own page
        st.switch_page(
            shell.PAGES / spec["page"], query_params={"ws": workspace, spec["param"]: run.job.name}
        )
    st.warning(f"`{run.job.name}` is queued: it starts as soon as the agent runs.", icon=":material/pending:")
    shell.page_link(
        spec["page"], f"Open {run.job.name}", ":material/open_in_new:", **{spec["param"]: run.job.name}
    )


def _runs(kind: str, experiment: str) -> None:
    """The sample's latest runs with their status, followed live while one is active."""

    def _list():
        with open_session() as s:
            return samples.list_sample_runs(session=s, workspace=workspace, kind=kind, limit=RUNS_LISTED)

    found = shell.attempt(_list) or []
    if not found:
        return
    spec = SAMPLES[kind]
    active = any(j.is_active for j in found)

    @st.fragment(run_every=LIVE_REFRESH_S if active else None)
    def _live() -> None:
        shown = (shell.attempt(_list) or found)[:RUNS_SHOWN]
        st.caption("Latest runs")
        for job in shown:
            row = st.columns([3, 2], vertical_alignment="center")
            with row[0]:
                shell.page_link(spec["page"], job.name, ":material/open_in_new:", **{spec["param"]: job.name})
            row[1].badge(job.status, color=charts.status_color(job.status))
        if kind == "job" and len(found) >= 2:
            count = f"{len(found)}+" if len(found) >= RUNS_LISTED else str(len(found))
            shell.page_link(
                "jobs.py",
                f"Compare the runs of {experiment} ({count})",
                ":material/compare_arrows:",
                experiment=experiment,
            )

    _live()


def _sample(kind: str) -> None:
    spec = SAMPLES[kind]

    def _describe():
        with open_session() as s:
            return samples.get_sample(session=s, workspace=workspace, kind=kind)

    st.markdown(f"**{spec['title']}**")
    st.caption(spec["about"])
    sample = shell.attempt(_describe)
    if sample is None:
        return
    # The workspace is part of the key: a click drawn for a workspace that is gone by the rerun (deleted in
    # another tab) must not submit to the one shown instead.
    if st.button(
        spec["button"], key=f"home_run_sample_{kind}_{workspace}", type="primary", icon=spec["icon"]
    ):
        _submit(kind)
        sample = shell.attempt(_describe)  # what the next click submits (the job's next C)
        if sample is None:
            return
    for note in sample.notes:
        st.caption(f":material/info: {note}")
    with st.expander("What it submits"):
        st.code(sample.yaml, language="yaml", wrap_lines=True)
        st.caption("The same from a shell (in the Studio folder):")
        st.code(sample.command, language="bash", wrap_lines=True)
    _runs(kind, sample.experiment)


def _try_it() -> None:
    with st.container(border=True):
        st.subheader("Try Studio", anchor=False)
        ready = samples.readiness()
        if not ready.agent_running:
            st.warning(
                "The agent is not running: a sample started now waits in Queued until it runs. Start Studio "
                "with `studio up` (or the agent alone with `studio agent`).",
                icon=":material/pending:",
            )
        elif ready.environment_building:
            st.info(
                "Studio is building its curated Python environment (once, about a minute): the first run "
                "waits for it in Preparing.",
                icon=":material/hourglass_top:",
            )
        elif not ready.environment_ready:
            st.info(
                "Studio's curated Python environment is not built yet: the first run builds it while "
                "Preparing (once, about a minute).",
                icon=":material/hourglass_top:",
            )
        left, right = st.columns(2, gap="large")
        with left:
            _sample("job")
        with right:
            _sample("sweep")


info = shell.attempt(_load)
if info:
    cols = st.columns(max(1, len(info.counts)))
    for col, (label, count) in zip(cols, info.counts.items(), strict=False):
        col.metric(label.capitalize(), count)

    _try_it()

    left, right = st.columns([2, 1])
    with left:
        st.subheader("Recent activity")
        if info.recent:
            shell.filtered_table(
                pd.DataFrame([a.model_dump() for a in info.recent]),
                key="home_recent",
                column_config={"when": st.column_config.DatetimeColumn("When", format="distance")},
            )
        else:
            st.caption("Nothing has happened in this workspace yet.")
    with right:
        st.subheader("Quick links")
        shell.page_links(
            [
                ("data.py", "Register or browse data"),
                ("jobs.py", "Create a job or compare runs"),
                ("sweeps.py", "Sweep hyperparameters"),
                ("pipelines.py", "Compose a pipeline"),
                ("environments.py", "Environments"),
                ("compute.py", "Compute"),
                ("workspaces.py", "Manage workspaces"),
            ]
        )
