"""The Model benchmarks page (AppTest) on a real benchmark whose job output holds a hand-made artifact (a
realistic ``benchmark.json`` and ``items.jsonl``, as a finished job leaves them; no agent runs here). Every
tab renders; the leaderboard marks judge, fallback and "needs a judge" cells; the Pareto front is the right
models; the form queues a benchmark."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest
import streamlit as st

from backend.runtime.modelbench.evaluators import JUDGE_PROMPTS, aggregate
from studio.ui.benchmarks.charts import pareto_front
from studio.ui.benchmarks.items import _highlight, compare_frame, items_frame
from studio.ui.benchmarks.leaderboard import cell, csv_frame, leaderboard_frame

TABS = ("Leaderboard", "Charts", "Items", "Compare", "Prompts")
PAGE = "model_benchmarks.py"
MODELS = ("smollm-135m", "gemma-270m", "gpt-small")
PRICES = {"smollm-135m": 0.0, "gemma-270m": 0.0001, "gpt-small": 0.002}
QUESTIONS = [
    ("In which city is the Eiffel Tower?", "The Eiffel Tower is in Paris.", "Paris"),
    ("What is the capital of Japan?", "Tokyo is the capital of Japan.", "Tokyo"),
    ("How many legs does a spider have?", "A spider has eight legs.", ["eight", "8"]),
    ("What gas do plants give off?", "Plants give off oxygen.", "oxygen"),
]
# Each model's answers: smollm is often wrong, gemma half right, gpt-small always right.
ANSWERS = {
    "smollm-135m": ["Paris", "Kyoto", "six", "air"],
    "gemma-270m": ["Paris, France", "Tokyo", "8", "carbon"],
    "gpt-small": ["Paris", "Tokyo", "eight", "oxygen"],
}


def _judged(score: int, source: str) -> dict:
    return {"score": score, "reasoning": f"{source} says {score}", "source": source}


def _record(model: str, index: int) -> dict:
    question, context, truth = QUESTIONS[index]
    answer = ANSWERS[model][index]
    truths = [truth] if isinstance(truth, str) else truth
    right = answer.split(",")[0].lower() in [t.lower() for t in truths]
    record = {
        "model": model,
        "index": index,
        "question": question,
        "context": context,
        "ground_truth": truth,
        "choices": None,
        "answer": answer,
        "accuracy": int(right),
        "f1": 1.0 if right else 0.0,
        "latency_s": {"smollm-135m": 0.2, "gemma-270m": 0.4, "gpt-small": 1.1}[model] + index / 100,
        "input_tokens": 40,
        "output_tokens": 5,
        "tokens_source": "usage",
        "cost": 45 / 1000 * PRICES[model],
        "judge_cost": 0.0,
        "error": None,
    }
    if model == "gpt-small":  # the judge scored it
        record |= {"similarity": _judged(5, "judge"), "coherence": _judged(4 + index % 2, "judge")}
        record["fluency"] = _judged(5, "judge") if index else {"score": None, "reasoning": "unparsable: ok"}
    elif model == "gemma-270m":  # offline fallbacks only: coherence and fluency stay empty
        record |= {"similarity": _judged(4 if right else 2, "fallback"), "coherence": None, "fluency": None}
    else:  # smollm: nothing scored beyond the computed metrics
        record |= {"similarity": None, "coherence": None, "fluency": None}
    record["groundedness"] = None
    return record


def write_artifact(folder: Path) -> tuple[dict, list[dict]]:
    records = [_record(m, i) for m in MODELS for i in range(len(QUESTIONS))]
    results = {
        "format": 1,
        "name": "bench-1",
        "dataset": "qa-short:1",
        "judge": "gpt-small",
        "metrics": ["accuracy", "f1", "coherence", "fluency", "similarity"],
        "items": len(QUESTIONS),
        "models": {m: aggregate([r for r in records if r["model"] == m]) for m in MODELS},
        "connections": {m: {"type": "openai", "model": m} for m in MODELS},
        "prompts": {m: p["version"] for m, p in JUDGE_PROMPTS.items()},
        "tokenizer": "usage",
        "created": "2025-01-02T03:04:05Z",
    }
    (folder / "benchmark.json").write_text(json.dumps(results))
    (folder / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return results, records


def _set_status(job: str, status: str) -> None:
    """The benchmark's job as if the agent had run it this far (no agent runs in page tests)."""
    from sqlmodel import select

    from backend.db.models import Job
    from backend.services import jobs, open_session

    with open_session() as s:
        row = s.exec(select(Job).where(Job.name == job)).one()
        jobs.transition(session=s, job_id=row.id, from_statuses=(row.status,), to_status=status)


def _write(uri: str, files: dict[str, str]) -> None:
    """Files into the job's output, where the real job would have written them."""
    from backend.services import datastores, open_session
    from backend.storage import uris

    ref = uris.parse_reference(uri)
    with open_session() as s:
        store = datastores.get_filesystem(session=s, workspace="default", name=ref.datastore)
    folder = store.local_path(ref.path)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)


@pytest.fixture
def bench(tmp_path):
    """A real benchmark (its connections, its dataset, its queued job) whose job output holds a
    hand-made artifact, and whose job is marked Completed as the agent would."""
    from backend.services import benchmarks, connections, data_assets, jobs, open_session
    from backend.specs.benchmark import BenchmarkSpec
    from backend.specs.connection import ConnectionSpec

    folder = tmp_path / "artifact"
    folder.mkdir()
    results, records = write_artifact(folder)
    data = tmp_path / "qa.jsonl"
    data.write_text(
        "".join(json.dumps({"question": q, "context": c, "ground_truth": t}) + "\n" for q, c, t in QUESTIONS)
    )
    with open_session() as s:
        for name in MODELS:
            spec = ConnectionSpec(name=name, type="openai", target="http://127.0.0.1:9/v1")
            connections.create_connection(session=s, workspace="default", spec=spec)
        data_assets.create_data_asset(
            session=s,
            workspace="default",
            data=data_assets.DataAssetCreate(name="qa-short", type="uri_file", path=str(data)),
        )
        spec = BenchmarkSpec(
            name="bench-1", dataset="azureml:qa-short:1", models=list(MODELS), judge="gpt-small",
            metrics=results["metrics"], max_items=len(QUESTIONS),
        )  # fmt: skip
        created = benchmarks.create_benchmark(session=s, workspace="default", spec=spec)
        job = jobs.get_job(session=s, workspace="default", name=created.job)
    artifact = job.outputs["results"]["uri"]
    files = {name: (folder / name).read_text() for name in ("benchmark.json", "items.jsonl")}
    _write(artifact, files)
    _set_status(created.job, "Completed")
    st.cache_data.clear()
    yield types.SimpleNamespace(
        job=created.job, artifact=artifact, results=results, records=records, folder=folder
    )
    st.cache_data.clear()


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    return "\n".join(str(p) for p in parts)


# ------------------------------------------------------------------------------------------ pure parts


def test_the_pareto_front_keeps_the_models_no_other_beats_on_both_cost_and_quality():
    points = {
        "cheap-bad": (0.5, 0.2),
        "a": (1.0, 0.5),
        "a-twin": (1.0, 0.5),  # equal: neither dominates the other
        "b": (2.0, 0.7),
        "b-worse": (2.0, 0.6),  # same cost, lower quality
        "pricier-same": (3.0, 0.7),  # same quality, higher cost
        "dear-best": (9.0, 0.9),
        "no-cost": (None, 0.99),  # left out: it can't be placed
        "dominated": (1.5, 0.4),
    }
    assert pareto_front(points) == ["cheap-bad", "a", "a-twin", "b", "dear-best"]
    assert pareto_front({}) == [] and pareto_front({"x": (0.0, 0.1)}) == ["x"]


def test_the_leaderboard_marks_judge_fallback_and_needs_a_judge_and_the_csv_keeps_the_sources(tmp_path):
    results, _ = write_artifact(tmp_path)
    frame = leaderboard_frame(results).set_index("model")
    assert list(frame.index) == ["gpt-small", "gemma-270m", "smollm-135m"]  # by quality index
    assert frame.loc["gpt-small", "Coherence"] == "4.50 (judge)"
    assert frame.loc["gpt-small", "Fluency"] == "5.00 (judge) · 1 unparsable"
    assert frame.loc["gemma-270m", "Similarity"] == "3.50 (fallback)"
    assert frame.loc["gemma-270m", "Coherence"] == "needs a judge"
    assert frame.loc["smollm-135m", "Similarity"] == "–"
    assert frame.loc["smollm-135m", "Accuracy"] == pytest.approx(0.25)
    assert frame.loc["gemma-270m", "Quality inputs"] == "Accuracy, F1, Similarity"
    assert "Groundedness" not in frame.columns  # not asked for
    csv = csv_frame(results).set_index("model")
    assert csv.loc["gemma-270m", "similarity_source"] == "fallback"
    assert csv.loc["gpt-small", "coherence_source"] == "judge"
    assert csv.loc["gemma-270m", "coherence_note"] == "needs a judge"
    assert csv.loc["gpt-small", "quality_index_inputs"] == "accuracy f1 coherence fluency similarity"
    assert cell(None) == "–" and cell({"value": 0.5, "source": "computed"}) == "0.500"


def test_the_items_table_its_csv_and_the_compare_table_say_which_scores_are_a_fallbacks():
    def judged(score, source):
        return {"score": score, "reasoning": "r", "source": source}

    records = [
        {"index": 0, "model": "a", "question": "q", "answer": "x", "similarity": judged(4, "fallback")},
        {"index": 0, "model": "b", "question": "q", "answer": "y", "similarity": judged(3, "judge")},
    ]
    frame = items_frame(records).set_index("model")
    assert frame.loc["a", "Similarity"] == 4 and frame.loc["a", "Similarity from"] == "fallback"
    assert frame.loc["b", "Similarity from"] == "judge"
    assert "Coherence from" not in frame.columns  # nobody scored it
    assert "Similarity from" in frame.to_csv()
    pair = compare_frame(records, "a", "b").iloc[0]
    assert pair["Similarity a"] == "4 (fallback)" and pair["Similarity b"] == "3"


# ------------------------------------------------------------------------------------------ the page


@pytest.mark.usefixtures("database")
def test_every_tab_renders_and_shows_the_artifact(app, bench):
    for tab in TABS:
        at = app(PAGE, name="bench-1", tab=tab)
        assert not at.exception, (tab, at.exception)
        assert not at.error, (tab, [e.value for e in at.error])
    at = app(PAGE, name="bench-1", tab="Leaderboard")
    board = at.dataframe[0].value.set_index("model")
    assert board.loc["gpt-small", "Coherence"] == "4.50 (judge)"
    assert board.loc["gemma-270m", "Similarity"] == "3.50 (fallback)"
    assert board.loc["smollm-135m", "Fluency"] == "needs a judge"
    assert len(at.get("download_button")) == 1  # the leaderboard's CSV

    at = app(PAGE, name="bench-1", tab="Charts")
    charts = at.get("plotly_chart")
    assert len(charts) >= 6  # accuracy, f1, coherence, fluency, similarity, quality index, scatter, 2 more
    assert "Pareto front (red)" in texts(at) and "smollm-135m, gemma-270m, gpt-small" in texts(at)

    at = app(PAGE, name="bench-1", tab="Items")
    answers = at.dataframe[0].value
    assert len(answers) == len(MODELS) * len(QUESTIONS)
    at.selectbox(key="bench_item").set_value(2).run()
    assert not at.exception
    shown = texts(at)
    assert "How many legs does a spider have?" in shown and "`eight | 8`" in shown
    assert "Coherence (judge): judge says 4" in shown  # the judge's reasoning, item 2 scored 4
    assert "Similarity (fallback): fallback says" in shown
    at.text_input(key="bench_items_table_filter").input("gemma").run()
    assert set(at.dataframe[0].value["model"]) == {"gemma-270m"}

    at = app(PAGE, name="bench-1", tab="Compare")
    at.selectbox(key="bench_compare_a").set_value("smollm-135m").run()
    at.selectbox(key="bench_compare_b").set_value("gpt-small").run()
    assert not at.exception
    compared = at.dataframe[0].value
    assert list(compared["item"]) == [0, 1, 2, 3]
    assert list(compared["smollm-135m: answer"]) == ANSWERS["smollm-135m"]
    assert "Right answers: smollm-135m 1, gpt-small 4" in texts(at)
    styles = _highlight(compared, "smollm-135m", "gpt-small")  # item 0: the same answer, other scores
    assert styles.loc[0, "smollm-135m: answer"] == "" and styles.loc[1, "smollm-135m: answer"] != ""
    assert styles.loc[0, "Coherence gpt-small"] != "" and styles.loc[0, "F1 gpt-small"] == ""
    at.selectbox(key="bench_compare_b").set_value("gemma-270m").run()
    at.toggle(key="bench_compare_only").set_value(True).run()
    assert not at.exception and len(at.dataframe[0].value) == 4  # every item differs in some way

    at = app(PAGE, name="bench-1", tab="Prompts")
    assert all(f"{m.capitalize()} · version 1" in [e.label for e in at.expander] for m in JUDGE_PROMPTS)


@pytest.mark.usefixtures("database")
def test_the_list_opens_a_benchmark_and_a_running_one_shows_its_progress(app, bench):
    at = app(PAGE)
    listed = at.dataframe[0].value
    assert list(listed["name"]) == ["bench-1"] and listed["judge"][0] == "gpt-small"
    assert "smollm-135m, gemma-270m, gpt-small" in listed["models"][0]
    _set_status(bench.job, "Running")
    partial = "".join(json.dumps(r) + "\n" for r in bench.records[:5])  # 5 of the 12 answers so far
    _write(bench.artifact, {"items.jsonl": partial})
    st.cache_data.clear()
    at = app(PAGE, name="bench-1")
    assert not at.exception and not at.error
    assert "5 of 12 answers" in str([p.proto.text for p in at.get("progress")])
    assert not at.tabs  # no results before the job ends
    at = app(PAGE, name="no-such-benchmark")
    assert len(at.error) == 1 and "no-such-benchmark" in at.error[0].value


@pytest.mark.usefixtures("database")
def test_the_form_builds_the_benchmark_yaml_from_the_fields(app, bench):
    from backend.services import connections, open_session
    from backend.specs.connection import ConnectionSpec

    with open_session() as s:
        for name in ("judge-model", "small-model"):
            connections.create_connection(
                session=s,
                workspace="default",
                spec=ConnectionSpec(name=name, type="openai", target="http://127.0.0.1:9/v1"),
            )
    data = bench.folder / "qa.jsonl"
    data.write_text('{"question": "q", "ground_truth": "a"}\n')
    from backend.services import data_assets

    with open_session() as s:
        data_assets.create_data_asset(
            session=s,
            workspace="default",
            data=data_assets.DataAssetCreate(name="qa", type="uri_file", path=str(data)),
        )
    at = app(PAGE)
    at.multiselect(key="bench_new_models").set_value(["small-model"]).run()
    at.selectbox(key="bench_new_judge").set_value("judge-model").run()
    at.number_input(key="bench_new_max_items").set_value(10).run()
    at.button(key="bench_new_create").click().run()
    assert not at.exception and not at.error
    from backend.services import benchmarks

    with open_session() as s:
        newest = benchmarks.list_benchmarks(session=s, workspace="default")[0]
    assert newest.name != "bench-1" and newest.status == "Queued"
    assert (newest.models, newest.judge, newest.max_items, newest.metrics) == (
        ["small-model"],
        "judge-model",
        10,
        ["accuracy", "f1"],
    )
    assert newest.dataset in ("qa:1", "qa-short:1")
    assert f"Queued benchmark {newest.name}" in str([s.value for s in at.success])
