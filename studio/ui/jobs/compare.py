"""The comparison of runs (selected jobs, or a whole experiment): metric curves, parallel coordinates,
scatter plots and a table, with filters that keep a hundred runs readable."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from backend.services import comparisons, runs
from studio.ui import charts, run_widgets, shell
from studio.ui.jobs import go
from studio.ui.jobs.metrics import chart_controls, guess_goal

DIMENSIONS_DEFAULT = 8
FULL_HISTORIES_BY_DEFAULT = 20  # runs up to which the table shows min and max of the metric unasked


def _column_names(all_runs: list) -> tuple[dict[str, str], dict[str, str]]:
    """Table/axis names for params and metrics; a name used by both gets a suffix."""
    params = sorted({k for r in all_runs for k in r.run.params})
    metrics = sorted({k for r in all_runs for k in r.run.metrics})
    both = set(params) & set(metrics)
    fixed = {"run", "job", "status", "experiment", "duration (s)"}
    param_cols = {p: (f"{p} (param)" if p in both or p in fixed else p) for p in params}
    metric_cols = {m: (f"{m} (metric)" if m in both or m in fixed else m) for m in metrics}
    return param_cols, metric_cols


def _runs_frame(selected: list, param_cols: dict, metric_cols: dict) -> pd.DataFrame:
    records = []
    for r in selected:
        record = {
            "run": r.display_name if r.display_name != r.job else r.job,
            "job": r.job,
            "status": r.status,
            "experiment": r.experiment,
            "duration (s)": None if r.duration_s is None else round(r.duration_s, 1),
        }
        record |= {col: r.run.params.get(p) for p, col in param_cols.items()}
        record |= {col: r.run.metrics.get(m) for m, col in metric_cols.items()}
        records.append(record)
    frame = pd.DataFrame(records)
    for col in param_cols.values():
        frame[col] = charts.numeric_or_text(frame[col])
    if frame["run"].duplicated().any():  # display names repeat (clones): keep the label unique
        frame["run"] = [
            f"{run} ({job})" if dup else run
            for run, job, dup in zip(
                frame["run"], frame["job"], frame["run"].duplicated(keep=False), strict=True
            )
        ]
    return frame


def compare_view(names: list[str] | None, experiment: str | None) -> None:
    if st.button("← All jobs", key="cmp_back"):
        go()
    loaded = run_widgets.call(comparisons.runs_for_jobs, names=names, experiment=experiment)
    if loaded is None:
        return
    st.header(f"Compare runs of {experiment}" if experiment else "Compare runs")
    if names:
        missing = [n for n in names if n not in {r.job for r in loaded}]
        if missing:
            st.warning(f"Not found in workspace {shell.current_workspace()!r}: {', '.join(missing)}")
    not_started = [r.job for r in loaded if r.run is None]
    all_runs = [r for r in loaded if r.run is not None]
    if not_started:
        st.caption(f"{len(not_started)} job(s) without an MLflow run yet (not started): left out.")
    if not all_runs:
        st.info("None of these jobs has an MLflow run yet; runs appear once jobs start.")
        return

    param_cols, metric_cols = _column_names(all_runs)
    selected, metric, goal = _pick_runs(all_runs, list(metric_cols))
    st.caption(
        f"{len(selected)} of {len(all_runs)} runs shown"
        + (f" · experiment {experiment}" if experiment else "")
    )
    if not selected:
        st.info("No run matches the filters.")
        return
    frame = _runs_frame(selected, param_cols, metric_cols)
    shown_params = [c for c in param_cols.values() if frame[c].notna().any()]
    shown_metrics = [c for c in metric_cols.values() if frame[c].notna().any()]
    varying_params = charts.differing_columns(frame, shown_params)
    numeric = [c for c in [*shown_params, *shown_metrics, "duration (s)"] if charts.is_numeric(frame[c])]
    axes = [*shown_params, *shown_metrics, "duration (s)"]
    metric_col = metric_cols.get(metric) if metric else None

    views = {
        "Metric curves": lambda: _compare_curves(
            selected, frame, metric, metric_col, goal, numeric, varying_params
        ),
        "Parallel coordinates": lambda: _compare_parallel(frame, axes, varying_params, metric_col),
        "Scatter": lambda: _compare_scatter(frame, axes, varying_params, shown_metrics, metric_col),
        "Table": lambda: _compare_table(selected, frame, shown_params, metric_cols, shown_metrics, metric),
    }
    # Only the open view is drawn (with 100 runs each chart costs the browser a second); ?view= opens one.
    tabs = st.tabs(list(views), key="view", on_change="rerun", bind="query-params")
    for tab, draw in zip(tabs, views.values(), strict=True):
        if tab.open:
            with tab:
                draw()


def _pick_runs(all_runs: list, metric_keys: list[str]) -> tuple[list, str | None, str]:
    """Which runs to show (filters that keep 100 runs readable); the ranking metric and its goal."""
    cols = st.columns([2, 2, 2, 1.4, 1.2])
    statuses = sorted({r.status for r in all_runs})
    keep_status = cols[0].multiselect(
        "Statuses", statuses, default=statuses, key="cmp_status", placeholder="All statuses"
    )
    text = cols[1].text_input("Filter runs", key="cmp_filter", placeholder="name contains…")
    metric = cols[2].selectbox("Metric", metric_keys, key="cmp_metric") if metric_keys else None
    goal = cols[3].selectbox(
        "Goal",
        ["minimize", "maximize"],
        index=0 if metric and guess_goal(metric) == "minimize" else 1,
        key=f"cmp_goal_{metric}",
        disabled=metric is None,
    )
    best = cols[4].number_input("Best N (0: all)", min_value=0, value=0, step=1, key="cmp_best")
    selected = [
        r
        for r in all_runs
        if (not keep_status or r.status in keep_status)
        and (not text or text.lower() in f"{r.job} {r.display_name}".lower())
    ]
    if metric and best:
        ranked = [r for r in selected if metric in r.run.metrics]
        ranked.sort(key=lambda r: r.run.metrics[metric], reverse=goal == "maximize")
        selected = ranked[: int(best)]
    return selected, metric, goal


def _compare_curves(selected, frame, metric, metric_col, goal, numeric, varying_params) -> None:
    if not metric:
        st.info("These runs logged no metrics.")
        return
    x, smoothing, log_y = chart_controls("cmp_chart")
    color_options = ["(one colour per run)", *numeric]
    default_color = next((p for p in varying_params if p in numeric), metric_col)
    color = st.selectbox(
        "Colour lines by",
        color_options,
        index=color_options.index(default_color) if default_color in color_options else 0,
        key="cmp_curve_color",
        help="A continuous colour scale stays readable with many runs",
    )
    # The chart reads a sample of each curve (one request per 100 runs); the table reads exact values.
    histories = shell.attempt(
        lambda: runs.sampled_histories(run_ids=[r.run_id for r in selected], key=metric)
    )
    if histories is None:
        return
    by_job = dict(zip(frame["job"], frame.to_dict("records"), strict=True))
    ordered = sorted(
        [r for r in selected if r.run_id in histories],
        key=lambda r: (
            r.run.metrics.get(metric, math.inf if goal == "minimize" else -math.inf)
            * (1 if goal == "minimize" else -1)
        ),
    )
    use_scale = color != color_options[0]
    curves = []
    for r in ordered:
        history = histories[r.run_id]
        row = by_job[r.job]
        value = row.get(color) if use_scale else None
        curves.append(
            charts.Curve(
                label=row["run"],
                steps=history.steps,
                timestamps=history.timestamps,
                values=history.values,
                color_value=None if value is None or pd.isna(value) else float(value),
                extra={p: row.get(p) for p in varying_params[:4]},
            )
        )
    if not curves:
        st.info(f"None of the shown runs logged {metric!r}.")
        return
    st.plotly_chart(
        charts.metric_curves(
            curves,
            title=metric,
            x=x,
            smoothing=smoothing,
            log_y=log_y,
            color_title=color if use_scale else None,
            height=480,
        ),
        key="cmp_curves",
    )
    st.caption(f"Legend ordered best first ({goal}).")


def _compare_parallel(frame, axes, varying_params, metric_col) -> None:
    default = [*varying_params[:DIMENSIONS_DEFAULT]]
    if metric_col and metric_col not in default:
        default.append(metric_col)
    dims = st.multiselect("Axes", axes, default=[d for d in default if d in axes], key="cmp_par_axes")
    color_options = ["(none)", *axes]
    color = st.selectbox(
        "Colour by",
        color_options,
        index=color_options.index(metric_col) if metric_col in color_options else 0,
        key="cmp_par_color",
    )
    if len(dims) < 2:
        st.info("Pick at least two axes.")
        return
    fig, dropped = charts.parallel_coordinates(frame, dims, color=None if color == "(none)" else color)
    st.plotly_chart(fig, key="cmp_parallel")
    if dropped:
        st.caption(f"{dropped} run(s) without a value on every chosen axis are left out.")
    st.caption("Drag along an axis to highlight a range of runs.")


def _compare_scatter(frame, axes, varying_params, shown_metrics, metric_col) -> None:
    cols = st.columns([1.4, 2, 2, 2, 2])
    mode = cols[0].segmented_control("View", ["2-D", "3-D"], default="2-D", key="cmp_sc_mode") or "2-D"
    first = varying_params[0] if varying_params else axes[0]
    second = metric_col if metric_col in axes else (shown_metrics or axes[min(1, len(axes) - 1) :])[0]
    third = next((a for a in axes if a not in (first, second)), first)
    x = cols[1].selectbox("X", axes, index=axes.index(first), key="cmp_sc_x")
    y = cols[2].selectbox("Y", axes, index=axes.index(second), key="cmp_sc_y")
    z = cols[3].selectbox("Z", axes, index=axes.index(third), key="cmp_sc_z", disabled=mode == "2-D")
    color_options = ["(none)", *axes]
    color = cols[4].selectbox(
        "Colour",
        color_options,
        index=color_options.index(metric_col) if metric_col in color_options else 0,
        key="cmp_sc_color",
    )
    wanted = [x, y] + ([z] if mode == "3-D" else []) + ([color] if color != "(none)" else [])
    data = frame.dropna(subset=list(dict.fromkeys(wanted)))
    if data.empty:
        st.info("No run has a value on every chosen axis.")
        return
    st.plotly_chart(
        charts.scatter(
            data, x=x, y=y, z=z if mode == "3-D" else None, color=None if color == "(none)" else color
        ),
        key="cmp_scatter",
    )
    if len(data) < len(frame):
        st.caption(f"{len(frame) - len(data)} run(s) without a value on every chosen axis are left out.")


def _compare_table(selected, frame, shown_params, metric_cols, shown_metrics, metric) -> None:
    cols = st.columns([1, 3])
    differences = cols[0].toggle("Differences only", key="cmp_diff", help="Hide columns equal in every run")
    metric_names = [m for m, c in metric_cols.items() if c in shown_metrics]
    spread = cols[1].multiselect(
        "Also min and max of",
        metric_names,
        default=[metric] if metric in metric_names and len(selected) <= FULL_HISTORIES_BY_DEFAULT else [],
        key="cmp_minmax",
        help="Reads these metrics' full histories (exact values; one request per run)",
    )
    table = frame.rename(columns={metric_cols[m]: f"{metric_cols[m]} (last)" for m in metric_names})
    metric_table_cols = [f"{metric_cols[m]} (last)" for m in metric_names]
    for key in spread:
        histories = shell.attempt(
            lambda key=key: runs.metric_histories(run_ids=[r.run_id for r in selected], key=key)
        )
        if histories is None:
            continue
        by_job = {r.job: histories.get(r.run_id) for r in selected}
        table[f"{metric_cols[key]} (min)"] = [by_job[j].min if by_job.get(j) else None for j in table["job"]]
        table[f"{metric_cols[key]} (max)"] = [by_job[j].max if by_job.get(j) else None for j in table["job"]]
        metric_table_cols += [f"{metric_cols[key]} (min)", f"{metric_cols[key]} (max)"]
    order = {"last": 0, "min": 1, "max": 2}
    metric_table_cols = sorted(
        dict.fromkeys(metric_table_cols),
        key=lambda c: (c.rsplit(" (", 1)[0], order[c.rsplit("(", 1)[1][:-1]]),
    )
    columns = ["run", "status", "duration (s)", *shown_params, *metric_table_cols]
    if differences:
        columns = ["run", *charts.differing_columns(table, columns[1:])]
    st.dataframe(
        table[columns],
        hide_index=True,
        width="stretch",
        key="cmp_table",
        column_config={"status": run_widgets.status_column()},
    )
    st.download_button(
        "Download CSV",
        data=table[columns].to_csv(index=False),
        file_name="runs.csv",
        mime="text/csv",
        key="cmp_csv",
        icon=":material/download:",
        on_click="ignore",
    )
