"""A tabular benchmark's results: registered models side by side on one test table (no items, no judge)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from studio.ui.benchmarks import charts, numbers

COST_AND_TIME = ("latency_per_1k_s", "cost_per_1k")


def frame(results: dict[str, Any]) -> pd.DataFrame:
    """A row per model, a column per metric (the benchmark's own, then time and price per 1,000)."""
    metrics = [*results.get("metrics", []), *COST_AND_TIME]
    rows = [
        {"model": model, **{numbers.label(m): (found.get(m) or {}).get("value") for m in metrics}}
        for model, found in (results.get("models") or {}).items()
    ]
    return pd.DataFrame(rows)


def tabular_view(results: dict[str, Any], name: str) -> None:
    st.caption(
        f"Registered {results.get('task', '')} models on {results.get('dataset')}: each metric on the whole "
        "table; time per 1,000 predictions is the best of three passes; cost per 1,000 at the price given."
    )
    table = frame(results)
    st.dataframe(table, hide_index=True, width="stretch", key="bench_tabular_table")
    st.download_button(
        "Download CSV",
        table.to_csv(index=False),
        file_name=f"{name}-leaderboard.csv",
        key="bench_tabular_csv",
    )
    for metric in [*results.get("metrics", []), *COST_AND_TIME]:
        figure = charts.metric_bars(results, metric)
        if figure is not None:
            st.plotly_chart(figure, key=f"bench_tabular_{metric}")
