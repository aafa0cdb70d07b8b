"""``modelbench.run`` on its own (it is stdlib-only, so it runs here too): items already answered are not
asked again (a restarted job goes on where it stopped), and a failing call is recorded on its item."""

import json

from backend.runtime.modelbench import run as bench_run
from tests.modelbench.scripted_server import Rule, ScriptedServer

ITEMS = [{"question": f"What is {n} plus {n}?", "ground_truth": str(2 * n)} for n in range(1, 5)]


def config(url: str, max_items: int) -> dict:
    connection = {"type": "openai", "target": url, "model": "m", "price_per_1k_input_tokens": 0,
                  "price_per_1k_output_tokens": 0}  # fmt: skip
    return {"name": "b", "dataset": "d:1", "models": ["m"], "judge": None, "metrics": ["accuracy", "f1"],
            "connections": {"m": connection}, "max_items": max_items, "max_tokens": 8}  # fmt: skip


def test_a_restarted_run_asks_only_what_is_not_answered_yet(tmp_path):
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps(i) + "\n" for i in ITEMS))
    rules = [
        Rule(f"What is {n} plus", str(2 * n), {"prompt_tokens": 10, "completion_tokens": 1})
        for n in range(1, 5)
    ]
    with ScriptedServer(rules) as server:
        bench_run.run(config(server.url, 2), {"dataset": str(data)}, tmp_path / "out")
        assert len(server.requests) == 2
        found = bench_run.run(config(server.url, 4), {"dataset": str(data)}, tmp_path / "out")
        assert len(server.requests) == 4  # items 3 and 4 only
    assert found["items"] == {"m": 4} and found["models"]["m"]["accuracy"]["value"] == 1.0
    lines = (tmp_path / "out" / "items.jsonl").read_text().splitlines()
    assert [json.loads(line)["index"] for line in lines] == [0, 1, 2, 3]


def test_a_failing_call_is_recorded_on_its_item_and_the_run_goes_on(tmp_path):
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps(i) + "\n" for i in ITEMS[:2]))
    rules = [Rule("What is 1 plus", "no", status=500), Rule("What is 2 plus", "4")]
    with ScriptedServer(rules) as server:
        found = bench_run.run(config(server.url, 2), {"dataset": str(data)}, tmp_path / "out")
    records = [json.loads(line) for line in (tmp_path / "out" / "items.jsonl").read_text().splitlines()]
    assert records[0]["answer"] is None and "500" in records[0]["error"]
    assert records[1]["answer"] == "4" and records[1]["accuracy"] == 1
    assert found["items"] == {"m": 2}
    with ScriptedServer([Rule("What is 1 plus", "2"), Rule("What is 2 plus", "4")]) as server:
        again = bench_run.run(config(server.url, 2), {"dataset": str(data)}, tmp_path / "out")
        assert len(server.requests) == 1  # only the failed item is asked again
    assert again["models"]["m"]["accuracy"]["value"] == 1.0


def test_an_online_endpoint_gets_the_chat_with_its_key_and_its_answer_is_read(tmp_path, monkeypatch):
    """Studio's own endpoints answer from a scoring script: an OpenAI-shaped reply or a list of predictions."""
    data = tmp_path / "items.jsonl"
    data.write_text(json.dumps(ITEMS[0]) + "\n" + json.dumps(ITEMS[1]) + "\n")
    monkeypatch.setenv("STUDIO_CONNECTION_KEY_EP", "endpoint-key")
    rules = [Rule("What is 1 plus", '["2"]', raw=True), Rule("What is 2 plus", "4")]
    with ScriptedServer(rules) as server:
        settings = config(f"{server.url}/endpoints/ep/score", 2)
        settings["connections"] = {"ep": {**settings["connections"]["m"], "type": "online_endpoint"}}
        settings["models"] = ["ep"]
        found = bench_run.run(settings, {"dataset": str(data)}, tmp_path / "out")
    assert found["models"]["ep"]["accuracy"]["value"] == 1.0
    assert {r["path"] for r in server.requests} == {"/endpoints/ep/score"}
    assert all(r["headers"]["Authorization"] == "Bearer endpoint-key" for r in server.requests)
    assert "messages" in server.requests[0]["body"]
