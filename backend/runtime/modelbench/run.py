"""``python -m modelbench run``: every model answers every item, each answer is scored, results grow on disk.

One line per answered (model, item) is appended to ``items.jsonl`` as soon as it is scored, so a job that
is restarted (an agent restart, a resubmission with the same output) skips what is there and goes on; a
progress line ``[bench k/N] <model>: item i`` goes to the log. ``benchmark.json`` is rewritten after each
model with the aggregates so far. Judge calls count as the judge's cost (``judge_cost``), not the answering
model's. Where no judge is configured, ``similarity`` and ``groundedness`` come from offline fallbacks
(labelled ``fallback``) and coherence and fluency stay empty ("needs a judge").
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import evaluators, tokens

SYSTEM = "You answer questions briefly: a word or a short phrase, no explanation."
MC_SYSTEM = "You answer multiple-choice questions with the letter of the right option only."
LETTERS = "ABCDEFGHIJ"


def read_dataset(path: str | Path) -> list[dict[str, Any]]:
    """The JSON-lines items (a file, or a folder holding one ``.jsonl`` file)."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("*.jsonl")) or sorted(path.glob("*.json"))
        if len(found) != 1:
            raise ValueError(f"{path}: expected one .jsonl file, found {len(found)}")
        path = found[0]
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        item = json.loads(line)
        if not isinstance(item, dict) or "question" not in item or "ground_truth" not in item:
            raise ValueError(f"{path.name} line {number}: an item needs 'question' and 'ground_truth'")
        items.append(item)
    return items


def messages_for(item: dict[str, Any], system_prompt: str | None = None) -> list[dict[str, str]]:
    """The chat the answering model gets: the context first when there is one, the options lettered."""
    parts = []
    if item.get("context"):
        parts.append(f"Context: {item['context']}")
    parts.append(f"Question: {item['question']}")
    choices = item.get("choices")
    if choices:
        parts += [f"{LETTERS[i]}) {choice}" for i, choice in enumerate(choices)]
        parts.append("Answer with the letter of the right option.")
    system = system_prompt or (MC_SYSTEM if choices else SYSTEM)
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n".join(parts)}]


class Endpoint:
    """A connection as something that chats: ``chat(messages) -> (text, usage, latency_s)``."""

    def __init__(self, name: str, connection: dict[str, Any], settings: dict[str, Any]):
        self.name, self.connection, self.settings = name, connection, settings
        self._local = None

    def chat(self, messages: list[dict[str, str]], *, max_tokens: int | None = None):
        kind = self.connection["type"]
        budget = max_tokens or int(self.settings.get("max_tokens", 64))
        temperature = float(self.settings.get("temperature", 0.0))
        if kind == "llama_cpp":
            if self._local is None:
                from .local import LocalModel

                self._local = LocalModel(self.connection["target"])
            return self._local.chat(messages, temperature=temperature, max_tokens=budget)
        if kind == "online_endpoint":
            return self._score(messages, temperature, budget)
        if kind == "openai":
            from . import openai_client

            key = os.environ.get(key_variable(self.name))
            found = openai_client.chat(
                self.connection["target"],
                messages,
                model=self.connection.get("model"),
                api_key=key,
                temperature=temperature,
                max_tokens=budget,
            )
            return found.text, found.usage, found.latency_s
        raise ValueError(f"connection {self.name!r}: type {kind!r} cannot answer questions")

    def _score(self, messages, temperature: float, max_tokens: int):
        """One of Studio's online endpoints: the chat goes to its scoring URL as JSON (``messages``,
        ``max_tokens``, ``temperature``); the answer is an OpenAI-shaped reply, or the first prediction."""
        import urllib.request

        body = {"messages": messages, "max_tokens": max_tokens, "temperature": temperature}
        request = urllib.request.Request(
            self.connection["target"],
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {os.environ.get(key_variable(self.name), '')}"},
        )  # fmt: skip
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as response:
            found = json.loads(response.read())
        latency = time.perf_counter() - started
        if isinstance(found, dict) and found.get("choices"):
            return found["choices"][0]["message"]["content"], found.get("usage"), latency
        predictions = found.get("predictions", found) if isinstance(found, dict) else found
        first = predictions[0] if isinstance(predictions, list) and predictions else predictions
        return str(first), None, latency

    def close(self) -> None:
        if self._local is not None:
            self._local.close()
            self._local = None


def key_variable(connection: str) -> str:
    """The variable a connection's API key reaches the job in (Studio's service names it the same way)."""
    return "STUDIO_CONNECTION_KEY_" + "".join(c if c.isalnum() else "_" for c in connection).upper()


def _usage(messages, answer: str, usage: dict | None) -> tuple[int, int, str]:
    if usage and usage.get("prompt_tokens") is not None and usage.get("completion_tokens") is not None:
        return int(usage["prompt_tokens"]), int(usage["completion_tokens"]), "usage"
    prompt = sum(tokens.count_tokens(m["content"]) for m in messages)
    return prompt, tokens.count_tokens(answer), tokens.tokenizer_name()


def _price(connection: dict[str, Any], input_tokens: int, output_tokens: int) -> float:
    return evaluators.cost(
        input_tokens,
        output_tokens,
        float(connection.get("price_per_1k_input_tokens") or 0),
        float(connection.get("price_per_1k_output_tokens") or 0),
    )


def score(
    item: dict[str, Any], answer: str, metrics: list[str], judge: Endpoint | None
) -> tuple[dict, float]:
    """The item's scores for ``answer``, and what the judge's calls cost."""
    scores: dict[str, Any] = {}
    choices = item.get("choices")
    if "accuracy" in metrics:
        scores["accuracy"] = evaluators.accuracy(answer, item["ground_truth"], choices)
    if "f1" in metrics:
        scores["f1"] = None if choices else evaluators.f1(answer, item["ground_truth"])
    judge_cost = 0.0
    for metric in (m for m in metrics if m in evaluators.JUDGE_METRICS):
        if judge is not None:
            asked = evaluators.judge_messages(metric, item, answer)
            text, usage, _ = judge.chat(asked, max_tokens=256)
            value, reasoning = evaluators.parse_score(text)
            judge_cost += _price(judge.connection, *_usage(asked, text, usage)[:2])
            scores[metric] = {"score": value, "reasoning": reasoning, "source": "judge"}
        else:
            scores[metric] = _fallback(metric, item, answer)
    return scores, judge_cost


def _fallback(metric: str, item: dict[str, Any], answer: str) -> dict[str, Any] | None:
    """Offline stand-ins where one means something; coherence and fluency have none."""
    if metric not in ("similarity", "groundedness") or item.get("choices"):
        return None
    from . import fallbacks

    if metric == "similarity":
        truth = item["ground_truth"]
        return fallbacks.similarity(answer, truth[0] if isinstance(truth, list) else truth)
    return fallbacks.groundedness(answer, item["context"]) if item.get("context") else None


def _done(path: Path) -> dict[tuple[str, int], dict[str, Any]]:
    if not path.exists():
        return {}
    found = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {(r["model"], int(r["index"])): r for r in found}


def run_llm(config: dict[str, Any], dataset: str, out: Path) -> dict[str, Any]:
    items = read_dataset(dataset)[: config.get("max_items") or None]
    connections = config["connections"]
    models, metrics = list(config["models"]), list(config["metrics"])
    judge = Endpoint(config["judge"], connections[config["judge"]], config) if config.get("judge") else None
    out.mkdir(parents=True, exist_ok=True)
    log = out / "items.jsonl"
    records = _done(log)
    total, step = len(items) * len(models), 0
    for name in models:
        model = Endpoint(name, connections[name], config)
        try:
            for index, item in enumerate(items):
                step += 1
                if (name, index) in records and not records[(name, index)].get("error"):
                    continue  # answered before this job restarted (a failed call is asked again)
                records[(name, index)] = record = answer_one(model, judge, item, index, metrics, config)
                with open(log, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(record) + "\n")
                print(
                    f"[bench {step}/{total}] {name}: item {index + 1} "
                    + (f"failed: {record['error']}" if record["error"] else f"({record['latency_s']:.2f} s)"),
                    flush=True,
                )
        finally:
            model.close()
        write_results(config, records, out)
    if judge is not None:
        judge.close()
    return write_results(config, records, out)


def answer_one(model: Endpoint, judge: Endpoint | None, item, index: int, metrics, config) -> dict[str, Any]:
    messages = messages_for(item, config.get("system_prompt"))
    record: dict[str, Any] = {
        "model": model.name,
        "index": index,
        **{k: item.get(k) for k in ("question", "context", "ground_truth", "choices")},
    }
    try:
        answer, usage, latency = model.chat(messages)
    except Exception as exc:  # one failing call is recorded on its item, the run goes on
        return {**record, "answer": None, "latency_s": None, "error": f"{type(exc).__name__}: {exc}"[:500]}
    input_tokens, output_tokens, source = _usage(messages, answer, usage)
    scores, judge_cost = score(item, answer, metrics, judge)
    return {
        **record,
        "answer": answer,
        **scores,
        "latency_s": round(latency, 4),
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "tokens_source": source,
        "cost": _price(model.connection, input_tokens, output_tokens),
        "judge_cost": judge_cost,
        "error": None,
    }


def write_results(config: dict[str, Any], records: dict, out: Path) -> dict[str, Any]:
    by_model: dict[str, list[dict]] = {}
    for (name, _), record in sorted(records.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        by_model.setdefault(name, []).append(record)
    models = {name: evaluators.aggregate(found) for name, found in by_model.items()}
    judge_cost = sum(r.get("judge_cost") or 0 for r in records.values())
    if config.get("judge") in models:  # judge calls count as the judge's cost
        models[config["judge"]]["cost"]["value"] = (
            models[config["judge"]]["cost"]["value"] or 0
        ) + judge_cost
    results = {
        "format": 1,
        "kind": "llm",
        "name": config.get("name"),
        "dataset": config.get("dataset"),
        "judge": config.get("judge"),
        "judge_cost": judge_cost if config.get("judge") else None,
        "metrics": config.get("metrics"),
        "items": {name: len(found) for name, found in by_model.items()},
        "models": models,
        "connections": {
            n: {
                k: c.get(k)
                for k in ("type", "model", "price_per_1k_input_tokens", "price_per_1k_output_tokens")
            }
            for n, c in config.get("connections", {}).items()
        },
        "prompts": {m: evaluators.JUDGE_PROMPTS[m]["version"] for m in evaluators.JUDGE_METRICS},
        "tokenizer": tokens.tokenizer_name(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (out / "benchmark.json").write_text(json.dumps(results, indent=1))
    return results


def run(config: dict[str, Any], inputs: dict[str, str], out: str | Path) -> dict[str, Any]:
    started = time.perf_counter()
    if config.get("type") == "tabular":
        from . import tabular

        found = tabular.run(config, inputs, Path(out))
    else:
        found = run_llm(config, inputs["dataset"], Path(out))
    print(f"benchmark done in {time.perf_counter() - started:.1f} s", flush=True)
    return found
