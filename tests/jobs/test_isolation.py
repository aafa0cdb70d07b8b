"""A job can never harm Studio or see its secrets (DESIGN.md, Isolation), through a real agent and bwrap."""

from __future__ import annotations

import json
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest

from backend import sandbox
from backend.services import base_environment
from tests.job_fixtures import AgentProcess, log_of, submit, wait

CURATED = "azureml:AzureML-sklearn-1.5@latest"


@pytest.fixture(autouse=True)
def _needs_bwrap():
    sandbox.status.cache_clear()
    if not sandbox.status().available:
        from tests.conftest import skip_or_fail

        skip_or_fail("sandbox", sandbox.status().detail)


def _base_version(package: str) -> str:
    out = subprocess.run(
        [
            str(base_environment.python()),
            "-c",
            f"import importlib.metadata as m; print(m.version({package!r}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_pip_install_in_a_job_changes_that_job_only(tmp_path, agent):
    studio_before = version("packaging")
    first = submit(
        tmp_path / "a",
        f"""
        command: >-
          pip install --quiet --disable-pip-version-check 'packaging==24.2' &&
          python -c "import packaging; print('packaging', packaging.__version__)"
        environment: {CURATED}
        """,
    )
    done = wait(first.name, timeout_s=180)
    assert done.status == "Completed", done.failure_reason
    assert "packaging 24.2" in log_of(first.name)
    # Studio's interpreter and the shared base environment are as they were ...
    assert version("packaging") == studio_before
    base = _base_version("packaging")
    assert base != "24.2"
    # ... and the next job on the same environment sees the base's version.
    second = submit(
        tmp_path / "b",
        f"""
        command: python -c "import packaging; print('packaging', packaging.__version__)"
        environment: {CURATED}
        """,
    )
    assert wait(second.name).status == "Completed"
    assert f"packaging {base}" in log_of(second.name)


PROBE = r"""
import os, sys
home, sibling = sys.argv[1], sys.argv[2]
targets = {
    "database": os.path.join(home, "studio.db"),
    "secret": os.path.join(home, "secret.key"),
    "sibling-log": os.path.join(sibling, "user_logs", "std_log.txt"),
}
for label, path in targets.items():
    try:
        with open(path, "rb") as handle:
            handle.read(1)
        print(f"{label}: READABLE")
    except OSError as exc:
        print(f"{label}: blocked ({type(exc).__name__})")
try:
    with open(targets["sibling-log"], "a") as handle:
        handle.write("tampered\n")
    print("sibling-write: WRITABLE")
except OSError as exc:
    print(f"sibling-write: blocked ({type(exc).__name__})")
print("home-listing:", sorted(os.listdir(home)) if os.path.isdir(home) else "absent")
print("env-names:", sorted(os.environ))
print("env-values:", sorted(os.environ.values()))
"""


def test_a_job_cannot_open_studio_files_or_another_job_and_holds_no_credential(
    tmp_path, tracking, studio_home, monkeypatch
):
    from backend.db import ensure_schema

    monkeypatch.setenv("STUDIO_SECRET_KEY", "studio-secret-key-material-for-this-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "never-show-this-to-a-job")
    ensure_schema()
    (studio_home / "secret.key").write_text("file-key-material")
    agent = AgentProcess(studio_home).start()
    try:
        sibling = submit(tmp_path / "sibling", f"command: echo sibling-was-here\nenvironment: {CURATED}\n")
        assert wait(sibling.name).status == "Completed"
        sibling_dir = studio_home / "jobs" / "default" / sibling.name
        (tmp_path / "probe" / "src").mkdir(parents=True)
        (tmp_path / "probe" / "src" / "probe.py").write_text(PROBE)
        probe = submit(
            tmp_path / "probe",
            f"""
            code: ./src
            command: python probe.py {studio_home} {sibling_dir}
            environment: {CURATED}
            """,
        )
        done = wait(probe.name)
    finally:
        agent.stop()
    log = log_of(probe.name)
    assert done.status == "Completed", (done.failure_reason, log)
    for label in ("database", "secret", "sibling-log", "sibling-write"):
        assert f"{label}: blocked" in log, log
    assert "tampered" not in (sibling_dir / "user_logs" / "std_log.txt").read_text()
    # Only the job's own folder shows under STUDIO_HOME: no studio.db, no secret.key, no workspaces.
    assert "home-listing: ['jobs']" in log, log
    names = json.loads(log.split("env-names: ")[1].splitlines()[0].replace("'", '"'))
    assert not [n for n in names if n.startswith("STUDIO_") and n != "STUDIO_JOB_INPUTS"], names
    assert "AWS_SECRET_ACCESS_KEY" not in names
    assert {"MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "AZUREML_RUN_ID"} <= set(names)
    values = log.split("env-values: ")[1].splitlines()[0]
    assert "never-show-this-to-a-job" not in values
    import os

    assert os.environ["STUDIO_SECRET_KEY"] not in values


def test_outputs_and_logs_folders_exist_before_the_command_and_become_artifacts(tmp_path, agent):
    job = submit(
        tmp_path,
        f"""
        command: echo hi > ./outputs/a.txt && echo trace > ./logs/b.txt
        environment: {CURATED}
        """,
    )
    done = wait(job.name)
    assert done.status == "Completed", (done.failure_reason, log_of(job.name))
    from backend.agent import tracking

    client = tracking.client()
    outputs = [f.path for f in client.list_artifacts(done.mlflow_run_id, "outputs")]
    logs = [f.path for f in client.list_artifacts(done.mlflow_run_id, "logs")]
    assert "outputs/a.txt" in outputs and "logs/b.txt" in logs
    local = Path(client.download_artifacts(done.mlflow_run_id, "outputs/a.txt", str(tmp_path)))
    assert local.read_text() == "hi\n"


def test_the_job_log_says_how_the_job_is_isolated(tmp_path, agent):
    job = submit(tmp_path, f"command: echo ok\nenvironment: {CURATED}\n")
    assert wait(job.name).status == "Completed"
    system_log = (Path(job_dir_of(job.name)) / "system_logs" / "agent.log").read_text()
    assert "isolation: sandboxed with bubblewrap" in system_log


def job_dir_of(name: str) -> Path:
    from backend.services.jobs import job_dir

    return job_dir("default", name)


def test_without_bwrap_commands_run_as_they_are_and_the_reason_is_given(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on this PATH
    sandbox.status.cache_clear()
    try:
        found = sandbox.status()
        assert not found.available and "not installed" in found.detail and "unsandboxed" in found.detail
        assert sandbox.wrap(["echo", "hi"], writable=[tmp_path]) == ["echo", "hi"]
    finally:
        sandbox.status.cache_clear()


def test_the_sandbox_hides_studio_home_and_binds_back_only_what_is_named(tmp_path, studio_home):
    studio_home.mkdir(parents=True, exist_ok=True)
    (studio_home / "studio.db").write_text("secret rows")
    shared = studio_home / "jobs" / "x"
    shared.mkdir(parents=True)
    readonly = studio_home / "envs"
    readonly.mkdir()
    (readonly / "f").write_text("env file\n")
    script = (
        f"cat {studio_home}/studio.db 2>/dev/null || echo no-db; "
        f"echo w > {shared}/out && echo wrote; "
        f"cat {readonly}/f; echo x > {readonly}/g 2>/dev/null || echo ro; "
        "ls /proc | grep -c '^[0-9]'"
    )
    # A read-only folder that holds STUDIO_HOME (here the test's temporary folder) does not uncover it.
    (studio_home.parent / "beside.txt").write_text("beside\n")
    script += f"; cat {studio_home.parent}/beside.txt"
    out = subprocess.run(
        sandbox.wrap(["sh", "-c", script], writable=[shared], readonly=[readonly, studio_home.parent]),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[:5] == ["no-db", "wrote", "env", "file", "ro"]
    assert int(out[5]) < 10  # its own PID namespace: only its few processes, not Studio's
    assert out[6] == "beside"
    assert (shared / "out").read_text() == "w\n"
