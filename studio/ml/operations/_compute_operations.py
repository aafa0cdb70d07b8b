"""``ml_client.compute``: the compute targets; instances start and stop (with their JupyterLab server)."""

from __future__ import annotations

import time
from typing import Any

from studio.ml.entities import Compute, compute_from_record
from studio.ml.operations._base import _Operations


class ComputeOperations(_Operations):
    def get(self, name: str) -> Compute:
        from backend.services import compute, open_session

        with open_session() as s:
            return compute_from_record(compute.get_compute(session=s, workspace=self._workspace, name=name))

    def list(self) -> list[Compute]:
        from backend.services import compute, open_session

        with open_session() as s:
            return [
                compute_from_record(c) for c in compute.list_computes(session=s, workspace=self._workspace)
            ]

    def begin_start(self, name: str, **kwargs: Any) -> InstancePoller:
        """Start a compute instance; ``result()`` waits until its JupyterLab server answers."""
        return self._change(name, "start_compute", running=True)

    def begin_stop(self, name: str, **kwargs: Any) -> InstancePoller:
        """Stop a compute instance; ``result()`` waits until its JupyterLab server (and kernels) ended."""
        return self._change(name, "stop_compute", running=False)

    def _change(self, name: str, function: str, *, running: bool) -> InstancePoller:
        from backend.services import compute, open_session

        with open_session() as s:
            getattr(compute, function)(session=s, workspace=self._workspace, name=name)
        return InstancePoller(self._workspace, name, running=running)


class InstancePoller:
    """What ``begin_start`` / ``begin_stop`` return, like the cloud's LROPoller: the instance's state is
    set at once; the agent then starts or stops its JupyterLab server, which ``result()`` waits for."""

    POLL_S = 0.5

    def __init__(self, workspace: str, name: str, *, running: bool):
        self._workspace, self._name, self._running = workspace, name, running

    def status(self) -> str:
        from backend.services import notebook_servers, open_session

        with open_session() as s:
            server = notebook_servers.server_for(session=s, workspace=self._workspace, compute=self._name)
        if self._running:
            return {None: "InProgress", "Running": "Succeeded", "Failed": "Failed"}.get(
                server and server.state, "InProgress"
            )
        return "Succeeded" if server is None else "InProgress"

    def done(self) -> bool:
        return self.status() in ("Succeeded", "Failed")

    def result(self, timeout: float | None = 300.0) -> None:
        from backend.errors import StudioError

        deadline = time.monotonic() + (timeout if timeout is not None else 300.0)
        while (state := self.status()) == "InProgress":
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"compute instance {self._name!r} did not {'start' if self._running else 'stop'} in time: is the agent running (studio up)?"
                )
            time.sleep(self.POLL_S)
        if state == "Failed":
            from backend.services import notebook_servers, open_session

            with open_session() as s:
                server = notebook_servers.server_for(session=s, workspace=self._workspace, compute=self._name)
            raise StudioError(f"compute instance {self._name!r}: {server.message if server else 'failed'}")

    wait = result


__all__ = ["ComputeOperations", "InstancePoller"]
