"""What a job's interpreter gets at start-up so that MLflow's client is quick (backend/runtime/studio_job_hooks.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from backend.agent.runner import _bypass_proxy

RUNTIME = Path(__file__).resolve().parents[2] / "backend" / "runtime"

PROBE = r"""
import importlib, importlib.machinery, json, sys
import studio_job_hooks  # what the job layer's .pth line imports

searches = []
original = importlib.machinery.PathFinder.find_spec.__func__

def counting(cls, name, path=None, target=None):
    searches.append(name)
    return original(cls, name, path, target)

importlib.machinery.PathFinder.find_spec = classmethod(counting)
outcomes = []
for _ in range(3):  # what MLflow's client does on every request
    try:
        import pyspark  # noqa: F401
        outcomes.append("found")
    except ModuleNotFoundError as exc:
        outcomes.append(f"missing {exc.name}")
missing_searches = searches.count("pyspark")

# Installed later in the same process (pip, then invalidate_caches): found, not remembered as missing.
(folder := sys.argv[1])
import os
os.makedirs(f"{folder}/pyspark", exist_ok=True)
open(f"{folder}/pyspark/__init__.py", "w").write("WHERE = 'installed later'\n")
sys.path.insert(0, folder)
importlib.invalidate_caches()
import pyspark
print(json.dumps({"outcomes": outcomes, "searches": missing_searches, "later": pyspark.WHERE,
                  "json_searched": "json" in searches}))
"""


def test_a_probed_module_found_missing_is_not_searched_for_again_until_caches_are_invalidated(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)],
        env={"PYTHONPATH": str(RUNTIME), "MLFLOW_RUN_ID": "r1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["outcomes"] == ["missing pyspark"] * 3
    assert result["searches"] == 1  # the first import searched sys.path; the next two did not
    assert result["later"] == "installed later"


def test_outside_a_job_the_interpreter_is_left_alone(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, studio_job_hooks; print(len([f for f in sys.meta_path "
            "if type(f).__module__ == 'studio_job_hooks']))",
        ],
        env={"PYTHONPATH": str(RUNTIME), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip() == "0", done.stderr


def test_the_tracking_host_is_reached_without_a_proxy_and_existing_exceptions_are_kept():
    env = {"https_proxy": "http://proxy:3128", "no_proxy": "intranet.local"}
    _bypass_proxy(env, "http://127.0.0.1:5000")
    assert env["no_proxy"] == "intranet.local,127.0.0.1"
    assert env["NO_PROXY"] == "127.0.0.1"
    _bypass_proxy(env, "http://127.0.0.1:5000")  # idempotent
    assert env["no_proxy"] == "intranet.local,127.0.0.1"
