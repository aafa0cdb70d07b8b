"""Sweeps: every sweep job of the workspace; one sweep's trials, charts and compute (live while it runs);
the early-termination what-if on a finished sweep; and the "Create sweep" wizard.

Deep links: ``?sweep=<name>`` (a sweep; ``&tab=Parallel coordinates`` etc. opens one of its tabs),
``?create=1`` (the wizard).
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st
import yaml
from streamlit.errors import StreamlitPageNotFoundError

from backend.services import (
    NotFoundError,
    ValidationError,
    components,
    job_forms,
    jobs,
    open_session,
    sweep_wizard,
    sweeps,
)
from backend.services import compute as compute_service
from backend.services.importance import EVALUATORS, hyperparameter_importance
from backend.statuses import ACTIVE, TERMINAL, JobStatus
from studio.ui import charts, shell, sweep_charts

workspace = shell.current_workspace()
ROUTES = ("sweep", "create", "tab")
LIVE_REFRESH_S = 3
FEW_TRIALS = 10  # below this many completed trials, importance is only a hint
NO_CODE = "(no code)"
POLICY_LABELS = {
    "none": "No early termination",
    "bandit": "Bandit",
    "median_stopping": "Median stopping",
    "truncation_selection": "Truncation selection",
}
TYPE_HELP = {
    "choice": "one of the values",
    "randint": "an integer in [0, upper)",
    "uniform": "uniform in [min, max]",
    "loguniform": "exp(uniform(min, max))",
    "normal": "normal(mu, sigma)",
    "lognormal": "exp(normal(mu, sigma))",
    "quniform": "round(uniform(min, max) / q) * q",
    "qloguniform": "round(exp(uniform(min, max)) / q) * q",
    "qnormal": "round(normal(mu, sigma) / q) * q",
    "qlognormal": "round(exp(normal(mu, sigma)) / q) * q",
}
ARG_HINTS = {
    "values": "0.01, 0.1, 1  or  adam, sgd",
    "upper": "10",
    "min_value": "0.001",
    "max_value": "0.1",
    "mu": "0",
    "sigma": "1",
    "q": "1",
}


def _go(**params: str) -> None:
    shell.go(ROUTES, **params)


_duration = shell.human_duration


def _policy_text(policy: dict | None) -> str:
    if not policy:
        return "none"
    args = ", ".join(f"{k} {v}" for k, v in policy.items() if k != "type")
    return f"{policy.get('type')} ({args})" if args else str(policy.get("type"))


def _job_link(name: str, label: str, icon: str = ":material/work:") -> None:
    """A link to a job on the Jobs page (``jobs?job=<name>``)."""
    try:
        shell.page_link("jobs.py", label, icon=icon, job=name)
    except StreamlitPageNotFoundError:  # the Jobs page is not in the navigation of this build
        st.markdown(f"[{label}](jobs?job={name}&ws={workspace})")


def _status_column():
    """Statuses as coloured pills in a table (as on the Jobs page)."""
    statuses = list(charts.STATUS_COLORS)
    return st.column_config.MultiselectColumn(
        "status", options=statuses, color=[charts.status_color(s) for s in statuses]
    )


def _load_view(name: str) -> sweeps.SweepView:
    with open_session() as s:
        return sweeps.get_sweep(session=s, workspace=workspace, name=name)


# ============================================================================================== listing


def _total(view: sweeps.SweepView) -> int | None:
    """How many trials the sweep will run at most (a grid stops at its size)."""
    total = view.limits.get("max_total_trials")
    if view.algorithm == "grid" and view.search_space:
        size = math.prod(len(e.get("values") or [None]) for e in view.search_space.values())
        total = min(total, size) if total else size
    return total


def _trials_done(view: sweeps.SweepView) -> int:
    return sum(t.status in TERMINAL for t in view.trials)


def _best(view: sweeps.SweepView):
    return next((t for t in view.trials if t.name == view.best_trial), None)


def _sweep_jobs(session) -> list[jobs.JobPublic]:
    """Every sweep of the workspace, newest first: top-level ones and steps of pipelines."""
    found, pipelines = [], []
    level = jobs.list_jobs(session=session, workspace=workspace)
    while level:
        found += [j for j in level if j.type == "sweep"]
        pipelines = [j.name for j in level if j.type == "pipeline"]
        level = [c for p in pipelines for c in jobs.list_jobs(session=session, workspace=workspace, parent=p)]
    return sorted(found, key=lambda j: j.created_at, reverse=True)


def listing() -> None:
    top = st.columns([1.3, 3, 3])
    if top[0].button("Create sweep", type="primary", icon=":material/add:", key="sw_new"):
        _go(create="1")
    statuses = top[1].multiselect(
        "Status",
        [
            JobStatus.QUEUED,
            JobStatus.RUNNING,
            JobStatus.CANCEL_REQUESTED,
            JobStatus.COMPLETED,
            JobStatus.FAILED,
            JobStatus.CANCELED,
        ],
        key="sw_status",
        placeholder="All statuses",
        label_visibility="collapsed",
    )

    def _load():
        with open_session() as s:
            return [sweeps.get_sweep(session=s, workspace=workspace, name=j.name) for j in _sweep_jobs(s)]

    views = shell.attempt(_load) or []
    if statuses:
        views = [v for v in views if v.job.status in statuses]
    if not views:
        st.info(
            "No sweeps here yet: build one with **Create sweep**, or submit the cloud's sweep YAML with "
            "`studio job create --file sweep.yml`."
        )
        return
    records = []
    for v in views:
        best = _best(v)
        records.append(
            {
                "name": v.job.name,
                "display name": v.job.display_name,
                "status": v.job.status,
                "created": v.job.created_at,
                "trials done": _trials_done(v),
                "max trials": _total(v),
                "objective": f"{v.goal} {v.primary_metric}",
                "best value": best.metric if best else None,
                "best trial": v.best_trial or "",
                "algorithm": v.algorithm,
                "policy": (v.policy or {}).get("type", "none"),
                "experiment": v.job.experiment_name,
            }
        )
    frame = pd.DataFrame(records)
    if (frame["display name"] == frame["name"]).all():
        frame = frame.drop(columns=["display name"])
    active = sum(v.job.is_active for v in views)
    st.caption(
        f"{len(views)} sweep{'s' if len(views) != 1 else ''}"
        + (f", {active} running" if active else "")
        + " · click a header to sort · select a row to open the sweep"
    )
    event, shown = shell.filtered_table(
        frame,
        key="sw_table",
        placeholder="Search sweeps",
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "status": _status_column(),
            "created": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm:ss"),
            "best value": st.column_config.NumberColumn("best value", format="%.4g"),
        },
    )
    picked = shell.selected_row(event, shown)
    if picked:
        _go(sweep=picked["name"])


# =============================================================================================== detail


def detail(name: str) -> None:
    if st.button("← All sweeps", key="sw_back"):
        _go()
    view = shell.attempt(lambda: _load_view(name))
    if view is None:
        return
    job = view.job
    head = st.columns([5, 1])
    head[0].header(job.display_name)
    head[0].caption(
        f"Sweep `{job.name}` · experiment **{job.experiment_name}**"
        + (f" · step of `{job.parent}`" if job.parent else "")
        + f" · created {job.created_at:%Y-%m-%d %H:%M:%S} UTC"
    )
    head[1].badge(job.status, color=charts.status_color(job.status), width="stretch")
    actions = st.columns([3, 1, 3], vertical_alignment="center")
    with actions[0]:
        _job_link(job.name, "Open as a job (logs, MLflow run)", icon=":material/open_in_new:")
    if job.is_active and actions[1].button(
        "Cancel", key="sw_cancel", icon=":material/cancel:", disabled=job.status == JobStatus.CANCEL_REQUESTED
    ):

        def _cancel():
            with open_session() as s:
                return jobs.cancel_job(session=s, workspace=workspace, name=job.name)

        if shell.attempt(_cancel, success=f"Cancel requested for {job.name}"):
            st.rerun()
    if job.failure_reason:
        st.warning(job.failure_reason, icon=":material/info:")
    _summary(view)
    _live(name, job.status)


def _summary(view: sweeps.SweepView) -> None:
    limits = view.limits
    seed = view.job.state.get("seed")
    sampling = view.algorithm + (f" (seed {seed})" if seed is not None and view.algorithm != "grid" else "")
    cols = st.columns(4)
    cols[0].markdown(f"**Sampling**  \n{sampling}")
    cols[1].markdown(f"**Objective**  \n{view.goal} `{view.primary_metric}`")
    cols[2].markdown(
        "**Limits**  \n"
        + " · ".join(
            f"{label} {value}"
            for label, value in (
                ("trials", _total(view)),
                ("concurrent", limits.get("max_concurrent_trials")),
                ("timeout", f"{limits['timeout']}s" if limits.get("timeout") else None),
                ("per trial", f"{limits['trial_timeout']}s" if limits.get("trial_timeout") else None),
            )
            if value
        )
    )
    cols[3].markdown(f"**Early termination**  \n{_policy_text(view.policy)}")
    with st.expander("Search space"):
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "parameter": p,
                        "type": e.get("type"),
                        "arguments": ", ".join(f"{k} {v}" for k, v in e.items() if k != "type"),
                    }
                    for p, e in view.search_space.items()
                ]
            ),
            hide_index=True,
            width="stretch",
            key="sw_space_table",
        )


def _live(name: str, shown_status: str) -> None:
    """Status, trials and charts; re-read every few seconds while the sweep runs."""
    active = shown_status in ACTIVE

    @st.fragment(run_every=LIVE_REFRESH_S if active else None)
    def _body() -> None:
        view = shell.attempt(lambda: _load_view(name))
        if view is None:
            return
        if view.job.status != shown_status:  # the header (and the what-if) follow a status change
            st.rerun()
        _metrics(view)
        finished = view.job.status in TERMINAL
        views = {
            "Trials": _trials_table,
            "Charts": _charts,
            "Parallel coordinates": _parallel,
            "Scatter": _scatter,
            "Importance": _importance,
        }
        if finished:
            views["Policy what-if"] = _what_if
        # Only the open tab is drawn (charts are heavy while the view refreshes); ?tab= opens one by link.
        tabs = st.tabs(list(views), key="tab", on_change="rerun", bind="query-params")
        for tab, draw in zip(tabs, views.values(), strict=True):
            if tab.open:
                with tab:
                    draw(view)

    _body()


def _metrics(view: sweeps.SweepView) -> None:
    best = _best(view)
    total = _total(view)
    running = sum(t.status in ACTIVE for t in view.trials)
    cols = st.columns(5)
    cols[0].metric("Trials done", f"{_trials_done(view)} / {total}", help=f"{running} running now")
    cols[1].metric(
        f"Best {view.primary_metric}",
        "–" if best is None else f"{best.metric:.6g}",
        help=f"{view.goal}; a trial that never logs the metric is not ranked",
    )
    cols[2].metric(
        "Canceled by policy", sum(bool(t.canceled_by) for t in view.trials), help=_policy_text(view.policy)
    )
    cols[3].metric("Compute used", _duration(view.compute_used_s), help="Sum of the trials' run times")
    saved = view.compute_saved_s
    share = saved / (saved + view.compute_used_s) if saved + view.compute_used_s else 0.0
    cols[4].metric(
        "Compute saved (estimate)",
        _duration(saved),
        delta=f"{share:.0%} less compute" if saved else None,
        delta_color="normal",
        help="For each trial the policy canceled: the run time it would have needed to reach the median "
        "interval count of the completed trials, at its own pace.",
    )
    if best is not None:
        _job_link(
            best.name, f"Best trial: {best.name} ({view.primary_metric} {best.metric:.6g})", ":material/star:"
        )


def _trials_table(view: sweeps.SweepView) -> None:
    if not view.trials:
        st.info(f"The sweep is {view.job.status}: trials appear as soon as the agent starts them.")
        return
    frame = sweep_charts.trials_frame(view)
    metric = sweep_charts.metric_column(view)
    if not frame["canceled by policy"].astype(bool).any():
        frame = frame.drop(columns=["canceled by policy"])
    if not frame["note"].astype(bool).any():
        frame = frame.drop(columns=["note"])
    event = st.dataframe(
        frame,
        key="sw_trials",
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "status": _status_column(),
            "best": st.column_config.CheckboxColumn(
                "best", help=f"The best {view.primary_metric} ({view.goal})"
            ),
            metric: st.column_config.NumberColumn(
                metric, format="%.6g", help="The last value the trial logged"
            ),
            "canceled by policy": st.column_config.TextColumn("canceled by policy", width="large"),
        },
    )
    picked = shell.selected_row(event, frame)
    if picked:
        _job_link(picked["trial"], f"Open trial {picked['trial']} (logs, metrics, outputs)")
    else:
        st.caption("Select a trial to open it on the Jobs page.")


def _charts(view: sweeps.SweepView) -> None:
    if not any(t.metric is not None for t in view.trials):
        st.info(f"No trial has logged {view.primary_metric!r} yet.")
        return
    st.plotly_chart(sweep_charts.metric_over_trials(view), key="sw_chart_trials")
    st.plotly_chart(sweep_charts.learning_curves(view), key="sw_chart_curves")
    st.caption("Dashed: canceled by the early-termination policy. Colour: each trial's last value.")


def _parallel(view: sweeps.SweepView) -> None:
    if not any(t.metric is not None for t in view.trials):
        st.info(f"No trial has logged {view.primary_metric!r} yet.")
        return
    st.plotly_chart(sweep_charts.parallel_coordinates(view), key="sw_parallel")
    st.caption("Drag along an axis to highlight the trials in a range.")


def _scatter(view: sweeps.SweepView) -> None:
    if not view.trials:
        st.info("No trials yet.")
        return
    axes = sweep_charts.axis_columns(view)
    params = list(sweep_charts.param_columns(view).values())
    metric = sweep_charts.metric_column(view)
    cols = st.columns([1, 2, 2, 2, 2])
    mode = cols[0].segmented_control("View", ["2-D", "3-D"], default="2-D", key="sw_sc_mode") or "2-D"
    x = cols[1].selectbox("X", axes, index=0, key="sw_sc_x")
    y = cols[2].selectbox("Y", axes, index=axes.index(metric), key="sw_sc_y")
    z_default = axes.index(params[1]) if len(params) > 1 else axes.index("run time (s)")
    z = cols[3].selectbox("Z", axes, index=z_default, key="sw_sc_z", disabled=mode == "2-D")
    color_options = ["(none)", *axes]
    color = cols[4].selectbox("Colour", color_options, index=color_options.index(metric), key="sw_sc_color")
    figure = sweep_charts.scatter_figure(
        view, x=x, y=y, z=z if mode == "3-D" else None, color=None if color == "(none)" else color
    )
    st.plotly_chart(figure, key="sw_scatter")


@st.cache_data(show_spinner=False, max_entries=64)
def _cached_importance(key: tuple, _view: sweeps.SweepView, evaluator: str):
    return hyperparameter_importance(_view, evaluator=evaluator)


def _importance(view: sweeps.SweepView) -> None:
    evaluator = (
        st.segmented_control(
            "Evaluator",
            list(EVALUATORS),
            format_func=EVALUATORS.get,
            default="fanova",
            key="sw_imp_evaluator",
        )
        or "fanova"
    )
    key = (workspace, view.job.name, tuple((t.name, t.status, t.metric) for t in view.trials))
    result = _cached_importance(key, view, evaluator)
    if not result.importances:
        st.info(result.note)
        return
    if result.note:
        st.caption(result.note)
    st.plotly_chart(
        sweep_charts.importance_bar(result.importances, evaluator=EVALUATORS[result.evaluator]),
        key="sw_importance",
    )
    st.caption(
        f"From {result.trials} completed trials' final {view.primary_metric} (Optuna's "
        f"{EVALUATORS[result.evaluator]} evaluator): the share of the metric's variation each parameter explains."
        + (" With this few trials, read it as a rough hint." if result.trials < FEW_TRIALS else "")
    )


# ---------------------------------------------------------------------------------------------- what-if


def _policy_inputs(prefix: str, *, allow_none: bool, start: dict | None = None) -> sweep_wizard.PolicyForm:
    """The widgets of an early-termination policy (the wizard's, and the what-if's starting from ``start``,
    the sweep's own policy)."""
    start = start or {}
    kinds = [k for k in sweep_wizard.POLICY_TYPES if allow_none or k != "none"]
    first = str(start.get("type", "")).lower()
    slack_kind = "slack_amount" if start.get("slack_amount") is not None else "slack_factor"
    cols = st.columns([2, 1.6, 1.4])
    kind = cols[0].selectbox(
        "Policy",
        kinds,
        index=kinds.index(first) if first in kinds else 0,
        format_func=POLICY_LABELS.get,
        key=f"{prefix}_type",
    )
    form = {"type": kind}
    if kind == "bandit":
        form["slack_kind"] = cols[1].radio(
            "Slack",
            ["slack_factor", "slack_amount"],
            index=["slack_factor", "slack_amount"].index(slack_kind),
            key=f"{prefix}_slack_kind",
            horizontal=True,
            help="slack_factor: a ratio of the best value; slack_amount: an absolute distance",
        )
        form["slack"] = cols[2].number_input(
            "Slack value",
            min_value=0.0,
            value=float(start.get(slack_kind) or 0.1),
            step=0.05,
            format="%.3f",
            key=f"{prefix}_slack",
        )
    elif kind == "truncation_selection":
        form["truncation_percentage"] = cols[1].slider(
            "Truncation %",
            1,
            99,
            int(start.get("truncation_percentage") or 20),
            key=f"{prefix}_pct",
            help="Cancel the worst N% at each evaluation",
        )
        form["exclude_finished_jobs"] = cols[2].toggle(
            "Exclude finished trials",
            value=bool(start.get("exclude_finished_jobs")),
            key=f"{prefix}_exclude",
            help="Rank only the trials still running",
        )
    if kind != "none":
        cols = st.columns(2)
        form["evaluation_interval"] = cols[0].number_input(
            "Evaluation interval",
            min_value=1,
            value=int(start.get("evaluation_interval", 1) or 1),
            step=1,
            key=f"{prefix}_interval",
            help="Evaluate at every n-th logged value of the primary metric",
        )
        form["delay_evaluation"] = cols[1].number_input(
            "Delay evaluation",
            min_value=0,
            value=int(start.get("delay_evaluation", 0) or 0),
            step=1,
            key=f"{prefix}_delay",
            help="Do not evaluate before this many values",
        )
    return sweep_wizard.PolicyForm(**form)


def _what_if(view: sweeps.SweepView) -> None:
    if not any(view.curves.values()):
        st.info(f"No trial logged {view.primary_metric!r}: there is nothing to replay.")
        return
    st.caption(
        "Replay another early-termination policy on this sweep's logged learning curves, in the order the "
        "values arrived. "
        + (
            f"This sweep ran with {_policy_text(view.policy)}."
            if view.policy
            else "This sweep ran without one."
        )
    )
    policy = _policy_inputs("sw_wi", allow_none=False, start=view.policy)
    spec = policy.spec()
    result = shell.attempt(lambda: sweeps.replay_policy(view, spec))
    if result is None:
        return
    by_name = {t.name: t for t in view.trials}
    cols = st.columns(3)
    cols[0].metric("Trials it would stop", f"{len(result.stopped)} of {len(view.curves)}")
    cols[1].metric(
        "Compute it would save",
        _duration(result.compute_saved_s),
        help="Each stopped trial's run time after the interval it is stopped at, at its own pace",
    )
    survives = "–" if result.best_trial is None else ("yes" if result.best_survives else "no")
    cols[2].metric(
        "Best trial survives",
        survives,
        help=f"Whether {result.best_trial} would still run to its end" if result.best_trial else None,
    )
    if result.best_trial and not result.best_survives:
        st.warning(f"This policy would have stopped the best trial, {result.best_trial}.", icon="⚠️")
    if result.stopped:
        rows = []
        for trial, info in result.stopped.items():
            t = by_name.get(trial)
            length = len(view.curves.get(trial, []))
            saved = (t.runtime_s or 0.0) / length * (length - info["interval"]) if t and length else 0.0
            rows.append(
                {
                    "trial": trial,
                    "stopped at interval": info["interval"],
                    "of": length,
                    f"final {view.primary_metric}": t.metric if t else None,
                    "saved (s)": round(saved, 1),
                    "reason": info["reason"],
                }
            )
        st.dataframe(pd.DataFrame(rows), key="sw_wi_table", hide_index=True, width="stretch")
    else:
        st.success("This policy would not have stopped any trial.", icon="✅")
    st.plotly_chart(sweep_charts.learning_curves(view, stopped=result.stopped), key="sw_wi_curves")
    st.caption("✕ marks where the policy would stop a trial; the faded part is the compute it would save.")
    with st.expander("As YAML (early_termination)"):
        st.code(yaml.safe_dump({"early_termination": spec}, sort_keys=False), language="yaml")


# ============================================================================================== wizard


def _next_id() -> int:
    value = st.session_state.get("sw_next_id", 1)
    st.session_state["sw_next_id"] = value + 1
    return value


def _space_rows() -> list[sweep_wizard.SpaceRow]:
    st.markdown("**Search space**")
    ids = st.session_state.setdefault("sw_space", [0])
    rows = []
    for row in list(ids):
        cols = st.columns([2, 1.8, 4.6, 0.5], vertical_alignment="bottom")
        name = cols[0].text_input("Parameter", key=f"sw_p_name_{row}", placeholder="learning_rate")
        kind = cols[1].selectbox(
            "Distribution",
            sweep_wizard.TYPES,
            key=f"sw_p_type_{row}",
            help="\n".join(f"- **{k}**: {v}" for k, v in TYPE_HELP.items()),
        )
        names = sweep_wizard.ARGUMENTS[kind]
        arg_cols = cols[2].columns(len(names))
        args = {
            arg: arg_cols[i].text_input(arg, key=f"sw_p_{arg}_{row}", placeholder=ARG_HINTS[arg])
            for i, arg in enumerate(names)
        }
        if cols[3].button(
            ":material/close:", key=f"sw_p_remove_{row}", type="tertiary", help="Remove this parameter"
        ):
            ids.remove(row)
            st.rerun()
        rows.append(sweep_wizard.SpaceRow(name=name, type=kind, args=args))
    if st.button("Add parameter", key="sw_p_add", icon=":material/add:"):
        ids.append(_next_id())
        st.rerun()
    return rows


def _input_rows(hint: str) -> list[sweep_wizard.InputRow]:
    st.markdown("**Inputs** (literal values)")
    ids = st.session_state.setdefault("sw_inputs", [])
    rows = []
    for row in list(ids):
        cols = st.columns([2, 4, 0.5], vertical_alignment="bottom")
        name = cols[0].text_input("Input", key=f"sw_in_name_{row}", placeholder="epochs")
        value = cols[1].text_input("Value", key=f"sw_in_value_{row}", placeholder="10")
        if cols[2].button(
            ":material/close:", key=f"sw_in_remove_{row}", type="tertiary", help="Remove this input"
        ):
            ids.remove(row)
            st.rerun()
        rows.append(sweep_wizard.InputRow(name=name, value=value))
    if st.button("Add input", key="sw_in_add", icon=":material/add:", help=hint):
        ids.append(_next_id())
        st.rerun()
    return rows


def _choices() -> dict:
    with open_session() as s:
        try:
            folders = job_forms.code_folders(session=s, workspace=workspace)
        except (NotFoundError, ValidationError):  # no working-directory datastore: commands run without code
            folders = []
        return {
            "envs": job_forms.environment_choices(session=s, workspace=workspace),
            "computes": [c.name for c in compute_service.list_computes(session=s, workspace=workspace)],
            "folders": folders,
            "components": components.list_components(session=s, workspace=workspace),
        }


def _component_picker(found: list) -> tuple[str, list[str] | None]:
    """The registered component a trial runs: its reference and input names."""
    if not found:
        st.info("No components are registered in this workspace yet (`studio component create --file`).")
        return "", None
    names = [c.name for c in found]
    cols = st.columns(2)
    name = cols[0].selectbox("Component", names, key="sw_component")

    def _versions():
        with open_session() as s:
            return components.list_component_versions(session=s, workspace=workspace, name=name)

    versions = shell.attempt(_versions) or []
    if not versions:
        return "", None
    labels = [v.version for v in versions if not v.archived] or [versions[0].version]
    version = cols[1].selectbox("Version", labels, key=f"sw_component_version_{name}")
    chosen = next(v for v in versions if v.version == version)
    inputs = [r for r in chosen.interface if r["direction"] == "input"]
    if chosen.description:
        st.caption(chosen.description)
    if inputs:
        st.dataframe(
            pd.DataFrame(inputs).drop(columns=["direction"]),
            hide_index=True,
            width="stretch",
            key="sw_component_inputs",
        )
        st.caption(
            "Sweep any of these inputs by naming a search-space parameter after it; give others below."
        )
    return f"azureml:{name}:{version}", [r["name"] for r in inputs]


def create_view() -> None:
    if st.button("← All sweeps", key="sw_wiz_back"):
        _go()
    st.header("Create sweep")
    choices = shell.attempt(_choices)
    if choices is None:
        return
    left, right = st.columns([3, 2])
    component_inputs = None
    with left:
        st.subheader("1. Trial")
        kind = st.radio(
            "Each trial runs",
            ["command", "component"],
            format_func={"command": "A command", "component": "A registered component"}.get,
            key="sw_trial_kind",
            horizontal=True,
        )
        command = code = environment = component = ""
        if kind == "command":
            command = st.text_area(
                "Command",
                key="sw_command",
                height=80,
                placeholder="python train.py --lr ${{search_space.learning_rate}} --epochs ${{inputs.epochs}}",
                help="${{search_space.<name>}} takes each trial's sampled value; ${{inputs.<name>}} an input below",
            )
            cols = st.columns(2)
            folders = [NO_CODE, *choices["folders"]]
            folder = cols[0].selectbox(
                "Code folder (workspaceworkingdirectory)",
                folders,
                key="sw_code",
                help="Upload a folder on the Datastores page to run code from it",
            )
            code = "" if folder == NO_CODE else job_forms.code_folder_uri(folder)
            env_refs = [c.reference for c in choices["envs"]]
            env_labels = {c.reference: c.label for c in choices["envs"]}
            environment = cols[1].selectbox(
                "Environment", env_refs, key="sw_env", format_func=lambda r: env_labels.get(r, r)
            )
        else:
            component, component_inputs = _component_picker(choices["components"])
        inputs = _input_rows("A literal value the trial reads as ${{inputs.<name>}}")
        computes = choices["computes"]
        if st.session_state.get("sw_compute") not in computes:
            st.session_state["sw_compute"] = "serverless" if "serverless" in computes else computes[0]
        compute = st.selectbox("Compute", computes, key="sw_compute")

        st.subheader("2. Search space and sampling")
        cols = st.columns([1.2, 1.2, 1.4])
        algorithm = cols[0].selectbox(
            "Sampling algorithm",
            sweep_wizard.ALGORITHMS,
            key="sw_algorithm",
            help="random: every type; grid: choice only (every combination once); "
            "bayesian: choice, uniform, quniform (no early termination)",
        )
        seed, rule = "", "random"
        if algorithm == "random":
            seed = cols[1].text_input("Seed", key="sw_seed", placeholder="empty: random")
            rule = cols[2].radio("Rule", ["random", "sobol"], key="sw_rule", horizontal=True)
        space = _space_rows()
        space_slot = st.empty()  # a problem in the search space shows here, as you type

        st.subheader("3. Objective and limits")
        cols = st.columns(2)
        metric = cols[0].text_input(
            "Primary metric", key="sw_metric", placeholder="accuracy", help="An MLflow metric each trial logs"
        )
        goal = cols[1].selectbox("Goal", ["maximize", "minimize"], key="sw_goal")
        cols = st.columns(4)
        max_total = cols[0].number_input(
            "Max trials",
            min_value=0,
            value=10,
            step=1,
            key="sw_max_total",
            help="Required for random and bayesian sampling; a grid stops after its last combination (0: no cap)",
        )
        max_concurrent = cols[1].number_input(
            "Max concurrent", min_value=0, value=2, step=1, key="sw_max_concurrent"
        )
        timeout = cols[2].number_input(
            "Sweep timeout (s, 0: none)", min_value=0, value=0, step=60, key="sw_timeout"
        )
        trial_timeout = cols[3].number_input(
            "Trial timeout (s, 0: none)", min_value=0, value=0, step=60, key="sw_trial_timeout"
        )

        st.subheader("4. Early termination")
        policy = _policy_inputs("sw_et", allow_none=True)

        with st.expander("Name, display name, experiment, description"):
            cols = st.columns(3)
            name = cols[0].text_input("Sweep name (empty: generated)", key="sw_name")
            display = cols[1].text_input("Display name", key="sw_display")
            experiment = cols[2].text_input("Experiment", key="sw_experiment", placeholder="Default")
            description = st.text_input("Description", key="sw_description")

    form = sweep_wizard.SweepForm(
        name=name,
        display_name=display,
        experiment_name=experiment,
        description=description,
        trial_kind=kind,
        command=command,
        code=code,
        environment=environment or "",
        component=component,
        inputs=inputs,
        compute=compute,
        search_space=space,
        algorithm=algorithm,
        seed=seed,
        rule=rule,
        primary_metric=metric,
        goal=goal,
        max_total_trials=int(max_total) or None,
        max_concurrent_trials=int(max_concurrent) or None,
        timeout=int(timeout) or None,
        trial_timeout=int(trial_timeout) or None,
        policy=policy,
    )
    with right:
        st.markdown("**The sweep YAML that will be submitted**")
        st.code(sweep_wizard.form_yaml(form), language="yaml", wrap_lines=True)
        st.caption("`studio job create --file sweep.yml` accepts the same file.")
    error_slot = st.empty()
    submitted = st.button("Submit", type="primary", key="sw_submit", icon=":material/play_arrow:")
    if any(not r.blank for r in space):  # the search space is checked as you type
        try:
            sweep_wizard.check_space(space, algorithm)
        except ValidationError as exc:
            space_slot.error(f"{sweep_wizard.SOURCE}: {exc}", icon="⚠️")
            return
    if submitted or (bool(command.strip() or component) and bool(metric.strip())):
        try:
            sweep_wizard.validate_form(form, component_inputs=component_inputs)
        except ValidationError as exc:
            error_slot.error(str(exc), icon="⚠️")
            return
    if submitted:

        def _submit():
            with open_session() as s:
                return sweep_wizard.submit_sweep_form(session=s, workspace=workspace, form=form)

        job = shell.attempt(_submit, success="Sweep submitted")
        if job:
            for key in [k for k in st.session_state if str(k).startswith("sw_")]:
                del st.session_state[key]
            _go(sweep=job.name)


# ================================================================================================ route

st.title("Sweeps")
if st.query_params.get("sweep"):
    detail(st.query_params["sweep"])
elif st.query_params.get("create"):
    create_view()
else:
    listing()
