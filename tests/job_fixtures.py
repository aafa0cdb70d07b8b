"""Fixtures for tests that run jobs: a real MLflow tracking server and a real ``studio agent`` process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests

from backend.statuses import TERMINAL
from studio import tracking_server
from tests.conftest import REPO, reset_caches


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_server_home: list[Path] = []


def mlflow_server_home() -> Path:
    """The folder of the session's tracking server (``mlflow.db``, ``art/``), once it has started."""
    return _server_home[-1]


def start_tracking_server(home: Path, artifacts: Path | str | None = None) -> tuple[subprocess.Popen, str]:
    """A tracking server as ``studio up`` runs it (its store and log in ``home``), answering: (process, URL).
    It does not inherit a test's ``PYTEST_*`` and ``MLFLOW_REGISTRY*`` variables."""
    port = _free_port()
    log = open(home / "mlflow.log", "wb")  # noqa: SIM115  (the server writes to it while it lives)
    proc = subprocess.Popen(
        tracking_server.command(
            host="127.0.0.1", port=port, store=home / "mlflow.db", artifacts=artifacts or home / "art"
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=tracking_server.environment(
            {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MLFLOW_REGISTRY"))}
        ),
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{uri}/health", timeout=2).ok:
                return proc, uri
        except requests.RequestException:
            time.sleep(0.3)
    raise RuntimeError((home / "mlflow.log").read_text())


def stop_tracking_server(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:  # a busy gunicorn may ignore SIGTERM for a while
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory) -> str:
    """One tracking server for the whole run (each test's runs are its own), as ``studio up`` runs it."""
    home = tmp_path_factory.mktemp("mlflow")
    _server_home.append(home)
    proc, uri = start_tracking_server(home)
    yield uri
    stop_tracking_server(proc)


@pytest.fixture
def tracking(mlflow_server, monkeypatch) -> str:
    monkeypatch.setenv("STUDIO_MLFLOW_URI", mlflow_server)
    reset_caches()
    return mlflow_server


class AgentProcess:
    """``studio agent`` as its own process, so tests can kill it like a crash would."""

    def __init__(
        self, home: Path, name: str | None = None, computes: str | None = None, env: dict | None = None
    ):
        self.home = home
        self.name = name
        self.env = env or {}
        self.args = [*(["--name", name] if name else []), *(["--computes", computes] if computes else [])]
        self.proc: subprocess.Popen | None = None

    def start(self) -> AgentProcess:
        self.home.mkdir(parents=True, exist_ok=True)
        log = open(self.home / f"agent-test{'-' + self.name if self.name else ''}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "studio.cli", "agent", *self.args],
            cwd=REPO,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        sock = self.home / "run" / (f"agent-{self.name}.sock" if self.name else "agent.sock")
        deadline = time.monotonic() + 30
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as if the machine's agent crashed."""
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        suffix = f"-{self.name}" if self.name else ""
        return (self.home / f"agent-test{suffix}.log").read_text(errors="replace")


@pytest.fixture
def agent(tracking, studio_home):
    from backend.db import ensure_schema

    ensure_schema()  # migrate before the agent starts, so the two never race on it
    process = AgentProcess(studio_home).start()
    yield process
    process.stop()


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


def submit(folder: Path, job_yaml: str, files: dict[str, str] | None = None, workspace: str = "default"):
    from backend.services import job_files, open_session

    write(folder, {"job.yml": job_yaml, **(files or {})})
    with open_session() as s:
        return job_files.create_job_from_file(session=s, workspace=workspace, file=folder / "job.yml")


def wait(name: str, timeout_s: float = 120, workspace: str = "default", until=None):
    """Wait for the job to end (or for ``until(job)`` to hold)."""
    from backend.services import jobs, open_session

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with open_session() as s:
            job = jobs.get_job(session=s, workspace=workspace, name=name)
        if until(job) if until else job.status in TERMINAL:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {name} still {job.status} after {timeout_s}s")


def log_of(name: str, workspace: str = "default") -> str:
    from backend.services import jobs

    return jobs.read_log(workspace=workspace, name=name)[0]
