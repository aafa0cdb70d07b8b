"""The "New benchmark" form: a benchmark YAML uploaded, or the same fields picked here (a dataset, the
connections to compare, a judge, the metrics and the generation settings); it queues the benchmark job
through ``benchmarks.create_benchmark_from_text`` and links to it."""

from __future__ import annotations

from typing import Any

import streamlit as st
import yaml

from backend.runtime.modelbench.evaluators import JUDGE_METRICS, QUALITY_METRICS
from backend.services import benchmarks, connections, data_assets
from studio.ui import shell, widgets
from studio.ui.benchmarks import common

NONE = "(no judge)"
DEFAULT_METRICS = ["accuracy", "f1"]


def spec_of(fields: dict[str, Any]) -> dict[str, Any]:
    """The benchmark YAML's fields from the form's, empty ones left out (the service's defaults apply)."""
    spec: dict[str, Any] = {"type": "llm"}
    spec |= {k: v for k, v in fields.items() if v not in (None, "", [], 0)}
    if fields.get("temperature") == 0:
        spec["temperature"] = 0.0
    return spec


def _submit(yaml_text: str, file_name: str = "benchmark.yml") -> None:
    """Queue the benchmark the YAML describes; show where it went."""
    created = widgets.load(
        benchmarks.create_benchmark_from_text,
        workspace=shell.current_workspace(),
        text=yaml_text,
        source=file_name,
        success="Benchmark queued",
    )
    if created:
        st.success(f"Queued benchmark {created.name}: the job runs the models over the dataset.")
        common.benchmark_link(created.name, f"Open benchmark {created.name}")
        common.job_link(created.job)


def _fields_form() -> None:
    workspace = shell.current_workspace()
    assets = widgets.load(data_assets.list_data_assets, workspace=workspace) or []
    datasets = [f"{a.name}:{a.latest_version}" for a in assets]
    names = [c.name for c in widgets.load(connections.list_connections, workspace=workspace) or []]
    if not datasets:
        st.info("No data assets yet: register a JSON lines dataset on the Data page first.")
        return
    if not names:
        st.info("No connections yet: add the models to compare with `studio connection create`.")
        return
    left, right = st.columns(2)
    name = left.text_input("Name (empty: generated)", key="bench_new_name")
    dataset = right.selectbox("Dataset", datasets, key="bench_new_dataset")
    models = st.multiselect("Models (connections)", names, key="bench_new_models")
    left, right = st.columns(2)
    judge = left.selectbox(
        "Judge", [NONE, *names], key="bench_new_judge", help="scores coherence, fluency, ..."
    )
    metrics = right.multiselect("Metrics", QUALITY_METRICS, default=DEFAULT_METRICS, key="bench_new_metrics")
    if judge == NONE and any(m in JUDGE_METRICS for m in metrics):
        st.caption(
            "Without a judge, similarity and groundedness use offline fallbacks; coherence and fluency stay empty."
        )
    cols = st.columns(3)
    max_items = cols[0].number_input("Max items (0: all)", 0, 100_000, 0, key="bench_new_max_items")
    temperature = cols[1].number_input("Temperature", 0.0, 2.0, 0.0, 0.1, key="bench_new_temperature")
    max_tokens = cols[2].number_input("Max tokens", 1, 4096, 64, key="bench_new_max_tokens")
    spec = spec_of(
        {
            "name": name.strip(),
            "dataset": f"azureml:{dataset}",
            "models": models,
            "judge": None if judge == NONE else judge,
            "metrics": metrics,
            "max_items": int(max_items),
            "temperature": float(temperature),
            "max_tokens": int(max_tokens),
        }
    )
    text = yaml.safe_dump(spec, sort_keys=False)
    with st.expander("The YAML this submits"):
        st.code(text, language="yaml")
    if st.button(
        "Create benchmark", type="primary", key="bench_new_create", disabled=not (models and metrics)
    ):
        _submit(text)


def create_form() -> None:
    source = st.radio(
        "From",
        ["fields", "yaml"],
        format_func={"fields": "Pick the fields", "yaml": "Upload a benchmark YAML"}.get,
        horizontal=True,
        key="bench_new_source",
    )
    if source == "fields":
        _fields_form()
        return
    upload = st.file_uploader("Benchmark YAML", type=["yml", "yaml"], key="bench_new_yaml")
    if st.button("Create benchmark", type="primary", key="bench_new_upload", disabled=upload is None):
        _submit(upload.getvalue().decode(), upload.name)
