"""One benchmark (``?name=N``): its header and status (progress while the job runs), then a tab per view
(``&tab=Charts`` opens one; only the open tab's view runs)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from backend.services import benchmarks
from studio.ui import widgets
from studio.ui.benchmarks import charts, common, items, leaderboard, numbers, tabular

TABS = ("Leaderboard", "Charts", "Items", "Compare", "Prompts")


def detail(name: str) -> None:
    widgets.back_button("← All benchmarks", key="bench_back", clear=common.ROUTES[1:])
    bench = common.get_benchmark(name)
    if bench is None:
        return
    header(bench)
    if not common.status_line(bench):
        return
    results = common.results(name)
    records = common.items(name)
    if results is None or records is None:
        return
    if results.get("kind") == "tabular":
        tabular.tabular_view(results, name)
        return
    models = [m for m in bench.models if m in (results.get("models") or {})] or list(
        results.get("models") or {}
    )
    tabs = st.tabs(TABS, key="tab", bind="query-params")
    views = {
        "Leaderboard": lambda: leaderboard.leaderboard_tab(results),
        "Charts": lambda: charts.charts_tab(results),
        "Items": lambda: items.items_tab(records, name),
        "Compare": lambda: items.compare_tab(records, models),
        "Prompts": lambda: prompts_tab(results),
    }
    for label, tab in zip(TABS, tabs, strict=True):
        if tab.open is not False:
            with tab:
                views[label]()


def header(bench: benchmarks.BenchmarkPublic) -> None:
    st.subheader(bench.name)
    cols = st.columns([2, 3, 2, 2])
    cols[0].markdown(f"**Dataset**  \n`{bench.dataset}`")
    cols[1].markdown("**Models**  \n" + (", ".join(f"`{m}`" for m in bench.models) or "–"))
    cols[2].markdown(f"**Judge**  \n{f'`{bench.judge}`' if bench.judge else 'none'}")
    with cols[3]:
        common.job_link(bench.job)
    limit = f" · at most {bench.max_items} items" if bench.max_items else ""
    st.caption(
        f"{bench.kind} · metrics {', '.join(bench.metrics) or '–'}{limit} · "
        f"created {bench.created:%Y-%m-%d %H:%M}"
    )


def prompts_tab(results: dict[str, Any]) -> None:
    """The judge prompts as this Studio sends them, with their versions (and the run's, when it differs)."""
    used = results.get("prompts") or {}
    judge = results.get("judge")
    st.caption(
        (f"The judge `{judge}` scored with these prompts. " if judge else "This benchmark had no judge. ")
        + "A prompt's wording changes its scores, so each has a version, stored with the results."
    )
    for metric, prompt in benchmarks.JUDGE_PROMPTS.items():
        version = prompt.get("version", "?")
        ran = used.get(metric)
        note = f" · this run used version {ran}" if ran and str(ran) != str(version) else ""
        with st.expander(f"{numbers.label(metric)} · version {version}{note}", expanded=metric in used):
            st.markdown("**System**")
            st.code(prompt.get("system", ""), language=None, wrap_lines=True)
            st.markdown("**User** (the item's fields fill the braces)")
            st.code(prompt.get("user", ""), language=None, wrap_lines=True)
