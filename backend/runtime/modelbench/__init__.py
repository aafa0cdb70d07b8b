"""Model benchmarks: the pure computations, shared by the benchmark job and Studio's services.

Jobs import this package as ``modelbench`` (``backend/runtime`` is on every job interpreter's path);
Studio imports it as ``backend.runtime.modelbench``. So modules here use relative imports only, never
import ``backend`` or ``studio``, and need nothing beyond the standard library (a job may run in a bare
interpreter), and nothing touches the network at import.

Modules
- ``evaluators``: per-item metrics (exact match, multiple-choice accuracy, token F1), the versioned
  judge prompts and their strict score parser, the quality index, cost, and ``aggregate`` that turns
  per-item records into per-model metrics ``{"value", "source", ...}``.
- ``openai_client``: a tiny OpenAI-compatible chat-completions client over urllib.
- ``tokens``: token counts with an offline tokenizer when one is importable, else a regex estimate.
- ``local``: local GGUF models through ``xllamacpp`` (the benchmark environment has it and the model
  packages), answering in the OpenAI chat-completions shape with ``usage``.
- ``fallbacks``: offline stand-ins for a judge where one is meaningful: ``similarity`` from MiniLM sentence
  embeddings (onnxruntime), ``groundedness`` from per-sentence support against the context. Each result says
  it is a fallback; coherence and fluency have none.
- ``run``: the benchmark job (``python -m modelbench run``): items x models, progress per item, resumable.

The artifact (a folder, the benchmark job's output ``results``)
- ``items.jsonl``: one line per answered (model, item), appended as each finishes (a restarted job skips
  what is there): ``{"model", "index", "question", "context", "ground_truth", "choices", "answer",
  "accuracy", "f1", "coherence" | "fluency" | "groundedness" | "similarity": {"score", "reasoning",
  "source": "judge" | "fallback"} or None, "latency_s", "input_tokens", "output_tokens", "tokens_source":
  "usage" | "<tokenizer name>", "cost", "judge_cost", "error"}``.
- ``benchmark.json``, written at the end (and after each model): ``{"format": 1, "name", "dataset",
  "judge", "metrics", "items": <count per model>, "models": {<connection>: {<metric>: {"value", "source",
  ...}}} (``evaluators.aggregate``), "connections": {<name>: {"type", "model", "price_per_1k_input_tokens",
  "price_per_1k_output_tokens"}}, "prompts": {<metric>: <version>}, "tokenizer", "created"}``.
"""
