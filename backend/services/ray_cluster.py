"""An attached Ray cluster, through the Ray Jobs API (``ray.job_submission``; the optional ``ray`` extra).

Studio submits a job's command as a Ray job's entrypoint, reads its status and logs, and stops it; the
cluster's CPUs are the compute's capacity (one CPU reserved per node a job asks for). Clients are kept per
address; a Ray Client address (``ray://head:10001``) is turned into the Jobs API URL once, by Ray itself.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from backend.errors import StudioError

CAPACITY_TTL_S = 5.0  # the cluster's CPUs are read at most this often per address
TIMEOUT_S = 10.0
_clients: dict[str, Any] = {}
_capacity: dict[str, tuple[float, int]] = {}
_lock = threading.Lock()


class RayUnavailable(StudioError):
    """Ray is not installed here, or the cluster does not answer."""


def client(address: str):
    """The Jobs API client of a cluster (made once per address)."""
    with _lock:
        if address in _clients:
            return _clients[address]
    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError:
        raise RayUnavailable(
            "a Ray compute needs Ray on the machine that runs the agent: pip install -e '.[ray]'"
        ) from None
    try:
        made = JobSubmissionClient(address)
    except Exception as exc:
        raise RayUnavailable(f"the Ray cluster at {address} does not answer: {_first_line(exc)}") from None
    with _lock:
        _clients[address] = made
    return made


def api_url(address: str) -> str:
    """The cluster's Jobs API (dashboard) URL, ``http://head:8265``."""
    return client(address).get_address().rstrip("/")


def cpus(address: str) -> int:
    """The cluster's CPUs now (0 when it does not answer), read at most every ``CAPACITY_TTL_S``."""
    import requests

    now = time.monotonic()
    cached = _capacity.get(address)
    if cached and now - cached[0] < CAPACITY_TTL_S:
        return cached[1]
    try:
        reply = requests.get(f"{api_url(address)}/api/cluster_status", timeout=TIMEOUT_S)
        reply.raise_for_status()
        usage = reply.json()["data"]["clusterStatus"]["loadMetricsReport"]["usage"]
        found = int(usage.get("CPU", [0, 0])[1])
    except Exception:
        found = 0
    _capacity[address] = (now, found)
    return found


NOT_READY = "No available agent to submit job"  # the head's job agent still starting: ask again
SUBMIT_RETRY_S = 60.0


def submit(
    address: str, *, submission_id: str, entrypoint: str, runtime_env: dict[str, Any], cpus_: int
) -> str:
    """Submit a Ray job; a head whose job agent is not up yet ("try again later") is asked again for up to
    ``SUBMIT_RETRY_S``."""
    deadline = time.monotonic() + SUBMIT_RETRY_S
    while True:
        try:
            return client(address).submit_job(
                entrypoint=entrypoint,
                submission_id=submission_id,
                runtime_env=runtime_env,
                entrypoint_num_cpus=cpus_,
                metadata={"studio.job": submission_id, "studio.cpus": str(cpus_)},
            )
        except RayUnavailable:
            raise
        except Exception as exc:
            if NOT_READY in str(exc) and time.monotonic() < deadline:
                time.sleep(1.0)
                continue
            raise StudioError(f"the Ray cluster at {address} refused the job: {_first_line(exc)}") from None


def info(address: str, submission_id: str):
    """The Ray job's ``JobInfo`` (status, message, driver exit code, start and end in ms)."""
    return client(address).get_job_info(submission_id)


def logs(address: str, submission_id: str) -> str:
    return client(address).get_job_logs(submission_id)


def stop(address: str, submission_id: str) -> None:
    try:
        client(address).stop_job(submission_id)
    except Exception:
        pass  # already ended, or the cluster is gone: the next status read tells


def forget(address: str) -> None:
    """Drop the cached client and capacity of an address (a cluster restarted elsewhere, tests)."""
    with _lock:
        _clients.pop(address, None)
        _capacity.pop(address, None)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
