"""JupyterLab servers of running compute instances (issue 16): started, adopted, stopped by the agent.

Each pass (a thread of the agent, like the endpoint supervisor) reads the compute instances and:

- for a running instance without a server, starts one: a host process (``notebook_host.py``, in a
  session of its own) runs JupyterLab in the curated base environment under the same bubblewrap sandbox
  as jobs. Its root (the workspace's ``workspaceworkingdirectory`` share, ``Users/<user>/`` in team mode)
  and its own state folder are writable; the rest of ``STUDIO_HOME`` (database, secret key, datastore
  settings, jobs) is hidden. Loopback only; a fresh token each start, handed to the host on its stdin and
  kept in ``server.json`` encrypted with the studio's key;
- a server that is already running (its host holds its lock) is adopted as it is: a restarted agent
  starts nothing twice;
- a server whose instance stopped (or was deleted) is stopped, kernels and all;
- an instance idle for its ``idle_time_before_shutdown_minutes`` (JupyterLab's last activity: kernels
  running code, the browser using the server) is stopped, as the cloud stops it.

Kernels: ``python3`` is the curated environment in a layer of the instance's own (``%pip install`` in a
notebook lands in the layer, not in the environment, and lasts until the instance is deleted); every
custom environment whose venv is built is a kernel too. Each kernel has the workspace's MLflow variables
(``backend/runtime/studio_kernel.py``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from backend import sandbox
from backend.agent.layer import make_layer, site_packages
from backend.agent.sdk_gateway import Gateway
from backend.db import session_scope
from backend.services import notebook_servers as servers

log = logging.getLogger(__name__)

HOST = Path(__file__).with_name("notebook_host.py")
REPO = Path(__file__).resolve().parents[2]  # Studio's code: the kernels import ``studio.ml`` from it
PASS_INTERVAL_S = 1.0
IDLE_CHECK_S = 30.0  # how often a server's activity is read for idle shutdown
RETRY_S = (5.0, 15.0, 60.0)  # back-off after a server that did not start or died
STOP_WAIT_S = 15.0
CURATED_KERNEL = "python3"


@dataclass(frozen=True)
class Instance:
    workspace: str
    compute: str
    running: bool
    idle_minutes: int | None
    user: str | None


def _instances() -> list[Instance]:
    from sqlmodel import select

    from backend.db.models import Compute, Workspace

    with session_scope() as s:
        rows = s.exec(
            select(Workspace.name, Compute.name, Compute.state, Compute.idle_shutdown_minutes)
            .join(Workspace, Workspace.id == Compute.workspace_id)
            .where(Compute.type == "computeinstance")
        ).all()
        return [
            Instance(
                ws,
                name,
                state == "Running",
                idle,
                servers.instance_user(session=s, workspace=ws, compute=name),
            )
            for ws, name, state, idle in rows
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def idle_for(answer: dict, now: datetime) -> timedelta:
    """How long a server has been idle, from its ``/api/status``: since its last activity (or its start)."""
    stamps = [answer.get("last_activity"), answer.get("started")]
    seen = [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in stamps if s]
    return now - max(seen) if seen else timedelta(0)


class NotebookSupervisor:
    def __init__(self, serves=lambda compute: True) -> None:
        self.serves = serves  # whether this agent serves a compute (by name)
        self.hosts: dict[tuple[str, str], subprocess.Popen] = {}  # hosts this agent started (reaped here)
        self.retry: dict[tuple[str, str], tuple[int, float]] = {}  # failures in a row, next try at
        self.idle_checked: dict[tuple[str, str], float] = {}
        self.gateways: dict[tuple[str, str], Gateway] = {}  # the SDK gateway of each server it serves
        self.stopping = threading.Event()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="studio-notebooks", daemon=True)
        thread.start()
        return thread

    def run_forever(self) -> None:
        while not self.stopping.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("notebook server pass failed")
            self.stopping.wait(PASS_INTERVAL_S)

    def stop(self) -> None:
        """The agent stops: servers keep running (the next agent adopts them, and opens their gateways)."""
        self.stopping.set()
        for gateway in self.gateways.values():
            gateway.stop()
        self.gateways.clear()

    # --- one pass --------------------------------------------------------------------------------------

    def run_once(self, now: datetime | None = None) -> None:
        for key, proc in list(self.hosts.items()):
            if proc.poll() is not None:
                self.hosts.pop(key)
        every = _instances()
        instances = [i for i in every if self.serves(i.compute)]
        wanted = {(i.workspace, i.compute): i for i in instances if i.running}
        # Servers this agent stops: of its instances that stopped, and of instances deleted (nobody's); an
        # instance another agent serves is that agent's.
        ours = {(i.workspace, i.compute) for i in instances}
        existing = {(i.workspace, i.compute) for i in every}
        for key in [
            k for k in self.gateways if k not in wanted or not servers.host_alive(servers.server_dir(*k))
        ]:
            self.gateways.pop(key).stop()
        for key in self._live_servers():
            if key not in wanted and (key in ours or key not in existing):
                self.stop_server(*key)
        for key, instance in wanted.items():
            if self.stopping.is_set():
                return
            folder = servers.server_dir(*key)
            if servers.host_alive(folder):
                self.retry.pop(key, None)
                self._open_gateway(instance)
                self._check_idle(instance, now)
            elif key not in self.hosts and time.monotonic() >= self.retry.get(key, (0, 0.0))[1]:
                self._start(instance)

    def _live_servers(self) -> list[tuple[str, str]]:
        root = servers.notebooks_root()
        found = []
        for folder in root.glob("*/*/server") if root.is_dir() else []:
            if servers.host_alive(folder):
                found.append((folder.parent.parent.name, folder.parent.name))
        return found

    def _open_gateway(self, instance: Instance) -> None:
        """The SDK gateway of a running server (``MLClient`` in its kernels), opened again if it closed."""
        key = (instance.workspace, instance.compute)
        if key in self.gateways and self.gateways[key].alive():
            return
        if key in self.gateways:
            self.gateways.pop(key).stop()
        gateway = Gateway(
            sdk_socket(*key),
            workspace=instance.workspace,
            user=instance.user,
            root=servers.server_root(instance.workspace, instance.user),
        )
        try:
            self.gateways[key] = gateway.start()
        except OSError as exc:
            log.error("SDK gateway of %s cannot listen: %s", instance.compute, exc)

    # --- start -----------------------------------------------------------------------------------------

    def _start(self, instance: Instance) -> None:
        from backend.services import base_environment
        from backend.storage.secrets import encrypt

        key = (instance.workspace, instance.compute)
        folder = servers.server_dir(*key)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "failed.json").unlink(missing_ok=True)
        try:
            base_environment.ensure()
            venv = base_environment.venv()
            root = servers.server_root(instance.workspace, instance.user)
            root.mkdir(parents=True, exist_ok=True)
            state = servers.state_dir(*key)
            kernels = self._kernels(state, venv, instance.workspace)
            port = free_port()
            argv, env = self._server_command(venv, root, state, kernels, port, instance.workspace)
        except Exception as exc:
            self._failed(key, f"JupyterLab could not be prepared: {exc}")
            return
        import secrets as token_source

        token = token_source.token_urlsafe(32)
        (folder / "launch.json").write_text(json.dumps({"argv": argv, "env": env, "cwd": str(root)}))
        servers.write_record(
            folder,
            {
                "port": port,
                "root": str(root),
                "token": encrypt(token),
                "started_at": time.time(),
                "user": instance.user,
            },
        )
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", str(HOST), str(folder)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=open(folder / "host.err", "w"),  # noqa: SIM115
            start_new_session=True,  # outlives this agent: the next one adopts it
            close_fds=True,
            text=True,
        )
        assert proc.stdin is not None
        proc.stdin.write(token + "\n")
        proc.stdin.close()
        self.hosts[key] = proc
        log.info(
            "JupyterLab started",
            extra={"action": "notebook_start", "compute": instance.compute, "port": port},
        )
        threading.Thread(target=self._watch_start, args=(key, proc, port, token), daemon=True).start()

    def _watch_start(self, key: tuple[str, str], proc: subprocess.Popen, port: int, token: str) -> None:
        """A server that ends before it answers failed: say why (its log's tail), try again later."""
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not self.stopping.is_set():
            if proc.poll() is not None:
                tail = _tail(servers.server_dir(*key) / "host.log")
                self._failed(key, f"JupyterLab ended as it started (exit code {proc.returncode}): {tail}")
                return
            if servers.status(port, token) is not None:
                return
            time.sleep(0.3)

    def _failed(self, key: tuple[str, str], message: str) -> None:
        count = self.retry.get(key, (0, 0.0))[0]
        self.retry[key] = (count + 1, time.monotonic() + RETRY_S[min(count, len(RETRY_S) - 1)])
        folder = servers.server_dir(*key)
        (folder / "failed.json").write_text(json.dumps({"message": message[-2000:], "at": time.time()}))
        log.error(
            "JupyterLab failed",
            extra={"action": "notebook_failed", "compute": key[1], "reason": message[-500:]},
        )

    def _kernels(self, state: Path, venv: Path, workspace: str) -> Path:
        """Kernel specs in ``state/jupyter/kernels``: the curated environment (``python3``) and every built
        custom environment, each in a layer of this instance's own."""
        from backend.agent.tracking import tracking_uri

        specs = state / "jupyter" / "kernels"
        shutil.rmtree(specs, ignore_errors=True)
        base_site = str(site_packages(venv))
        env = {
            "MLFLOW_TRACKING_URI": tracking_uri(),
            "STUDIO_WORKSPACE": workspace,
            "PYTHONUNBUFFERED": "1",
            # `from studio.ml import MLClient`: Studio's code, its calls through the agent's gateway
            "PYTHONPATH": str(REPO),
            "STUDIO_SDK_SOCKET": str(state / "run" / "sdk.sock"),
        }
        choices = [(CURATED_KERNEL, "Python 3 (curated: AzureML-sklearn-1.5)", venv)]
        choices += _custom_environments(workspace)
        for name, title, base in choices:
            layer = state / "layers" / name
            if not (layer / "bin" / "python").exists():
                shutil.rmtree(layer, ignore_errors=True)
                make_layer(layer, base)
            spec = {
                "argv": [str(layer / "bin" / "python"), "-m", "studio_kernel", "-f", "{connection_file}"],
                "display_name": title,
                "language": "python",
                "env": {**env, "STUDIO_KERNEL_FALLBACK_SITE": base_site},
                "metadata": {"debugger": True},
            }
            (specs / name).mkdir(parents=True)
            (specs / name / "kernel.json").write_text(json.dumps(spec, indent=1))
        return specs.parent

    def _server_command(
        self, venv: Path, root: Path, state: Path, jupyter_path: Path, port: int, workspace: str
    ) -> tuple[list[str], dict[str, str]]:
        from backend.agent.tracking import tracking_uri

        home = state / "home"
        home.mkdir(parents=True, exist_ok=True)
        _default_settings(state / "lab" / "settings")
        env = sandbox.inherited_environment()
        env.update(
            {
                "HOME": str(home),
                "PATH": os.pathsep.join([str(venv / "bin"), env.get("PATH", "/usr/bin:/bin")]),
                "JUPYTER_PATH": str(jupyter_path),
                "JUPYTER_CONFIG_DIR": str(state / "config"),
                "JUPYTER_DATA_DIR": str(state / "data"),
                # Its files hold the token: in the sandbox's private /tmp, gone with it.
                "JUPYTER_RUNTIME_DIR": "/tmp/jupyter"
                if sandbox.status().available
                else str(state / "runtime"),
                "JUPYTERLAB_SETTINGS_DIR": str(state / "lab" / "settings"),
                "JUPYTERLAB_WORKSPACES_DIR": str(state / "lab" / "workspaces"),
                "MLFLOW_TRACKING_URI": tracking_uri(),
                "STUDIO_WORKSPACE": workspace,
                "PYTHONUNBUFFERED": "1",
                "no_proxy": "127.0.0.1,localhost",
            }
        )
        argv = [
            str(venv / "bin" / "python"), "-m", "jupyterlab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={root}", "--ServerApp.allow_remote_access=False",
            f"--MappingKernelManager.default_kernel_name={CURATED_KERNEL}",
            "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabServerApp.extension_manager=readonly",
        ]  # fmt: skip
        if os.geteuid() == 0:  # Studio may run as root (a container); the sandbox has no capabilities anyway
            argv.append("--allow-root")
        extra_ro = [str(p) for p in _custom_venvs(workspace)]
        # Studio's ``studio`` package too (the SDK's client side), wherever the checkout is (even under /tmp)
        readonly = [venv, *extra_ro, REPO / "studio"]
        wrapped = sandbox.wrap(argv, writable=[root, state], readonly=readonly, cwd=root)
        return wrapped, env

    # --- stop and idle ---------------------------------------------------------------------------------

    def stop_server(self, workspace: str, compute: str, *, wait: bool = False) -> None:
        """SIGTERM to the host (it stops JupyterLab and its kernels); waited for in the background."""
        folder = servers.server_dir(workspace, compute)
        pid = _host_pid(folder)
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        log.info("JupyterLab stopping", extra={"action": "notebook_stop", "compute": compute})
        proc = self.hosts.pop((workspace, compute), None)
        if wait and proc is not None:
            proc.wait(STOP_WAIT_S)

    def _check_idle(self, instance: Instance, now: datetime | None) -> None:
        key = (instance.workspace, instance.compute)
        if not instance.idle_minutes:
            return
        if now is None and time.monotonic() - self.idle_checked.get(key, 0.0) < IDLE_CHECK_S:
            return
        self.idle_checked[key] = time.monotonic()
        record = servers.read_record(servers.server_dir(*key))
        if record is None:
            return
        answer = servers.status(record["port"], servers.token_of(record))
        if answer is None:
            return
        idle = idle_for(answer, now or datetime.now(UTC))
        if idle < timedelta(minutes=instance.idle_minutes):
            return
        from backend.services import compute

        with session_scope() as s:
            compute.stop_compute(session=s, workspace=instance.workspace, name=instance.compute)
        minutes = int(idle.total_seconds() // 60)
        log.info(
            "compute instance stopped: idle",
            extra={"action": "instance_idle_stop", "compute": instance.compute, "idle_minutes": minutes},
        )
        with open(servers.server_dir(*key) / "host.log", "a") as out:
            out.write(f"studio: the instance was idle for {minutes} minutes: stopped\n")
        self.stop_server(*key)


# JupyterLab settings an instance starts with (the user may change them): no news prompt (no internet here).
DEFAULT_SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"}}


def _default_settings(folder: Path) -> None:
    for name, values in DEFAULT_SETTINGS.items():
        path = folder / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))


def sdk_socket(workspace: str, compute: str) -> Path:
    """The SDK gateway's socket: in the instance's state folder, which its sandbox (and only it) sees."""
    return servers.state_dir(workspace, compute) / "run" / "sdk.sock"


def _host_pid(folder: Path) -> int | None:
    """The pid of the process that holds the server folder's lock (from /proc/locks' inode)."""
    lock = folder / "lock"
    try:
        inode = lock.stat().st_ino
        entries = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for entry in entries:
        parts = entry.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
        if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5].rsplit(":", 1)[-1] == str(inode):
            return int(parts[4])
    return None


def _tail(path: Path, lines: int = 8) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "no log"


def _custom_environments(workspace: str) -> list[tuple[str, str, Path]]:
    """(kernel name, title, venv) of every custom environment of the workspace whose venv is built."""
    from backend.services import environment_builds

    found = []
    try:
        with session_scope() as s:
            built = environment_builds.built_venvs(session=s, workspace=workspace)
    except Exception:  # kernels of the curated environment still start
        log.exception("custom environments could not be listed for kernels")
        return []
    for name, version, venv in built:
        slug = f"env-{name}-{version}".lower().replace(".", "-")
        found.append((slug, f"Python ({name}:{version})", venv))
    return found


def _custom_venvs(workspace: str) -> list[Path]:
    return [venv for _, _, venv in _custom_environments(workspace)]
