"""The endpoint supervisor: keeps every managed online deployment's scoring processes running and the
router in front of them up to date (DESIGN.md, Processes).

Each pass reads the serving plan (endpoints, deployments, keys) from the endpoints service and:

- starts ``instance_count`` scoring processes (``backend/runtime/scoring``) for a deployment that has none
  or whose ``generation`` changed: in its environment's venv (built with uv like a job's) or, for an
  ``mlflow_model`` without an environment, the curated base environment; under the same bubblewrap
  sandbox as jobs, with the model and code bound read-only and ``AZUREML_MODEL_DIR`` laid out as the
  cloud lays it out (``azureml-models/<name>/<version>/<model folder or file>``);
- waits until every new instance answers ``/health`` (its ``init()`` returned), then switches the router
  to the new instances and only then stops the old ones, so an update drops no request;
- restarts instances that died, stops those of deleted deployments, and reports each deployment's
  provisioning state (``Creating``/``Updating`` → ``Succeeded`` or ``Failed`` with the reason and the
  log's tail).

The router runs in the agent process (a thread with its own event loop) on ``settings.endpoint_port``.
Keys live in the agent's memory only; nothing here logs them.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from backend import sandbox
from backend.agent.layer import RUNTIME
from backend.agent.router import (
    DeploymentConfig,
    EndpointConfig,
    RouterConfig,
    RunningRouter,
    serve_in_thread,
)
from backend.db import session_scope
from backend.runtime.scoring.http import healthy
from backend.services import endpoint_access, endpoint_runtime, endpoints
from backend.services.endpoint_access import ServedEndpoint
from backend.services.endpoints import DeploymentPublic
from backend.settings import get_settings
from backend.statuses import BuildStatus

log = logging.getLogger(__name__)

PASS_INTERVAL_S = 1.0  # how often the plan is read
READY_TIMEOUT_S = 300.0  # an instance's init() may take this long before the deployment fails
HEALTH_POLL_S = 0.1
STOP_GRACE_S = 5.0  # SIGTERM, then SIGKILL after this (requests in progress finish first)
LOG_TAIL_LINES = 20
MAX_DRAIN_S = 10.0  # replaced instances live on for their request timeout (at most this) after the switch
DRAIN_MARGIN_S = 0.5


class DeploymentFailed(Exception):
    """A deployment could not be started; the message is what its page and CLI show."""


@dataclass
class Instance:
    proc: subprocess.Popen
    port: int
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None


@dataclass
class Running:
    generation: int
    instances: list[Instance]
    config: DeploymentConfig

    def alive(self) -> bool:
        return all(i.alive() for i in self.instances)


@dataclass
class EndpointSupervisor:
    running: dict[tuple[str, str], Running] = field(default_factory=dict)
    failed: dict[tuple[str, str], int] = field(default_factory=dict)  # deployment -> generation that failed
    router: RunningRouter | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    draining: list[Instance] = field(default_factory=list)  # replaced instances, stopped a little later
    _router_warned: bool = False

    # --- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="studio-endpoints", daemon=True)
        thread.start()
        return thread

    def _start_router(self) -> None:
        port, host = get_settings().endpoint_port, get_settings().host
        try:
            self.router = serve_in_thread(RouterConfig(), port=port, host=host)
        except OSError as exc:  # the port is taken (another studio?): say so, and try again next pass
            if not self._router_warned:
                log.error("endpoint router cannot listen on port %s: %s", port, exc)
                self._router_warned = True
            return
        log.info("endpoint router listening", extra={"action": "router_start", "port": self.router.port})

    def run_forever(self) -> None:
        while not self.stopping.is_set():
            try:
                if self.router is None:
                    self._start_router()
                self.run_once()
            except Exception:
                log.exception("endpoint supervisor pass failed")
            self.stopping.wait(PASS_INTERVAL_S)

    def stop(self) -> None:
        """Stop every scoring process and the router (the next agent starts them again)."""
        self.stopping.set()
        for key in list(self.running):
            _stop_all(self.running.pop(key).instances)
        _stop_all(list(self.draining))
        if self.router is not None:
            self.router.stop()
            self.router = None

    # --- one pass --------------------------------------------------------------------------------------

    def run_once(self) -> None:
        with session_scope() as s:
            plan = endpoint_access.serving_plan(session=s)
        wanted = {(e.endpoint.name, d.name): d for e in plan for d in e.deployments}
        for key in [k for k in self.running if k not in wanted]:
            _stop_all(self.running.pop(key).instances)
            log.info("deployment stopped", extra={"action": "deployment_stop", "deployment": "/".join(key)})
        for key, deployment in wanted.items():
            if self.stopping.is_set():
                return
            current = self.running.get(key)
            if current is not None and current.generation == deployment.generation and current.alive():
                continue
            if current is None and self.failed.get(key) == deployment.generation:
                continue  # failed: wait for an update rather than retrying in a loop
            self._replace(plan, key, deployment, current)
        self._publish(plan)

    def _replace(
        self,
        plan: list[ServedEndpoint],
        key: tuple[str, str],
        deployment: DeploymentPublic,
        old: Running | None,
    ) -> None:
        endpoint, name = key
        state = "Creating" if old is None and deployment.provisioning_state == "Creating" else "Updating"
        self._report(endpoint, name, state, None, deployment.generation)
        try:
            new = _start(deployment)
        except DeploymentFailed as exc:
            self.failed[key] = deployment.generation
            log.warning(
                "deployment failed", extra={"action": "deployment_failed", "deployment": f"{endpoint}/{name}"}
            )
            self._report(endpoint, name, "Failed", str(exc), deployment.generation)
            if old is not None and not old.alive():
                _stop_all(self.running.pop(key).instances)
            return
        self.failed.pop(key, None)
        self.running[key] = new
        self._publish(plan)  # the router sends new requests to the new instances ...
        if old is not None:  # ... and the old ones stop once nothing can still be on its way to them
            self._drain(old)
        self._report(endpoint, name, "Succeeded", None, deployment.generation)
        log.info("deployment ready", extra={"action": "deployment_ready", "deployment": f"{endpoint}/{name}"})

    def _drain(self, old: Running) -> None:
        """Stop ``old``'s instances after its longest request could have ended (requests the router
        started before the switch still go to them), without holding up this pass."""
        self.draining.extend(old.instances)
        delay = min(old.config.request_timeout_ms / 1000, MAX_DRAIN_S) + DRAIN_MARGIN_S

        def _later() -> None:
            if not self.stopping.wait(delay):
                _stop_all(old.instances)
            for instance in old.instances:
                if instance in self.draining:
                    self.draining.remove(instance)

        threading.Thread(target=_later, name="studio-endpoint-drain", daemon=True).start()

    def _report(self, endpoint: str, name: str, state: str, error: str | None, generation: int) -> None:
        try:
            which = {"endpoint_name": endpoint, "name": name, "generation": generation}
            with session_scope() as s:
                endpoints.set_deployment_state(session=s, state=state, error=error, **which)
        except Exception:  # deleted meanwhile: the next pass stops it
            log.debug("deployment state not recorded", exc_info=True)

    def _publish(self, plan: list[ServedEndpoint]) -> None:
        if self.router is None:
            return
        configs = {}
        for served in plan:
            e = served.endpoint
            configs[e.name] = EndpointConfig(
                name=e.name,
                deployments={
                    d.name: self.running[(e.name, d.name)].config
                    for d in served.deployments
                    if (e.name, d.name) in self.running
                },
                auth_mode=e.auth_mode,
                primary_key=served.primary_key,
                secondary_key=served.secondary_key,
                token_secret=served.token_secret,
                traffic=dict(e.traffic),
                mirror_traffic=dict(e.mirror_traffic),
            )
        config = RouterConfig(endpoints=configs)
        if config != self.router.router.config:
            self.router.update(config)


# --- starting a deployment ---------------------------------------------------------------------------------


def _start(deployment: DeploymentPublic) -> Running:
    """Start a deployment's instances and wait until each is ready; on failure none is left running."""
    folder = endpoint_runtime.deployment_dir(endpoint=deployment.endpoint_name, deployment=deployment.name)
    work = folder / f"generation-{deployment.generation}"
    if work.exists():
        shutil.rmtree(work)
    (work / "home").mkdir(parents=True)
    try:
        model_dir, model_source = _lay_out_model(deployment, work)
        code = _code(deployment, work)
        python, venv = _python(deployment, model_dir)
    except DeploymentFailed:
        raise
    except Exception as exc:  # a missing model, an unreachable datastore, a failed build: say which
        raise DeploymentFailed(f"preparing failed: {exc}") from None
    instances: list[Instance] = []
    try:
        for index in range(deployment.instance_count):
            instances.append(_launch(deployment, index, python, venv, model_dir, model_source, code, work))
        deadline = time.monotonic() + READY_TIMEOUT_S
        for instance in instances:
            _wait_ready(instance, deadline)
    except BaseException:
        _stop_all(instances)
        raise
    settings = deployment.request_settings
    return Running(
        generation=deployment.generation,
        instances=instances,
        config=DeploymentConfig(
            name=deployment.name,
            instances=tuple(("127.0.0.1", i.port) for i in instances),
            request_timeout_ms=int(settings.get("request_timeout_ms", 5000)),
            max_concurrent_requests_per_instance=int(settings.get("max_concurrent_requests_per_instance", 1)),
        ),
    )


def _lay_out_model(deployment: DeploymentPublic, work: Path) -> tuple[Path | None, Path | None]:
    """``work/azureml-models/<name>/<version>/<folder or file>`` pointing at the model's files, as the
    cloud lays them out under ``AZUREML_MODEL_DIR``; returns (that path, the real files to bind)."""
    if not deployment.model:
        return None, None
    from backend.services import data_assets, models
    from backend.storage import uris

    with session_scope() as s:
        ref = uris.parse_reference(deployment.model, field="model")
        if isinstance(ref, uris.AssetRef):
            model = models.resolve_model_reference(
                session=s, workspace=deployment.workspace, reference=deployment.model
            )
            files, name, version = Path(model.local_path), model.name, model.version
            entries = list(files.iterdir())
            if len(entries) == 1 and entries[0].is_file():  # a one-file model: the file itself
                files = entries[0]
            leaf = files.name if files.is_file() else (model.output or "model")
        else:  # an inline model, uploaded when the deployment was created
            files = Path(str(data_assets.local_copy(session=s, workspace=deployment.workspace, uri=ref.uri)))
            name, version, leaf = deployment.name, "1", files.name
    target = work / "azureml-models" / name / version / leaf
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(files.resolve())
    return target, files.resolve()


def _code(deployment: DeploymentPublic, work: Path) -> Path | None:
    if not deployment.code_uri:
        return None
    from backend.agent.runner import materialize_code

    code = work / "code"
    materialize_code(deployment.workspace, deployment.code_uri, code)
    return code


def _python(deployment: DeploymentPublic, model_dir: Path | None) -> tuple[Path, Path]:
    """The interpreter the scoring processes run with, and its venv: the deployment's environment (built
    if needed), or the curated base environment (it has MLflow, pandas and scikit-learn)."""
    from backend.services import base_environment, environment_builds

    env = deployment.environment or {}
    if env.get("spec_hash"):
        build = environment_builds.build_environment(env["spec_hash"])
        if build.status != BuildStatus.SUCCEEDED:
            raise DeploymentFailed(f"environment build failed: {build.error or 'see the build log'}")
        python = Path(env["python"])
    else:
        python = base_environment.ensure()
    return python, python.parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launch(
    deployment: DeploymentPublic,
    index: int,
    python: Path,
    venv: Path,
    model_dir: Path | None,
    model_source: Path | None,
    code: Path | None,
    work: Path,
) -> Instance:
    port = _free_port()
    argv = [str(python), "-m", "scoring", "--port", str(port)]
    if model_dir is not None:
        argv += ["--model-dir", str(model_dir)]
    if deployment.scoring_script and code is not None:
        argv += ["--code", str(code), "--scoring-script", deployment.scoring_script]
    env = sandbox.inherited_environment()
    env.update(
        {
            "HOME": str(work / "home"),
            "PYTHONPATH": str(RUNTIME),
            "PYTHONUNBUFFERED": "1",
            "AZUREML_DEPLOYMENT_NAME": deployment.name,
            "AZUREML_ENDPOINT_NAME": deployment.endpoint_name,
            **deployment.environment_variables,
        }
    )
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "/usr/bin:/bin")])
    log_path = endpoint_runtime.instance_log(
        endpoint=deployment.endpoint_name, deployment=deployment.name, index=index
    )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    readonly = [venv, *(p for p in (model_source, code) if p is not None)]
    wrapped = sandbox.wrap(argv, writable=[work / "home"], readonly=[work, *readonly], cwd=code or work)
    with open(log_path, "ab") as out:
        out.write(f"--- generation {deployment.generation}, instance {index}, port {port} ---\n".encode())
        out.flush()
        proc = subprocess.Popen(
            wrapped,
            env=env,
            cwd=str(code or work),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    return Instance(proc=proc, port=port, log=log_path)


def _wait_ready(instance: Instance, deadline: float) -> None:
    url = f"http://127.0.0.1:{instance.port}/health"
    while time.monotonic() < deadline:
        if not instance.alive():
            raise DeploymentFailed(
                f"a scoring process exited with code {instance.proc.returncode} before it was ready "
                f"(init() failed?); the end of its log:\n{_tail(instance.log)}"
            )
        if healthy(url):
            return
        time.sleep(HEALTH_POLL_S)
    raise DeploymentFailed(
        f"a scoring process was not ready after {READY_TIMEOUT_S:.0f} s: {_tail(instance.log)}"
    )


def _tail(path: Path) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:])
    except OSError:
        return ""


def _stop_all(instances: list[Instance]) -> None:
    for instance in instances:
        if instance.alive():
            _signal(instance, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for instance in instances:
        try:
            instance.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal(instance, signal.SIGKILL)
            instance.proc.wait()


def _signal(instance: Instance, sig: int) -> None:
    try:
        os.killpg(instance.proc.pid, sig)
    except ProcessLookupError:
        pass
