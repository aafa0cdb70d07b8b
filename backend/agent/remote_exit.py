"""A running job whose agent stopped, on another machine or STUDIO_HOME: followed through its MLflow run.

A job's wrapper writes its exit code into the job folder on its own machine, which an agent elsewhere does
not see. So on a studio database that several machines share (PostgreSQL), the wrapper also reports the
end on the job's MLflow run, which every agent reaches through the tracking server: the tag ``studio.exit``
(``{"code": int, "ended_at": iso}``), with ``studio.log_tail`` (the log's last lines; ``wrapper.py``).
A wrapper that lost its agent before it was told to start reports ``{"not_started": true}`` instead.

An agent that takes over a running job from an agent that stopped heartbeating, and cannot reach the job's
folder, follows that run: each pass (at most every ``READ_EVERY_S``) it reads the tags, and once the job
has ended it writes the exit code and the log's tail into a folder of its own as a wrapper would, so
settling and finalizing (the MLflow run's end, the status) are a local job's. Files the job wrote on its
own machine (``./outputs``, output folders) stay there; the job's log says so. A cancel settles the job
at once: its process is out of this agent's reach.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

EXIT_TAG, LOG_TAG = "studio.exit", "studio.log_tail"
ENDED, NOT_STARTED = "ended", "not started"
READ_EVERY_S = 2.0
log = logging.getLogger("studio.agent.remote")
_read_at: dict[int, float] = {}


def remote_of(state: dict[str, Any] | None) -> dict[str, str] | None:
    return (state or {}).get("remote")


def follow_state(state: dict[str, Any] | None, dead_agent: str) -> dict[str, Any]:
    """The job's state once followed through its run (its process is with ``dead_agent``'s machine)."""
    return {**(state or {}), "remote": {"agent": dead_agent}}


def sync(job_id: int, folder: Path, run_id: str) -> str | None:
    """Write the job's end into ``folder`` once its run says it ended (``ENDED``); ``NOT_STARTED`` when
    its wrapper lost its agent before the go signal (the command never ran: the job is to be prepared
    again); None while it runs."""
    if time.monotonic() - _read_at.get(job_id, 0.0) < READ_EVERY_S:
        return None
    _read_at[job_id] = time.monotonic()
    try:
        tags = _tags(run_id)
    except Exception as exc:  # the tracking server restarting: the next pass reads again
        log.warning("cannot read the run of job %s: %s", job_id, exc)
        return None
    ended = tags.get(EXIT_TAG)
    if not ended:
        return None
    data = json.loads(ended)
    _read_at.pop(job_id, None)
    if data.get("not_started"):
        return NOT_STARTED
    logs = folder / "user_logs" / "std_log.txt"
    logs.parent.mkdir(parents=True, exist_ok=True)
    if not logs.exists():
        logs.write_text(tags.get(LOG_TAG, ""))
    _write_atomic(folder / "exit_code", json.dumps({"code": int(data["code"]), "ended_at": data["ended_at"]}))
    return ENDED


def _tags(run_id: str) -> dict[str, str]:
    import requests

    from backend.agent import tracking

    reply = requests.get(
        f"{tracking.tracking_uri().rstrip('/')}/api/2.0/mlflow/runs/get",
        params={"run_id": run_id},
        timeout=10,
    )
    reply.raise_for_status()
    return {t["key"]: t["value"] for t in reply.json()["run"]["data"].get("tags", [])}


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)
