"""The benchmark environment's interpreter, for tests of the modules that need its packages.

``modelbench.local`` and ``modelbench.fallbacks`` run xllamacpp, onnxruntime and the model packages,
which Studio's own interpreter doesn't have: those tests run a small script in the benchmark
environment's interpreter (``base_environment.ensure(recipe=BENCHMARK)``, built once per machine under
the shared ``STUDIO_BASE_ENV_DIR``) and check the JSON it prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.conftest import BASE_ENV_DIR, REPO, reset_caches

RUNTIME = REPO / "backend" / "runtime"
# Where a job assembles a model that the environment didn't (Gemma, outside a built environment).
MODEL_CACHE = Path(os.environ.get("STUDIO_MODEL_CACHE") or REPO / ".tools" / "model-cache")


@pytest.fixture(scope="session")
def bench_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The curated benchmark environment's interpreter, built once per machine (like the base one)."""
    from backend.services import base_environment

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STUDIO_HOME", str(tmp_path_factory.mktemp("bench-home")))
        patch.setenv("STUDIO_BASE_ENV_DIR", str(BASE_ENV_DIR))
        reset_caches()
        try:
            return Path(base_environment.ensure(recipe=base_environment.BENCHMARK))
        finally:
            reset_caches()


@pytest.fixture(scope="session")
def run_bench(bench_python: Path):
    """Run a script in the benchmark interpreter with ``modelbench`` importable; its last stdout line as JSON.

    Returns ``(value, stderr)``.
    """

    def run(script: str, *, env: dict[str, str] | None = None, timeout: float = 300) -> tuple[object, str]:
        full_env = {
            **os.environ,
            "PYTHONPATH": str(RUNTIME),
            "STUDIO_MODEL_CACHE": str(MODEL_CACHE),
            **(env or {}),
        }
        result = subprocess.run(
            [str(bench_python), "-c", textwrap.dedent(script)],
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        lines = result.stdout.strip().splitlines()
        assert lines, f"no output; stderr: {result.stderr[-2000:]}"
        return json.loads(lines[-1]), result.stderr

    return run
