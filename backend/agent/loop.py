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
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

import psutil
from sqlalchemy import update
from sqlmodel import col
from sqlmodel import select as sql_select

from backend import unix_socket
from backend.agent import capacity, ray_runner, remote_exit, runner, standby
from backend.db import session_scope
from backend.db.models import Job, Workspace, utcnow
from backend.services import agents
from backend.services.jobs import job_dir, transition
from backend.settings import get_settings
from backend.statuses import ACTIVE, JobStatus

log = logging.getLogger("studio.agent")

POLL_INTERVAL_S = 1.0
WORKER_THREADS = 4
MAX_RECLAIMS = 3  # an own job left Preparing/Finalizing by an internal error is retried this often
KILL_GRACE_S = 3.0  # SIGTERM first; SIGKILL the group if it is still there after this


def wrapper_alive(pid: int | None, folder) -> bool:
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        cmdline = proc.cmdline()
        for _ in range(20):  # just started: /proc/<pid>/cmdline reads empty for a moment after the exec
            if cmdline:
                break
            time.sleep(0.025)
            cmdline = proc.cmdline()
        return str(folder) in " ".join(cmdline)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


class Agent:
    """One agent. Several may serve one database (``backend.services.agents``): ``name`` labels it,
    ``computes`` limits the queued jobs it claims (None: every compute); the main agent (no name, every
    compute) also runs the online endpoints."""

    def __init__(self, name: str | None = None, computes: list[str] | None = None) -> None:
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:64]
        self.named = name  # None: the studio's main agent (``studio up`` starts it), on ``agent.sock``
        self.name = name or socket.gethostname()
        self.computes = computes
        self._registered = False
        self._beat_at = 0.0
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

    @property
    def serves_endpoints(self) -> bool:
        """Online endpoints are served by the main agent: unnamed, every compute (one router per port)."""
        return self.named is None and self.computes is None

    def serves_notebooks_of(self, compute: str) -> bool:
        """JupyterLab of a compute instance: the main agent's, or that of an agent that names the instance."""
        return compute in self.computes if self.computes is not None else self.serves_endpoints

    def run_once(self) -> None:
        self.next_pass_s = POLL_INTERVAL_S
        self._heartbeat()
        self._reap()
        with session_scope() as s:
            running = s.exec(
                sql_select(Job.id, Job.agent_id).where(
                    col(Job.status).in_((JobStatus.RUNNING, JobStatus.CANCEL_REQUESTED)),
                    Job.type == "command",
                )
            ).all()
            alive = agents.alive_ids(s, {a for _, a in running if a and a != self.id})
        self.finalizing = []  # exited this pass: finalized once this pass's launches are under way
        try:
            for job_id, agent_id in running:
                if agent_id in alive:
                    continue  # another agent's
                if agent_id not in (None, self.id) and not self._take_over(job_id, agent_id):
                    continue
                self._watch(job_id)
            self._recover_orphans()
            with session_scope() as s:
                capacity.scale_clusters(s)
            self._claim_parents()
            for controller in self.controllers:
                controller(self)
            self._start_queued()
        finally:
            for job_id in self.finalizing:
                self._submit(job_id, runner.finalize, job_id, True)

    def _heartbeat(self) -> None:
        import time

        if time.monotonic() - self._beat_at < agents.HEARTBEAT_S:
            return
        with session_scope() as s:
            if self._registered:
                agents.beat(s, self.id)
            else:
                agents.register(s, agent_id=self.id, name=self.name, computes=self.computes)
        self._registered = True
        self._beat_at = time.monotonic()

    def _take_over(self, job_id: int, dead: str) -> bool:
        """A running job of an agent that stopped heartbeating: this agent watches it from now on, through
        its files when both agents share the machine and STUDIO_HOME, or else through its MLflow run
        (``remote_exit``). True when this agent is to watch it."""
        with session_scope() as s:
            row = s.get(Job, job_id)
            taken = s.exec(
                update(Job).where(col(Job.id) == job_id, col(Job.agent_id) == dead).values(agent_id=self.id)
            ).rowcount
            folder = job_dir(s.get(Workspace, row.workspace_id).name, row.name)
            # Followed through the Ray Jobs API, or through its MLflow run already.
            followed = ray_runner.ray_of(row.state) or remote_exit.remote_of(row.state)
            has_run = bool(row.mlflow_run_id)
        if not taken:
            return False
        log.info("job taken over", extra={"action": "job_take_over", "job": job_id, "agent": dead})
        if followed or (folder / "launch.json").exists():
            return True
        if not has_run:
            self._submit(
                job_id,
                runner.fail_running,
                job_id,
                f"its agent {dead} stopped, and the job's process is on another machine or STUDIO_HOME",
            )
            return False
        # Out of reach: its wrapper reports the end on the job's MLflow run (backend/agent/remote_exit.py).
        with session_scope() as s:
            row = s.get(Job, job_id)
            row.state = remote_exit.follow_state(row.state, dead)
            s.add(row)
        runner.system_log(
            folder,
            f"its agent {dead} stopped and its process is on another machine or STUDIO_HOME: agent {self.id} "
            "follows it through its MLflow run; files it writes there (./outputs, outputs) stay there",
        )
        return True

    def _claim_parents(self) -> None:
        """Sweeps and pipelines are advanced by one agent: this one takes those nobody alive advances
        (of its computes, unless it serves every compute)."""
        with session_scope() as s:
            query = sql_select(Job.id, Job.agent_id).where(
                col(Job.type).in_(("sweep", "pipeline")), col(Job.status).in_(ACTIVE)
            )
            if self.computes is not None:
                query = query.where(col(Job.compute).in_(self.computes))
            parents = [(i, a) for i, a in s.exec(query).all() if a != self.id]
            alive = agents.alive_ids(s, {a for _, a in parents if a})
            for job_id, owner in parents:
                if owner is None or owner not in alive:
                    s.exec(
                        update(Job)
                        .where(col(Job.id) == job_id, _same(col(Job.agent_id), owner))
                        .values(agent_id=self.id)
                    )

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
            ray, remote, run_id = (
                ray_runner.ray_of(row.state),
                remote_exit.remote_of(row.state),
                row.mlflow_run_id,
            )
            folder = job_dir(s.get(Workspace, row.workspace_id).name, row.name)
        if ray and not (folder / "exit_code").exists():  # (no transaction open while Ray answers)
            ray_runner.sync(job_id, folder, ray)  # its log, start and end, as a wrapper writes them
        # Its end and log's tail, from its MLflow run; or word that its command never started there.
        never_started = (
            remote
            and not (folder / "exit_code").exists()
            and (remote_exit.sync(job_id, folder, run_id) == remote_exit.NOT_STARTED)
        )
        if never_started:  # prepared again, by whichever agent claims it
            with session_scope() as s:
                state = {k: v for k, v in (s.get(Job, job_id).state or {}).items() if k != "remote"}
                standby.requeue_unstarted(s, job_id, state=state)
            return
        with session_scope() as s:
            row = s.get(Job, job_id)
            if row.start_time is None and (started := runner.read_started(folder)):
                row.start_time = started
                s.add(row)
            status, pid, timeout, start = row.status, row.wrapper_pid, row.spec.get("timeout"), row.start_time
        if ray or remote:
            stop = (lambda: ray_runner.stop(ray)) if ray else None
            self._watch_followed(job_id, stop, folder, status, timeout, start)
            return
        ended = runner.read_exit(folder)
        if status == JobStatus.CANCEL_REQUESTED:
            if ended or not wrapper_alive(pid, folder):
                self.kill_sent.pop(job_id, None)
                self._submit(job_id, runner.settle_canceled, job_id)
            else:
                self._kill(job_id, pid)
            return
        if not ended and start is None and standby.is_standing_by(folder):
            standby.signal_release(folder, pid)  # released, but its go signal was lost (an agent restart)
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
            if start is None and standby.is_standing_by(folder):  # released, then its agent went
                with session_scope() as s:
                    standby.requeue_unstarted(s, job_id)
                return
            self._submit(
                job_id,
                runner.fail_running,
                job_id,
                f"the job's process vanished (wrapper pid {pid}) without writing an exit code",
            )

    def release(self, job_id: int) -> bool:
        """Start a standing-by trial's command now, if its compute has room (``backend.agent.standby``)."""
        with session_scope() as s:
            row = s.get(Job, job_id)
            if row is None or not row.standby or row.agent_id != self.id:  # (its wrapper is ours)
                return False
            folder = job_dir(s.get(Workspace, row.workspace_id).name, row.name)
            room = capacity.capacity(s, row.workspace_id, row.compute) - capacity.busy_nodes(
                s, row.workspace_id, row.compute
            )
            pid = row.wrapper_pid
            if room < row.instance_count or not standby.release(s, row, folder):
                return False
        standby.signal_release(folder, pid)  # committed: the job is Running as its command starts
        return True

    def _watch_followed(self, job_id: int, stop, folder, status: str, timeout, start) -> None:
        """A job with no local process (on a Ray cluster, or followed through its MLflow run): settle its
        end, and on cancel or timeout ``stop`` it (None: it is out of reach, and settled at once)."""
        ended = runner.read_exit(folder)
        if status == JobStatus.CANCEL_REQUESTED:
            if ended or stop is None:
                self.kill_sent.pop(job_id, None)
                reason = "canceled by the user" + (
                    "" if ended else "; its process on another machine was out of reach"
                )
                self._submit(job_id, runner.settle_canceled, job_id, reason)
            elif job_id not in self.kill_sent:
                self.kill_sent[job_id] = 0.0
                stop()
            return
        if ended:
            if runner.begin_finalizing(job_id, ended[0]):
                self.finalizing.append(job_id)
            return
        if timeout and start and utcnow() - start > timedelta(seconds=timeout):
            if stop is not None:
                stop()
            self._submit(
                job_id,
                runner.fail_running,
                job_id,
                f"timeout: the job ran longer than limits.timeout ({timeout} s) and was stopped",
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
                (r.id, r.status, r.agent_id, r.name, s.get(Workspace, r.workspace_id).name, r) for r in rows
            ]
            alive = agents.alive_ids(s, {r.agent_id for r in rows if r.agent_id and r.agent_id != self.id})
        for job_id, status, agent_id, name, workspace, row in orphans:
            if job_id in self.busy or job_id in self.finalizing or agent_id in alive:
                continue
            folder = job_dir(workspace, name)
            if row.standby and row.wrapper_pid:  # prepared, waiting for its release
                if agent_id == self.id and wrapper_alive(row.wrapper_pid, folder):
                    continue
                runner.kill_group(row.wrapper_pid)  # another agent's (it ends by itself), or gone
                with session_scope() as s:
                    standby.requeue(s, job_id)
                continue
            if agent_id == self.id and not self._may_reclaim(job_id, status, folder):
                continue
            with session_scope() as s:
                if status == JobStatus.FINALIZING:
                    # Its end is in its folder, or, out of reach in another home, on its MLflow run.
                    elsewhere = (
                        agent_id != self.id
                        and row.mlflow_run_id
                        and not ray_runner.ray_of(row.state)
                        and not (folder / "launch.json").exists()
                    )
                    transition(
                        session=s,
                        job_id=job_id,
                        from_statuses=(JobStatus.FINALIZING,),
                        to_status=JobStatus.RUNNING,
                        agent_id=self.id,
                        **({"state": remote_exit.follow_state(row.state, agent_id)} if elsewhere else {}),
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
            query = sql_select(Job).where(Job.status == JobStatus.QUEUED, Job.type == "command")
            if self.computes is not None:  # an agent that names its computes claims their jobs only
                query = query.where(col(Job.compute).in_(self.computes))
            queued = s.exec(query.order_by(col(Job.created_at), col(Job.id))).all()
            free: dict[tuple[int, str], int] = {}
            to_start = []
            up: dict[tuple[int, str], bool] = {}
            for row in queued:
                key = (row.workspace_id, row.compute)
                if row.standby:  # a sweep's next trial: prepared now, it takes its compute when released
                    if key not in up:
                        up[key] = capacity.capacity(s, *key) > 0
                    # (on a compute that is up, by the agent that advances the sweep: it releases it)
                    if up[key] and s.get(Job, row.parent_id).agent_id == self.id:
                        to_start.append(row.id)
                    continue
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
        path = get_settings().run_dir / ("agent.sock" if self.named is None else f"agent-{self.named}.sock")
        path.parent.mkdir(parents=True, exist_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            path.unlink(missing_ok=True)
            with unix_socket.address(path) as address:
                sock.bind(address)
        except OSError:
            sock.close()
            return
        self._sock = sock
        runner.WAKE_SOCKET[0] = path  # a job's wrapper wakes the agent that started it

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
        if self.serves_endpoints:
            supervisor.start()
        from backend.agent.notebooks import NotebookSupervisor

        notebooks = NotebookSupervisor(serves=self.serves_notebooks_of)
        if self.serves_endpoints or self.computes:
            notebooks.start()
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
            if self.serves_endpoints:
                supervisor.stop()
            notebooks.stop()  # JupyterLab servers keep running: the next agent adopts them
            self.pool.shutdown(wait=True, cancel_futures=False)
            try:  # the others take up its parent jobs at once
                with session_scope() as s:
                    agents.stop(s, self.id)
            except Exception:
                log.exception("could not record the agent's stop")
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


def _same(column, value):
    return column.is_(None) if value is None else column == value


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
