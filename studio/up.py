"""``studio up``: MLflow tracking server, agent and UI as child processes, kept running, stopped together.

A child that dies is started again after a back-off (1 s, doubling up to 30 s; back to 1 s once it has run
for a healthy minute), with a message on stderr. Only a child that keeps dying within a minute of each
start (``MAX_QUICK_CRASHES`` times in a row) makes ``studio up`` give up and stop everything.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests
import typer

from backend.errors import UnavailableError, ValidationError
from backend.settings import get_settings
from studio import tracking_server

STARTUP_TIMEOUT_S = 90
POLL_INTERVAL_S = 0.5
STOP_GRACE_S = 10
APP_PATH = Path(__file__).parent / "app.py"
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0
HEALTHY_AFTER_S = 60.0  # a child that ran this long was healthy: its next crash starts the back-off anew
MAX_QUICK_CRASHES = 5  # deaths in a row, each within HEALTHY_AFTER_S of its start: give up


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log_path: Path
    health_url: str | None = None
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict, repr=False)
    started_at: float = field(default_factory=time.monotonic)
    quick_crashes: int = 0  # deaths in a row within HEALTHY_AFTER_S of a start
    backoff_s: float = BACKOFF_FIRST_S
    restart_at: float | None = None  # dead, to be started again at this time
    died_at: float | None = None
    awaiting_health: bool = False  # restarted; its health URL has not answered yet

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _say(message: str) -> None:
    typer.echo(message, err=True)


@dataclass
class Supervisor:
    children: list[Child] = field(default_factory=list)
    stopping: bool = False
    on_restart: Callable[[Child], None] | None = None  # called once a restarted child is up again

    def _spawn(self, argv: list[str], log_path: Path, env: dict[str, str]) -> subprocess.Popen:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            # Own session: a signal to the group reaches the child's own children too.
            return subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )

    def start(
        self, name: str, argv: list[str], log_path: Path, env: dict[str, str], health_url=None
    ) -> Child:
        proc = self._spawn(argv, log_path, env)
        child = Child(name, proc, log_path, health_url, argv=list(argv), env=env)
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
            if _answers(child.health_url, timeout=2):
                return
            time.sleep(0.3)
        raise UnavailableError(
            f"{child.name} did not answer at {child.health_url} within {STARTUP_TIMEOUT_S}s"
        )

    def watch(self) -> None:
        """One look at every child: notice deaths, restart after the back-off, report those back up.
        Raises ``UnavailableError`` when a child keeps dying right after it starts."""
        now = time.monotonic()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._restart(child)
                continue
            code = child.process.poll()
            if code is not None:
                self._died(child, code, now)
            elif child.awaiting_health and (child.health_url is None or _answers(child.health_url, 0.5)):
                child.awaiting_health = False
                down = now - (child.died_at or now)
                _say(f"{child.name} is back (pid {child.process.pid}; down {down:.1f} s)")
                if self.on_restart:
                    self.on_restart(child)

    def _died(self, child: Child, code: int, now: float) -> None:
        # What the child started in its group (server workers) goes with it, freeing its port.
        _signal_group(child.process, signal.SIGKILL)
        if now - child.started_at >= HEALTHY_AFTER_S:  # it had a healthy minute: the back-off starts anew
            child.quick_crashes, child.backoff_s = 0, BACKOFF_FIRST_S
        else:
            child.quick_crashes += 1
        how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        if child.quick_crashes >= MAX_QUICK_CRASHES:
            raise UnavailableError(
                f"{child.name} keeps stopping ({child.quick_crashes} times in a row within "
                f"{HEALTHY_AFTER_S:.0f} s of starting; last {how}); Studio stops. "
                f"Its log: {child.log_path}\n{child.log_tail()}"
            )
        delay = child.backoff_s
        child.backoff_s = min(BACKOFF_MAX_S, child.backoff_s * 2)
        child.died_at, child.restart_at = now, now + delay
        _say(
            f"warning: {child.name} stopped unexpectedly ({how}; log {child.log_path}); "
            f"restarting it in {delay:.0f} s"
        )

    def _restart(self, child: Child) -> None:
        child.process = self._spawn(child.argv, child.log_path, child.env)
        child.started_at, child.restart_at, child.awaiting_health = time.monotonic(), None, True

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


def _answers(url: str | None, timeout: float) -> bool:
    try:
        return bool(url) and requests.get(url, timeout=timeout).ok
    except requests.RequestException:
        return False


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def client_host(host: str) -> str:
    """Where this machine's clients reach a server bound to ``host`` (a wildcard: loopback), as a URL's host."""
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def check_host(host: str) -> None:
    """``host`` is an address this machine can listen on, or a clear error (before anything starts)."""
    try:
        with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
    except OSError as exc:
        raise ValidationError(
            f"--host / STUDIO_HOST: cannot listen on {host!r} ({exc.strerror or exc}); use an address of "
            "this machine: 127.0.0.1 (this machine only, the default), 0.0.0.0 (every interface) or the "
            "address of one interface"
        ) from None


def free_port(host: str) -> int:
    with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def claim_port(host: str, port: int, what: str) -> int:
    """The port to use: ``port``, or any free one for 0; a taken port is a clear error."""
    if port == 0:
        return free_port(host)
    with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
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


def run_up(*, headless: bool, ui_port: int | None, mlflow_port: int | None, host: str | None = None) -> int:
    from backend.db import ensure_schema
    from backend.services.system import Runtime, clear_runtime, write_runtime

    settings = get_settings()
    home = settings.home
    host = settings.host if host is None else host
    check_host(host)
    lock = _lock_home(settings.run_dir)
    ensure_schema()

    if not is_loopback(host):
        _say(
            f"warning: Studio listens on {host}: anyone who can reach this machine can use it (the UI, "
            "MLflow and the endpoints have no login of their own); use --host 127.0.0.1 to keep it local"
        )
    mlflow_port = claim_port(
        host,
        settings.mlflow_port if mlflow_port is None else mlflow_port,
        "--mlflow-port / STUDIO_MLFLOW_PORT",
    )
    if not headless:
        ui_port = claim_port(
            host, settings.ui_port if ui_port is None else ui_port, "--ui-port / STUDIO_UI_PORT"
        )

    endpoint_port = claim_port(host, settings.endpoint_port, "STUDIO_ENDPOINT_PORT")

    mlflow_uri = f"http://{client_host(host)}:{mlflow_port}"
    env = {
        **os.environ,
        "STUDIO_HOME": str(home),
        "STUDIO_MLFLOW_URI": mlflow_uri,
        "STUDIO_HOST": host,  # the agent's endpoint router binds to it too
        "STUDIO_ENDPOINT_PORT": str(endpoint_port),  # the agent's router; pages show scoring URIs on it
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
            tracking_server.command(
                host=host,
                port=mlflow_port,
                store=home / "mlflow.db",
                artifacts=tracking_server.artifacts_destination(home / "mlartifacts"),
            ),
            logs / "mlflow.log",
            tracking_server.environment(env),
            health_url=f"{mlflow_uri}/health",
        )
        sup.wait_healthy(mlflow)
        _warm_tracking_server(mlflow_uri)
        typer.echo(f"MLflow tracking server: {mlflow_uri}")
        agent = sup.start("agent", [sys.executable, "-m", "studio.cli", "agent"], logs / "agent.log", env)
        # Warm interpreter for `studio` commands (studio.quick hands them over): no port, a 0600 socket.
        sup.start("CLI server", [sys.executable, "-m", "studio.cli_server"], logs / "cli-server.log", env)

        ui_url = None
        if not headless:
            ui_url = f"http://{client_host(host)}:{ui_port}"
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
                    # Single sign-on's [auth] section: Streamlit's usual places, then this studio's own.
                    *(
                        arg
                        for path in (
                            Path.home() / ".streamlit" / "secrets.toml",
                            Path.cwd() / ".streamlit" / "secrets.toml",
                            home / "secrets.toml",
                        )
                        for arg in ("--secrets.files", str(path))
                    ),
                ],
                logs / "ui.log",
                env,
                health_url=f"{ui_url}/_stcore/health",
            )
            sup.wait_healthy(ui)

        def _record() -> None:
            write_runtime(
                Runtime(
                    pid=os.getpid(),
                    home=str(home),
                    mlflow_uri=mlflow_uri,
                    ui_url=ui_url,
                    agent_pid=agent.process.pid,
                )
            )

        def _back(child: Child) -> None:
            if child is agent:
                _record()  # the new agent's pid
            elif child is mlflow:
                threading.Thread(target=_warm_tracking_server, args=(mlflow_uri,), daemon=True).start()

        _record()
        sup.on_restart = _back
        typer.echo(f"Online endpoints: http://{client_host(host)}:{endpoint_port}/endpoints/<name>/score")
        typer.echo(f"Studio UI: {ui_url}" if ui_url else "Studio is running headless (no UI).")
        typer.echo("Press Ctrl-C to stop.")

        while not sup.stopping:
            sup.watch()  # restarts a child that died; raises when one keeps dying
            time.sleep(POLL_INTERVAL_S)
        typer.echo("stopping Studio ...")
        return 0
    finally:
        sup.stop_all()
        clear_runtime()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        lock.close()
