"""The "Create sweep" wizard: the trial (a command or a registered component), the search space and
sampling, the objective and limits, early termination, and the sweep YAML it submits."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from backend.services import NotFoundError, ValidationError, components, job_forms, sweep_wizard
from studio.ui import run_widgets
from studio.ui.sweeps import go
from studio.ui.sweeps.what_if import policy_inputs

NO_CODE = "(no code)"
EXAMPLE = "python train.py --lr ${{search_space.learning_rate}} --epochs ${{inputs.epochs}}"
HINT = "${{search_space.<name>}} takes each trial's sampled value; ${{inputs.<name>}} an input below"
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
        ids.append(run_widgets.next_id("sw_next_id", start=1))
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
        ids.append(run_widgets.next_id("sw_next_id", start=1))
        st.rerun()
    return rows


def _choices(session, workspace: str) -> dict:
    try:
        folders = job_forms.code_folders(session=session, workspace=workspace)
    except (NotFoundError, ValidationError):  # no working-directory datastore: commands run without code
        folders = []
    return {
        "envs": job_forms.environment_choices(session=session, workspace=workspace),
        "computes": run_widgets.compute_names(session),
        "folders": folders,
        "components": components.list_components(session=session, workspace=workspace),
    }


def _component_picker(found: list) -> tuple[str, list[str] | None]:
    """The registered component a trial runs: its reference and input names."""
    if not found:
        st.info("No components are registered in this workspace yet (`studio component create --file`).")
        return "", None
    names = [c.name for c in found]
    cols = st.columns(2)
    name = cols[0].selectbox("Component", names, key="sw_component")
    versions = run_widgets.call(components.list_component_versions, name=name) or []
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


def _trial(choices: dict) -> dict:
    """What each trial runs: a command (with code and environment) or a registered component."""
    kind = st.radio(
        "Each trial runs",
        ["command", "component"],
        format_func={"command": "A command", "component": "A registered component"}.get,
        key="sw_trial_kind",
        horizontal=True,
    )
    fields = {"trial_kind": kind, "command": "", "code": "", "environment": "", "component": ""}
    component_inputs = None
    if kind == "command":
        fields["command"] = st.text_area(
            "Command", key="sw_command", height=80, placeholder=EXAMPLE, help=HINT
        )
        cols = st.columns(2)
        folder = cols[0].selectbox(
            "Code folder (workspaceworkingdirectory)",
            [NO_CODE, *choices["folders"]],
            key="sw_code",
            help="Upload a folder on the Datastores page to run code from it",
        )
        fields["code"] = "" if folder == NO_CODE else job_forms.code_folder_uri(folder)
        fields["environment"] = (
            run_widgets.environment_select(choices["envs"], key="sw_env", where=cols[1]) or ""
        )
    else:
        fields["component"], component_inputs = _component_picker(choices["components"])
    fields["inputs"] = _input_rows("A literal value the trial reads as ${{inputs.<name>}}")
    fields["compute"] = run_widgets.compute_select(choices["computes"], key="sw_compute")
    return fields | {"component_inputs": component_inputs}


def _sampling() -> dict:
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
    return {"algorithm": algorithm, "seed": seed, "rule": rule, "search_space": _space_rows()}


def _objective_and_limits() -> dict:
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
    return {
        "primary_metric": metric,
        "goal": goal,
        "max_total_trials": int(max_total) or None,
        "max_concurrent_trials": int(max_concurrent) or None,
        "timeout": int(timeout) or None,
        "trial_timeout": int(trial_timeout) or None,
    }


def create_view() -> None:
    if st.button("← All sweeps", key="sw_wiz_back"):
        go()
    st.header("Create sweep")
    choices = run_widgets.call(_choices)
    if choices is None:
        return
    left, right = st.columns([3, 2])
    with left:
        st.subheader("1. Trial")
        trial = _trial(choices)
        component_inputs = trial.pop("component_inputs")
        st.subheader("2. Search space and sampling")
        sampling = _sampling()
        space_slot = st.empty()  # a problem in the search space shows here, as you type
        st.subheader("3. Objective and limits")
        objective = _objective_and_limits()
        st.subheader("4. Early termination")
        policy = policy_inputs("sw_et", allow_none=True)
        with st.expander("Name, display name, experiment, description"):
            names = run_widgets.name_fields("sw_", noun="Sweep")
    form = sweep_wizard.SweepForm(**names, **trial, **sampling, **objective, policy=policy)
    with right:
        st.markdown("**The sweep YAML that will be submitted**")
        st.code(sweep_wizard.form_yaml(form), language="yaml", wrap_lines=True)
        st.caption("`studio job create --file sweep.yml` accepts the same file.")
    error_slot = st.empty()
    submitted = st.button("Submit", type="primary", key="sw_submit", icon=":material/play_arrow:")
    space = sampling["search_space"]
    if any(not r.blank for r in space):  # the search space is checked as you type
        try:
            sweep_wizard.check_space(space, sampling["algorithm"])
        except ValidationError as exc:
            space_slot.error(f"{sweep_wizard.SOURCE}: {exc}", icon="⚠️")
            return
    if submitted or (
        bool(trial["command"].strip() or trial["component"]) and bool(objective["primary_metric"].strip())
    ):
        try:
            sweep_wizard.validate_form(form, component_inputs=component_inputs)
        except ValidationError as exc:
            error_slot.error(str(exc), icon="⚠️")
            return
    if submitted:
        job = run_widgets.submit(
            sweep_wizard.submit_sweep_form, success="Sweep submitted", prefix="sw_", form=form
        )
        if job:
            go(sweep=job.name)
