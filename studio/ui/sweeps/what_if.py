"""Early-termination policies: their widgets (the wizard's, and the what-if's) and the Policy what-if tab,
which replays another policy on a finished sweep's logged learning curves."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import yaml

from backend.services import sweep_wizard, sweeps
from studio.ui import shell, sweep_charts
from studio.ui.sweeps import policy_text

POLICY_LABELS = {
    "none": "No early termination",
    "bandit": "Bandit",
    "median_stopping": "Median stopping",
    "truncation_selection": "Truncation selection",
}
# The timing fields every policy has: (field, label, lowest value, key suffix, help).
EVALUATION = (
    (
        "evaluation_interval",
        "Evaluation interval",
        1,
        "interval",
        "Evaluate at every n-th logged value of the primary metric",
    ),
    ("delay_evaluation", "Delay evaluation", 0, "delay", "Do not evaluate before this many values"),
)


def policy_inputs(prefix: str, *, allow_none: bool, start: dict | None = None) -> sweep_wizard.PolicyForm:
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
        for col, (field, label, low, short, hint) in zip(st.columns(2), EVALUATION, strict=True):
            form[field] = col.number_input(
                label,
                min_value=low,
                value=int(start.get(field, low) or low),
                step=1,
                key=f"{prefix}_{short}",
                help=hint,
            )
    return sweep_wizard.PolicyForm(**form)


def what_if_tab(view: sweeps.SweepView) -> None:
    if not any(view.curves.values()):
        st.info(f"No trial logged {view.primary_metric!r}: there is nothing to replay.")
        return
    st.caption(
        "Replay another early-termination policy on this sweep's logged learning curves, in the order the "
        "values arrived. "
        + (
            f"This sweep ran with {policy_text(view.policy)}."
            if view.policy
            else "This sweep ran without one."
        )
    )
    policy = policy_inputs("sw_wi", allow_none=False, start=view.policy)
    spec = policy.spec()
    result = shell.attempt(lambda: sweeps.replay_policy(view, spec))
    if result is None:
        return
    by_name = {t.name: t for t in view.trials}
    cols = st.columns(3)
    cols[0].metric("Trials it would stop", f"{len(result.stopped)} of {len(view.curves)}")
    cols[1].metric(
        "Compute it would save",
        shell.human_duration(result.compute_saved_s),
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
