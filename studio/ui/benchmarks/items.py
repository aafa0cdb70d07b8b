"""The Items tab (a filterable table of every answer, and one item's answers side by side with their scores
and the judge's reasoning) and the Compare tab (two models item by item, differences highlighted)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from backend.runtime.modelbench.evaluators import JUDGE_METRICS
from studio.ui import shell
from studio.ui.benchmarks import numbers

SCORES = ("accuracy", "f1", *JUDGE_METRICS)
DIFF_COLOR = "background-color: rgba(255, 193, 7, 0.25)"


def _truth(value: Any) -> str:
    if value is None:
        return "–"
    return value if isinstance(value, str) else " | ".join(str(v) for v in value)


def score(record: dict[str, Any], metric: str) -> float | None:
    """An item's score on a metric: the number for computed ones, the judge (or fallback) score otherwise."""
    value = record.get(metric)
    if isinstance(value, dict):
        value = value.get("score")
    return value if numbers.finite(value) else None


def source(record: dict[str, Any], metric: str) -> str | None:
    """Who scored an item on a judged metric: "judge" or "fallback" (None when nobody did)."""
    value = record.get(metric)
    return value.get("source") if isinstance(value, dict) and score(record, metric) is not None else None


def items_frame(records: list[dict]) -> pd.DataFrame:
    """A row per (item, model) answer with its scores, latency, tokens, cost and error."""
    rows = []
    for r in sorted(records, key=lambda r: (r.get("index", 0), str(r.get("model")))):
        row = {
            "item": r.get("index"),
            "model": r.get("model"),
            "question": r.get("question"),
            "ground truth": _truth(r.get("ground_truth")),
            "answer": r.get("answer"),
        }
        row |= {numbers.label(m): score(r, m) for m in SCORES}
        # Where each judged score came from ("judge" or "fallback"), next to it in the table and the CSV.
        row |= {f"{numbers.label(m)} from": source(r, m) for m in JUDGE_METRICS}
        row |= {
            "latency (s)": r.get("latency_s"),
            "output tokens": r.get("output_tokens"),
            "cost": r.get("cost"),
            "error": r.get("error") or "",
        }
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.dropna(axis=1, how="all") if not frame.empty else frame


def _by_item(records: list[dict]) -> dict[int, dict[str, dict]]:
    found: dict[int, dict[str, dict]] = {}
    for r in records:
        found.setdefault(r.get("index", 0), {})[str(r.get("model"))] = r
    return dict(sorted(found.items()))


def items_tab(records: list[dict], name: str) -> None:
    if not records:
        st.info("No answers yet.")
        return
    frame = items_frame(records)
    shell.filtered_table(frame, key="bench_items_table", placeholder="Filter the answers")
    st.download_button(
        "Download the answers (CSV)",
        frame.to_csv(index=False).encode(),
        file_name=f"{name}-items.csv",
        mime="text/csv",
        icon=":material/download:",
        key="bench_items_csv",
    )
    st.divider()
    grouped = _by_item(records)
    first = next(iter(grouped.values()))
    index = st.selectbox(
        "Item",
        list(grouped),
        key="bench_item",
        format_func=lambda i: f"{i}: {next(iter(grouped[i].values())).get('question', '')[:90]}",
    )
    item_view(grouped.get(index) or first)


def item_view(answers: dict[str, dict]) -> None:
    """One item: its question, context, choices and ground truth, then each model's answer and scores."""
    item = next(iter(answers.values()))
    st.markdown(f"**Question**  \n{item.get('question') or '–'}")
    if item.get("context"):
        st.markdown(f"**Context**  \n{item['context']}")
    if item.get("choices"):
        st.markdown(
            "**Choices**  \n" + "  \n".join(f"{chr(65 + i)}. {c}" for i, c in enumerate(item["choices"]))
        )
    st.markdown(f"**Ground truth** `{_truth(item.get('ground_truth'))}`")
    for model, record in answers.items():
        with st.container(border=True):
            st.markdown(f"**{model}**")
            if record.get("error"):
                st.error(record["error"], icon="⚠️")
            st.text(record.get("answer") or "(no answer)")
            scored = {m: score(record, m) for m in SCORES if score(record, m) is not None}
            if scored:
                st.caption(
                    " · ".join(f"{numbers.label(m)} {numbers.number(v, 2)}" for m, v in scored.items())
                )
            for metric in JUDGE_METRICS:
                judged = record.get(metric)
                if isinstance(judged, dict) and (judged.get("reasoning") or judged.get("score") is None):
                    source = judged.get("source") or "judge"
                    st.caption(f"{numbers.label(metric)} ({source}): {judged.get('reasoning') or '–'}")
            st.caption(
                f"{numbers.number(record.get('latency_s'), 2)} s · {record.get('input_tokens') or '–'} in / "
                f"{record.get('output_tokens') or '–'} out tokens · cost {numbers.number(record.get('cost'), 6)}"
            )


def _judged_cell(record: dict[str, Any], metric: str) -> str | None:
    """A judged score as the Compare table shows it: a fallback's says so."""
    value = score(record, metric)
    if value is None:
        return None
    return numbers.number(value, 2) + (" (fallback)" if source(record, metric) == "fallback" else "")


def compare_frame(records: list[dict], a: str, b: str) -> pd.DataFrame:
    """Two models item by item: their answers and each score side by side (items both answered)."""
    rows = []
    for index, answers in _by_item(records).items():
        if a not in answers or b not in answers:
            continue
        ra, rb = answers[a], answers[b]
        row = {"item": index, "question": ra.get("question"), f"{a}: answer": ra.get("answer")}
        row[f"{b}: answer"] = rb.get("answer")
        for metric in SCORES:
            sa, sb = score(ra, metric), score(rb, metric)
            if sa is None and sb is None:
                continue
            row[f"{numbers.label(metric)} {a}"] = _judged_cell(ra, metric) if metric in JUDGE_METRICS else sa
            row[f"{numbers.label(metric)} {b}"] = _judged_cell(rb, metric) if metric in JUDGE_METRICS else sb
        rows.append(row)
    return pd.DataFrame(rows)


def _highlight(frame: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """Styles: the pairs of cells (answers, each score) that differ between the two models."""
    styles = pd.DataFrame("", index=frame.index, columns=frame.columns)
    for col_a in [c for c in frame.columns if c.startswith(f"{a}: ") or c.endswith(f" {a}")]:
        col_b = col_a.replace(f"{a}: ", f"{b}: ", 1) if col_a.startswith(f"{a}: ") else col_a[: -len(a)] + b
        if col_b not in frame.columns:
            continue
        differ = frame[col_a].astype(str) != frame[col_b].astype(str)
        styles.loc[differ, col_a] = DIFF_COLOR
        styles.loc[differ, col_b] = DIFF_COLOR
    return styles


def compare_tab(records: list[dict], models: list[str]) -> None:
    if len(models) < 2:
        st.info("Comparing needs two models: this benchmark has one.")
        return
    left, right = st.columns(2)
    a = left.selectbox("Model A", models, index=0, key="bench_compare_a")
    b = right.selectbox("Model B", [m for m in models if m != a], index=0, key="bench_compare_b")
    frame = compare_frame(records, a, b)
    if frame.empty:
        st.info(f"No item has answers from both {a} and {b} yet.")
        return
    only = st.toggle("Only items where they differ", key="bench_compare_only")
    if only:
        differ = _highlight(frame, a, b).ne("").any(axis=1)
        frame = frame[differ].reset_index(drop=True)
    st.dataframe(
        frame.style.apply(lambda f: _highlight(f, a, b), axis=None).format(precision=2, na_rep="–"),
        hide_index=True,
        width="stretch",
        key="bench_compare_table",
    )
    wins = {
        m: sum(
            1
            for _, r in frame.iterrows()
            if numbers.finite(r.get(f"Accuracy {m}")) and r[f"Accuracy {m}"] > 0
        )
        for m in (a, b)
    }
    st.caption(
        f"{len(frame)} items; highlighted cells differ between the two models. "
        f"Right answers: {a} {wins[a]}, {b} {wins[b]}."
    )
