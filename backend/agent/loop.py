"""The agent: the only process that launches and supervises work.

``Agent.run_once()`` does one pass (tests call it directly); ``run_forever()`` repeats it, waking on a
datagram from a submitter (``backend.services.jobs.wake_agent``) or after ``POLL_INTERVAL_S``.
Preparing and finalizing run in a small thread pool so a slow environment build never stalls the loop.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import socket
import subprocess
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

import psutil
from sqlmodel import col
from sqlmodel import select as sql_select

from backend.agent import capacity, runner
from backend.db import session_scope
from backend.db.models import Job, Workspace, utcnow
from backend.services.jobs import job_dir, transition
from backend.settings import get_settings
from backend.statuses import JobStatus

log = logging.getLogger("studio.agent")

POLL_INTERVAL_S = 1.0
WORKER_THREADS = 4
MAX_RECLAIMS = 3  # an own job left Preparing/Finalizing by an internal error is retried this often
KILL_GRACE_S = 3.0  # SIGTERM first; SIGKILL the group if it is still there after this


def _agent_alive(agent_id: str | None) -> bool:
    if not agent_id:
        return False
    try:
        pid = int(agent_id.split(":")[1])
    except (IndexError, ValueError):
        return False
    return pid != os.getpid() and psutil.pid_exists(pid)


def wrapper_alive(pid: int | None, folder) -> bool:
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return str(folder) in " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


class Agent:
    def __init__(self) -> None:
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.pool = ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="studio-agent")
        self.busy: dict[int, Future] = {}  # job id -> its prepare/finalize task
        self.children: dict[int, subprocess.Popen] = {}  # wrappers this agent started (reaped here)
        self.kill_sent: dict[int, float] = {}
        self.reclaims: dict[int, int] = {}  # job id -> times this agent took it up again
        self.controllers = _controllers()
        self._sock: socket.socket | None = None
        self.stopping = False
        self.next_pass_s = POLL_INTERVAL_S  # a controller may ask for the next pass sooner (pass_within)
        self.finalizing: list[int] = []

    # --- one pass ---------------------------------------------------------------------------------------

    def run_once(self) -> None:
        self.next_pass_s = POLL_INTERVAL_S
        self._reap()
        with session_scope() as s:
            running = s.exec(
                sql_select(Job.id).where(
                    col(Job.status).in_((JobStatus.RUNNING, JobStatus.CANCEL_REQUESTED)),
                    Job.type == "command",
                )
            ).all()
        self.finalizing = []  # exited this pass: finalized once this pass's launches are under way
        try:
            for job_id in running:
                self._watch(job_id)
            self._recover_orphans()
            with session_scope() as s:
                capacity.scale_clusters(s)
            for controller in self.controllers:
                controller(self)
            self._start_queued()
        finally:
            for job_id in self.finalizing:
                self._submit(job_id, runner.finalize, job_id, True)

    def _submit(self, job_id: int, fn, *args) -> None:
        if job_id in self.busy and not self.busy[job_id].done():
            return

        def _task():
            try:
                result = fn(*args)
                if isinstance(result, subprocess.Popen):
                    self.children[job_id] = result
            except Exception:
                log.exception("agent task failed", extra={"job": job_id})
            finally:
                from backend.services.jobs import wake_agent

                wake_agent()

        self.busy[job_id] = self.pool.submit(_task)

    def _reap(self) -> None:
        for job_id, proc in list(self.children.items()):
            if proc.poll() is not None:
                del self.children[job_id]
        for job_id, fut in list(self.busy.items()):
            if fut.done():
                del self.busy[job_id]

    def _watch(self, job_id: int) -> None:
        """A running job: record its start, settle its end, enforce cancel and timeout, notice a lost process."""
        if job_id in self.busy:
            with (
                session_scope() as s
            ):  # canceled while preparing: settle now; the preparing task stops itself
                row = s.get(Job, job_id)
                if row.status == JobStatus.CANCEL_REQUESTED and row.wrapper_pid is None:
                    transition(
                        session=s,
                        job_id=job_id,
                        from_statuses=(JobStatus.CANCEL_REQUESTED,),
                        to_status=JobStatus.CANCELED,
                        end_time=utcnow(),
                        failure_reason="canceled by the user while preparing",
                    )
            return
        with session_scope() as s:
            row = s.get(Job, job_id)
            workspace = s.get(Workspace, row.workspace_id).name
            folder = job_dir(workspace, row.name)
            if row.start_time is None and (started := runner.read_started(folder)):
                row.start_time = started
                s.add(row)
            status, pid, timeout, start = row.status, row.wrapper_pid, row.spec.get("timeout"), row.start_time
        ended = runner.read_exit(folder)
        if status == JobStatus.CANCEL_REQUESTED:
            if ended or not wrapper_alive(pid, folder):
                self.kill_sent.pop(job_id, None)
                self._submit(job_id, runner.settle_canceled, job_id)
            else:
                self._kill(job_id, pid)
            return
        if ended:  # Finalizing now (its compute is free for this pass's launches), the rest in the pool
            if runner.begin_finalizing(job_id, ended[0]):
                self.finalizing.append(job_id)
            return
        if timeout and start and utcnow() - start > timedelta(seconds=timeout):
            self._kill(job_id, pid, force=True)
            self._submit(
                job_id,
                runner.fail_running,
                job_id,
                f"timeout: the job ran longer than limits.timeout ({timeout} s) and was stopped",
            )
            return
        if not wrapper_alive(pid, folder) and not runner.read_exit(folder):
            self._submit(
                job_id,
                runner.fail_running,
                job_id,
                f"the job's process vanished (wrapper pid {pid}) without writing an exit code",
            )

    def pass_within(self, seconds: float) -> None:
        """A controller wants the next pass within ``seconds`` (a sweep's policy reading metrics)."""
        self.next_pass_s = min(self.next_pass_s, seconds)

    def stop_process(self, job_id: int, pid: int) -> None:
        """Signal a job that was just canceled now, not on the next pass (which goes on from here)."""
        self._kill(job_id, pid)

    def _kill(self, job_id: int, pid: int | None, force: bool = False) -> None:
        import time

        if not pid:
            return
        first = self.kill_sent.setdefault(job_id, time.monotonic())
        late = time.monotonic() - first > KILL_GRACE_S
        runner.kill_group(pid, signal.SIGKILL if (force or late) else signal.SIGTERM)

    def _recover_orphans(self) -> None:
        """Jobs left Preparing or Finalizing with nobody working on them: a dead agent's, or ours when
        the task that had them ended without settling them (an internal error). Adopt, redo or settle."""
        with session_scope() as s:
            rows = s.exec(
                sql_select(Job).where(
                    col(Job.status).in_((JobStatus.PREPARING, JobStatus.FINALIZING)), Job.type == "command"
                )
            ).all()
            orphans = [
                (r.id, r.status, r.agent_id, r.name, s.get(Workspace, r.workspace_id).name) for r in rows
            ]
        for job_id, status, agent_id, name, workspace in orphans:
            if (
                job_id in self.busy
                or job_id in self.finalizing
                or (agent_id != self.id and _agent_alive(agent_id))
            ):
                continue
            folder = job_dir(workspace, name)
            if agent_id == self.id and not self._may_reclaim(job_id, status, folder):
                continue
            with session_scope() as s:
                if status == JobStatus.FINALIZING:
                    transition(
                        session=s,
                        job_id=job_id,
                        from_statuses=(JobStatus.FINALIZING,),
                        to_status=JobStatus.RUNNING,
                        agent_id=self.id,
                    )
                    continue
                pid = _read_pid(folder) or _find_wrapper(folder)
                if pid and (wrapper_alive(pid, folder) or runner.read_exit(folder)):  # started: adopt it
                    after = {"to_status": JobStatus.RUNNING, "wrapper_pid": pid, "agent_id": self.id}
                else:  # never started: prepare it again
                    after = {"to_status": JobStatus.QUEUED, "agent_id": None}
                transition(session=s, job_id=job_id, from_statuses=(JobStatus.PREPARING,), **after)

    def _may_reclaim(self, job_id: int, status: str, folder) -> bool:
        """Take up an own job again, or fail it once that has not worked ``MAX_RECLAIMS`` times."""
        self.reclaims[job_id] = self.reclaims.get(job_id, 0) + 1
        if self.reclaims[job_id] <= MAX_RECLAIMS:
            runner.system_log(folder, f"{status.lower()} did not finish; the agent takes the job up again")
            return True
        step = "preparing" if status == JobStatus.PREPARING else "finalizing"
        reason = f"{step} failed {MAX_RECLAIMS} times inside Studio (see the agent's log)"
        runner.system_log(folder, reason)
        with session_scope() as s:
            transition(
                session=s,
                job_id=job_id,
                from_statuses=(status,),
                to_status=JobStatus.FAILED,
                end_time=utcnow(),
                failure_reason=reason,
            )
        return False

    def _start_queued(self) -> None:
        with session_scope() as s:
            queued = s.exec(
                sql_select(Job)
                .where(Job.status == JobStatus.QUEUED, Job.type == "command")
                .order_by(col(Job.created_at), col(Job.id))
            ).all()
            free: dict[tuple[int, str], int] = {}
            to_start = []
            for row in queued:
                key = (row.workspace_id, row.compute)
                if key not in free:
                    free[key] = capacity.capacity(s, *key) - capacity.busy_nodes(s, *key)
                if free[key] >= row.instance_count:
                    free[key] -= row.instance_count
                    to_start.append(row.id)
            claimed = [
                job_id
                for job_id in to_start
                if transition(
                    session=s,
                    job_id=job_id,
                    from_statuses=(JobStatus.QUEUED,),
                    to_status=JobStatus.PREPARING,
                    agent_id=self.id,
                )
            ]
        for job_id in claimed:
            log.info("job claimed", extra={"action": "job_claim", "job": job_id})
            self._submit(job_id, runner.prepare, job_id)

    # --- forever ----------------------------------------------------------------------------------------

    def _open_wake_socket(self) -> None:
        path = get_settings().run_dir / "agent.sock"
        path.parent.mkdir(parents=True, exist_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            path.unlink(missing_ok=True)
            sock.bind(str(path))
        except OSError:
            sock.close()
            return
        self._sock = sock

    def _wait(self, seconds: float) -> None:
        if self._sock is None:
            import time

            time.sleep(seconds)
            return
        ready, _, _ = select.select([self._sock], [], [], seconds)
        if ready:
            while True:  # drain every pending wake-up: one pass serves them all
                try:
                    self._sock.recv(64, socket.MSG_DONTWAIT)
                except (BlockingIOError, OSError):
                    break

    def run_forever(self) -> None:
        import faulthandler

        from backend.db import ensure_schema

        faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <agent pid>` prints every thread's stack
        ensure_schema()
        # What the first job would otherwise wait for: the sandbox probe, the modules a job's preparation
        # imports, and the curated base environment (built once).
        threading.Thread(target=_warm_up, name="studio-agent-warm-up", daemon=True).start()
        self._open_wake_socket()
        from backend.agent.endpoint_supervisor import EndpointSupervisor

        supervisor = EndpointSupervisor()
        supervisor.start()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: setattr(self, "stopping", True))
        log.info("agent started", extra={"action": "agent_start", "agent": self.id})
        try:
            while not self.stopping:
                try:
                    self.run_once()
                except Exception:
                    log.exception("agent pass failed")
                self._wait(self.next_pass_s)
        finally:
            # Running wrappers keep running: the next agent adopts them. Tasks in flight finish first.
            # Scoring processes stop with the agent; the next agent starts them again.
            supervisor.stop()
            self.pool.shutdown(wait=True, cancel_futures=False)
            if self._sock is not None:
                self._sock.close()


def _warm_up() -> None:
    from backend import sandbox
    from backend.services import base_environment

    sandbox.status()
    try:
        import requests  # noqa: F401  (MLflow's REST API)

        from backend.agent import layer  # noqa: F401
        from backend.services import data_assets, datastores, environments  # noqa: F401
        from backend.specs import job  # noqa: F401
    except ImportError:  # the first job says what is missing
        pass
    try:  # a read of the tracking server, so its workers have served a request before the first job's
        from backend.agent import tracking

        for _ in range(2):
            tracking.experiment_id_if_any("Default")
    except Exception:
        pass
    try:
        base_environment.ensure()
    except Exception:  # the first job that needs it tries again and fails with the build's reason
        log.exception("the curated base environment could not be built")


def _read_pid(folder) -> int | None:
    try:
        return int((folder / "wrapper.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _find_wrapper(folder) -> int | None:
    """The wrapper of a job whose agent died just after starting it, before ``wrapper.pid`` was written:
    found by its command line, so the job is adopted rather than started a second time."""
    if not (folder / "launch.json").exists():  # written before the wrapper starts
        return None
    for proc in psutil.process_iter(["cmdline"]):
        argv = proc.info["cmdline"] or []
        if len(argv) >= 2 and argv[-1] == str(folder) and argv[-2].endswith("wrapper.py"):
            return proc.pid
    return None


def _controllers() -> list:
    """Controllers of parent jobs (sweeps, pipelines): each is called once per pass with the agent."""
    import importlib
    import importlib.util

    found = []
    for module in ("backend.agent.sweep_controller", "backend.agent.pipeline_controller"):
        if importlib.util.find_spec(module):
            found.append(importlib.import_module(module).step)
    return found
