"""``studio up``: MLflow tracking server, agent and UI as child processes, stopped together."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
import typer

from backend.errors import UnavailableError
from backend.settings import get_settings

STARTUP_TIMEOUT_S = 90
POLL_INTERVAL_S = 0.5
STOP_GRACE_S = 10
APP_PATH = Path(__file__).parent / "app.py"


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log_path: Path
    health_url: str | None = None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Supervisor:
    children: list[Child] = field(default_factory=list)
    stopping: bool = False

    def start(
        self, name: str, argv: list[str], log_path: Path, env: dict[str, str], health_url=None
    ) -> Child:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            # Own session: a signal to the group reaches the child's own children too.
            proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        child = Child(name, proc, log_path, health_url)
        self.children.append(child)
        return child

    def wait_healthy(self, child: Child) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.stopping:
                raise UnavailableError(f"interrupted while {child.name} was starting")
            if child.process.poll() is not None:
                raise UnavailableError(
                    f"{child.name} exited while starting (log {child.log_path}):\n{child.log_tail()}"
                )
            try:
                if requests.get(child.health_url, timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise UnavailableError(
            f"{child.name} did not answer at {child.health_url} within {STARTUP_TIMEOUT_S}s"
        )

    def stop_all(self) -> None:
        for child in reversed(self.children):
            _signal_group(child.process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for child in reversed(self.children):
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(child.process, signal.SIGKILL)
                child.process.wait()
        # A group may outlive its leader (workers of a server): make sure nothing stays.
        for child in self.children:
            _signal_group(child.process, signal.SIGKILL)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def claim_port(host: str, port: int, what: str) -> int:
    """The port to use: ``port``, or any free one for 0; a taken port is a clear error."""
    if port == 0:
        return free_port(host)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            raise UnavailableError(
                f"port {port} on {host} is in use ({what}); choose another port, or 0 for any free one"
            ) from None
    return port


def _warm_tracking_server(uri: str, requests_at_once: int = 4) -> None:
    """Each MLflow worker opens its store on the first request it serves (about half a second): have
    every worker serve one now, so the first job does not pay for it."""
    from concurrent.futures import ThreadPoolExecutor

    def _read(_: int) -> None:
        try:
            requests.get(f"{uri}/api/2.0/mlflow/experiments/search", params={"max_results": 1}, timeout=30)
        except requests.RequestException:
            pass  # the first job's own request says what is wrong

    with ThreadPoolExecutor(requests_at_once) as pool:
        list(pool.map(_read, range(requests_at_once)))


def _lock_home(run_dir: Path):
    run_dir.mkdir(parents=True, exist_ok=True)
    handle = open(run_dir / "up.lock", "w")  # noqa: SIM115  (held open while studio up lives)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        from backend.services.system import current_runtime

        info = current_runtime()
        where = f" (pid {info.pid}; UI {info.ui_url or 'headless'}, MLflow {info.mlflow_uri})" if info else ""
        raise UnavailableError(
            f"Studio is already running on {run_dir.parent}{where}; stop it first or use another STUDIO_HOME"
        ) from None
    return handle


def run_up(*, headless: bool, ui_port: int | None, mlflow_port: int | None) -> int:
    from backend.db import ensure_schema
    from backend.services.system import Runtime, clear_runtime, write_runtime

    settings = get_settings()
    home = settings.home
    lock = _lock_home(settings.run_dir)
    ensure_schema()

    host = settings.host
    mlflow_port = claim_port(
        host,
        settings.mlflow_port if mlflow_port is None else mlflow_port,
        "--mlflow-port / STUDIO_MLFLOW_PORT",
    )
    if not headless:
        ui_port = claim_port(
            host, settings.ui_port if ui_port is None else ui_port, "--ui-port / STUDIO_UI_PORT"
        )

    mlflow_uri = f"http://{host}:{mlflow_port}"
    env = {
        **os.environ,
        "STUDIO_HOME": str(home),
        "STUDIO_MLFLOW_URI": mlflow_uri,
        "PYTHONUNBUFFERED": "1",
        # MLflow's own job runner (a pool of huey consumers for GenAI features) is not used by Studio.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    logs = home / "logs"
    from backend.db import private_file

    private_file(home / "mlflow.db")  # runs, params and metrics: readable by this user only
    sup = Supervisor()

    def _on_signal(signum, _frame):
        sup.stopping = True

    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        mlflow = sup.start(
            "MLflow tracking server",
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--host",
                host,
                "--port",
                str(mlflow_port),
                "--backend-store-uri",
                f"sqlite:///{home / 'mlflow.db'}",
                "--artifacts-destination",
                str(home / "mlartifacts"),
                "--workers",
                "2",
                "--gunicorn-opts",
                "--threads 4 --timeout 120",
            ],
            logs / "mlflow.log",
            env,
            health_url=f"{mlflow_uri}/health",
        )
        sup.wait_healthy(mlflow)
        _warm_tracking_server(mlflow_uri)
        typer.echo(f"MLflow tracking server: {mlflow_uri}")
        agent = sup.start("agent", [sys.executable, "-m", "studio.cli", "agent"], logs / "agent.log", env)

        ui_url = None
        if not headless:
            ui_url = f"http://{host}:{ui_port}"
            ui = sup.start(
                "Streamlit UI",
                [
                    sys.executable,
                    "-m",
                    "streamlit",
                    "run",
                    str(APP_PATH),
                    "--server.address",
                    host,
                    "--server.port",
                    str(ui_port),
                    "--server.headless",
                    "true",
                    "--browser.gatherUsageStats",
                    "false",
                    "--server.fileWatcherType",
                    "none",
                    "--theme.base",
                    "light",
                    "--client.toolbarMode",
                    "minimal",
                ],
                logs / "ui.log",
                env,
                health_url=f"{ui_url}/_stcore/health",
            )
            sup.wait_healthy(ui)
        write_runtime(
            Runtime(
                pid=os.getpid(),
                home=str(home),
                mlflow_uri=mlflow_uri,
                ui_url=ui_url,
                agent_pid=agent.process.pid,
            )
        )
        typer.echo(f"Studio UI: {ui_url}" if ui_url else "Studio is running headless (no UI).")
        typer.echo("Press Ctrl-C to stop.")

        while not sup.stopping:
            for child in sup.children:
                if child.process.poll() is not None:
                    typer.echo(f"error: {child.name} stopped unexpectedly (log {child.log_path})", err=True)
                    return 1
            time.sleep(POLL_INTERVAL_S)
        typer.echo("stopping Studio ...")
        return 0
    finally:
        sup.stop_all()
        clear_runtime()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        lock.close()
