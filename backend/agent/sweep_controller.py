"""The sweep controller: one ``step`` per agent pass for every active sweep.

It starts the sweep's MLflow run, reads each trial's primary metric as it is logged, applies the
early-termination policy, keeps ``max_concurrent_trials`` trials going until ``max_total_trials``, the
sweep's ``timeout`` or the end of a grid, and settles the sweep. All it knows is in the database
(the sweep row's spec and state, the trial rows), so a restarted agent resumes where the last one was.

Each pass reads in one short transaction, does its slow work (MLflow over HTTP, sampling) holding
nothing, and writes what changed in another short transaction; a pass with nothing to do writes
nothing. So a sweep whose trials wait for compute costs a read per pass, and never holds the
database's write lock while it waits on the network.

What a trial costs beyond its own run time is kept off the path between trials: a trial stops holding
one of ``max_concurrent_trials`` as soon as its process has exited (Finalizing: its outputs and MLflow
run are still being written, and the next trial starts meanwhile), and a trial the policy stops is
signalled in the pass that decided it (SIGTERM to its process group; the wrapper reports the exit and
wakes the agent), so stopping a trial costs about what a trial's normal end does. While a policy
watches running trials, the agent comes back every ``POLICY_POLL_S`` to read their metrics.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from backend.agent import parent_jobs, ray_runner
from backend.agent.parent_jobs import ParentSnapshot
from backend.db import session_scope
from backend.db.models import Job, Workspace, utcnow
from backend.services import jobs, sweeps
from backend.statuses import TERMINAL, JobStatus
from backend.sweep.policies import TrialCurve, make_policy
from backend.sweep.samplers import Finished, make_sampler
from backend.sweep.space import parse_space

log = logging.getLogger("studio.agent.sweep")
METRIC_POLL_S = 1.0  # how often running trials' metrics are read from MLflow (for the sweep's view)
POLICY_POLL_S = 0.5  # ... when an early-termination policy decides on them (the agent passes this often)
TRIALS_PER_PASS = 32  # at most this many trials are queued in one pass (one short transaction)
_last_poll: dict[int, float] = {}


@dataclass(frozen=True)
class _Trial:
    """What the controller needs of a trial row, read once per pass."""

    id: int
    name: str
    status: str
    run_id: str | None
    cancel_requested: bool
    wrapper_pid: int | None = None
    standby: bool = False  # prepared ahead, not released into a slot yet (``backend.agent.standby``)


@dataclass
class _Sweep(ParentSnapshot):
    spec: dict[str, Any]
    start_time: datetime | None
    trials: list[_Trial]
    on_ray: bool = False  # its trials run on an attached Ray cluster

    @property
    def active(self) -> list[_Trial]:
        return [t for t in self.trials if t.status not in TERMINAL]


def step(agent) -> None:
    owner = getattr(agent, "id", None)  # an agent advances the sweeps it has claimed (None: all)
    with session_scope() as s:
        ids = [r.id for r in sweeps.running_sweeps(s) if owner is None or r.agent_id == owner]
    for sweep_id in ids:
        try:
            _advance(sweep_id, agent)
        except Exception:
            log.exception("sweep step failed", extra={"job": sweep_id})


def _read(sweep_id: int) -> _Sweep:
    with session_scope() as s:
        row = s.get(Job, sweep_id)
        children = s.exec(select(Job).where(Job.parent_id == sweep_id).order_by(col(Job.id))).all()
        return _Sweep(
            id=row.id,
            name=row.name,
            workspace=s.get(Workspace, row.workspace_id).name,
            status=row.status,
            spec=row.spec,
            state=copy.deepcopy(dict(row.state or {})),
            start_time=row.start_time,
            on_ray=ray_runner.target_of(s, row) is not None,
            trials=[
                _Trial(
                    c.id,
                    c.name,
                    c.status,
                    c.mlflow_run_id,
                    bool(c.cancel_requested),
                    c.wrapper_pid,
                    c.standby,
                )
                for c in children
            ],
        )


def _metric_history(run_id: str, metric: str) -> list[float]:
    from backend.agent import tracking

    return tracking.metric_history(run_id, metric)


def _holds_slot(trial: _Trial, algorithm: str) -> bool:
    """Whether a trial counts against ``max_concurrent_trials``: from its release (a standby) or its
    queueing until its process has exited. A bayesian sweep learns from finished trials, so there a trial
    holds its slot until it has settled."""
    return not trial.standby and (trial.status != JobStatus.FINALIZING or algorithm == "bayesian")


def _ahead(sweep: _Sweep, agent) -> int:
    """How many trials are made ready ahead of a free slot: one, unless the sampler learns from finished
    trials (bayesian) or the agent cannot release a standby (``Agent.release``)."""
    if sweep.spec["algorithm"] == "bayesian" or not hasattr(agent, "release") or sweep.on_ray:
        return 0  # (a Ray cluster's jobs have no local wrapper to hold ready)
    return 1


def _has_room(sweep: _Sweep, state: dict, ahead: int) -> bool:
    """Whether this pass will queue a trial (a slot, or the standby's place, is free and the sweep has
    trials to go)."""
    limits = sweep.spec["limits"]
    occupied = [t for t in sweep.active if t.standby or _holds_slot(t, sweep.spec["algorithm"])]
    return (
        not state.get("stopped")
        and not state.get("exhausted")
        and len(occupied) < limits["max_concurrent_trials"] + ahead
        and len(state.get("trials", [])) < limits["max_total_trials"]
    )


def _advance(sweep_id: int, agent=None) -> None:
    sweep = _read(sweep_id)
    if sweep.status == JobStatus.QUEUED:
        if not _start(sweep):
            return
        sweep = _read(sweep_id)  # Running now: its first trials are queued in this same pass
    if sweep.status == JobStatus.CANCEL_REQUESTED:
        with session_scope() as s:
            for trial in sweep.active:
                jobs.cancel_job(session=s, workspace=sweep.workspace, name=trial.name)
        if not sweep.active:
            _finish(sweep, JobStatus.CANCELED, "canceled by the user")
        return

    state = copy.deepcopy(sweep.state)
    spec, limits = sweep.spec, sweep.spec["limits"]
    policy = bool(spec.get("early_termination"))
    every = POLICY_POLL_S if policy else METRIC_POLL_S
    ahead = _ahead(sweep, agent)
    released = _release(sweep, agent, set(), set()) if ahead and not state.get("stopped") else set()
    if policy or spec["algorithm"] == "bayesian" or not _has_room(sweep, state, ahead):
        _read_curves(state, sweep.trials, spec["objective"]["primary_metric"], sweep.id, every)  # HTTP
    # else the curves decide nothing: fill the free slot first, read them on the next pass (the launch
    # wakes the agent)
    if policy and any(t.status == JobStatus.RUNNING for t in sweep.trials):
        _pass_within(agent, every)
    decisions = _decide(sweep, state)
    timed_out = (
        limits.get("timeout")
        and sweep.start_time
        and utcnow() - _aware(sweep.start_time) > timedelta(seconds=limits["timeout"])
        and not state.get("stopped")
    )
    if timed_out:
        state["stopped"] = f"the sweep reached its timeout ({limits['timeout']} s)"
    canceling = {d["trial"] for d in decisions} | ({t.name for t in sweep.active} if timed_out else set())
    if ahead and not state.get("stopped"):  # the slots of trials the policy stops, too
        released |= _release(sweep, agent, canceling, released)
    running = len(
        [
            t
            for t in sweep.active
            if t.name not in canceling and (_holds_slot(t, spec["algorithm"]) or t.name in released)
        ]
    )
    waiting = len([t for t in sweep.active if t.standby and t.name not in canceling | released])
    new_trials = [] if state.get("stopped") else _sample(sweep, state, running, waiting, ahead)

    if decisions or timed_out or new_trials or state != sweep.state:
        with session_scope() as s:  # one short write: cancels, new trials, state
            row = s.get(Job, sweep.id)
            for decision in decisions:
                _cancel_by_policy(s, sweep.workspace, decision)
                state.setdefault("decisions", []).append(decision)
            if timed_out:
                for trial in sweep.active:
                    _cancel_quietly(s, sweep.workspace, trial.name)
            for index, params, ready_ahead in new_trials:
                child = sweeps.create_trial(
                    session=s,
                    sweep=row,
                    index=index,
                    params=params,
                    workspace=sweep.workspace,
                    standby=ready_ahead,
                )
                state.setdefault("trials", []).append({"name": child.name, "index": index, "params": params})
            row.state = state
            s.add(row)
        _stop_now(agent, [t for t in sweep.active if t.name in canceling])  # committed: signal them now

    # Settle once every trial has ended and no more will start (a pass that just canceled or queued
    # trials waits for the next one, which sees them end).
    if new_trials or decisions or timed_out or sweep.active:
        return
    if (
        state.get("stopped")
        or state.get("exhausted")
        or len(state.get("trials", [])) >= limits["max_total_trials"]
    ):
        if any(t.status == JobStatus.COMPLETED for t in sweep.trials) or not sweep.trials:
            _finish(_read(sweep.id), JobStatus.COMPLETED, state.get("stopped"))
        else:
            _finish(_read(sweep.id), JobStatus.FAILED, "no trial completed")


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _start(sweep: _Sweep) -> bool:
    """Create the sweep's MLflow run (no transaction open while MLflow answers), then mark it Running."""
    with session_scope() as s:
        row = s.get(Job, sweep.id)
        tags = {
            "studio.job": row.name,
            "studio.workspace": sweep.workspace,
            "studio.type": "sweep",
            **{k: str(v) for k, v in (row.tags or {}).items()},
        }
        experiment, run_name = row.experiment_name, row.display_name or row.name
    return parent_jobs.start(sweep.id, experiment=experiment, run_name=run_name, tags=tags)


def _release(sweep: _Sweep, agent, canceling: set[str], released: set[str]) -> set[str]:
    """Start standing-by trials in the slots free now (a trial's exit, or one being stopped, frees one):
    the names released. A standby not ready yet is released by the pass its preparation wakes."""
    algorithm = sweep.spec["algorithm"]
    holding = [
        t
        for t in sweep.active
        if t.name not in canceling and (_holds_slot(t, algorithm) or t.name in released)
    ]
    free = sweep.spec["limits"]["max_concurrent_trials"] - len(holding)
    found = set()
    for trial in sweep.active:
        if free <= 0:
            break
        if (
            trial.standby
            and trial.name not in canceling | released
            and trial.status == JobStatus.PREPARING
            and trial.wrapper_pid
            and agent.release(trial.id)
        ):
            found.add(trial.name)
            free -= 1
    return found


def _pass_within(agent, seconds: float) -> None:
    """Ask the agent for its next pass within ``seconds`` (an agent without the means ignores it)."""
    if hasattr(agent, "pass_within"):
        agent.pass_within(seconds)


def _stop_now(agent, trials: list[_Trial]) -> None:
    """Signal canceled trials' process groups at once (the agent's next pass does it otherwise)."""
    if hasattr(agent, "stop_process"):
        for trial in trials:
            if trial.wrapper_pid and trial.status == JobStatus.RUNNING:
                agent.stop_process(trial.id, trial.wrapper_pid)


def _read_curves(
    state: dict, trials: list[_Trial], metric: str, sweep_id: int, every: float = METRIC_POLL_S
) -> None:
    """Primary-metric values per trial; finished trials are read once more after they end, then kept."""
    curves = state.setdefault("curves", {})
    final = state.setdefault("final", [])
    now = time.monotonic()
    poll_running = now - _last_poll.get(sweep_id, 0) >= every * 0.9  # a pass may come a little early
    if poll_running:
        _last_poll[sweep_id] = now
    for trial in trials:
        if not trial.run_id or trial.name in final:
            continue
        ended = trial.status in TERMINAL
        if ended or (poll_running and trial.status in (JobStatus.RUNNING, JobStatus.FINALIZING)):
            try:
                values = _metric_history(trial.run_id, metric)
            except Exception as exc:  # MLflow briefly unreachable: try again next pass
                log.warning("cannot read metrics of %s: %s", trial.name, exc)
                continue
            if values or trial.name in curves:
                curves[trial.name] = values
            if ended:
                final.append(trial.name)


def _decide(sweep: _Sweep, state: dict) -> list[dict[str, Any]]:
    """The policy's cancel decisions for trials still running (pure: nothing is written here)."""
    policy = make_policy(sweep.spec.get("early_termination"))
    if policy is None:
        return []
    order = {t["name"]: t["index"] for t in state.get("trials", [])}
    curves = [
        TrialCurve(
            t.name,
            state["curves"].get(t.name, []),
            running=t.status not in TERMINAL,
            order=order.get(t.name, 0),
        )
        for t in sweep.trials
    ]
    by_name = {t.name: t for t in sweep.trials}
    found = []
    for decision in policy.decide(curves, sweep.spec["objective"]["goal"]):
        trial = by_name[decision.trial]
        if trial.status in TERMINAL or trial.cancel_requested:
            continue
        found.append(
            {
                "trial": trial.name,
                "policy": decision.policy,
                "interval": decision.interval,
                "reason": decision.reason,
                "numbers": decision.numbers,
            }
        )
    return found


def _cancel_by_policy(s, workspace: str, decision: dict[str, Any]) -> None:
    child = jobs.get_job_row(session=s, workspace=workspace, name=decision["trial"])
    if child.status in TERMINAL or child.cancel_requested:
        return
    record = {k: decision[k] for k in ("policy", "interval", "reason", "numbers")}
    child.state = {**(child.state or {}), "canceled_by": record}
    child.failure_reason = f"Canceled by the {decision['reason']}"
    s.add(child)
    s.flush()
    jobs.cancel_job(session=s, workspace=workspace, name=child.name)
    log.info("trial canceled by policy", extra={"action": "policy_cancel", "job": child.name})


def _cancel_quietly(s, workspace: str, name: str) -> None:
    child = jobs.get_job_row(session=s, workspace=workspace, name=name)
    if child.status not in TERMINAL:
        jobs.cancel_job(session=s, workspace=workspace, name=name)


def _sample(
    sweep: _Sweep, state: dict, running: int, waiting: int, ahead: int
) -> list[tuple[int, dict[str, Any], bool]]:
    """The next trials' (index, sampled values, standby), enough to keep ``max_concurrent_trials`` going
    (``running`` hold slots, ``waiting`` stand by) and ``ahead`` more ready for the next free slot."""
    spec, limits = sweep.spec, sweep.spec["limits"]
    trials = state.setdefault("trials", [])
    slots = max(0, limits["max_concurrent_trials"] - running - waiting)  # queued for compute as any job
    room = min(
        limits["max_concurrent_trials"] + ahead - running - waiting,
        limits["max_total_trials"] - len(trials),
        TRIALS_PER_PASS,
    )
    if room <= 0 or state.get("exhausted"):
        return []
    space = parse_space(spec["search_space"], algorithm=spec["algorithm"])
    sampler = make_sampler(
        spec["algorithm"],
        space,
        seed=spec["seed"],
        goal=spec["objective"]["goal"],
        rule=spec.get("rule", "random"),
    )
    history = None
    if spec["algorithm"] == "bayesian":
        status = {t.name: t.status for t in sweep.trials}
        history = [
            Finished(t["params"], (state["curves"].get(t["name"]) or [None])[-1])
            for t in trials
            if status.get(t["name"]) == JobStatus.COMPLETED
        ]
    found = []
    for index in range(len(trials), len(trials) + room):
        params = sampler.ask(index, history)
        if params is None:
            state["exhausted"] = True
            break
        found.append((index, json.loads(json.dumps(params)), len(found) >= slots))
    return found


def _finish(sweep: _Sweep, status: JobStatus, note: str | None) -> None:
    """Summarise the sweep on its MLflow run (no transaction open meanwhile), then settle it."""
    from backend.agent import tracking

    with session_scope() as s:
        view = sweeps.get_sweep(session=s, workspace=sweep.workspace, name=sweep.name)
        run_id = s.get(Job, sweep.id).mlflow_run_id
    state = dict(sweep.state)
    state.update(
        {
            "best_trial": view.best_trial,
            "compute_used_s": view.compute_used_s,
            "compute_saved_s": view.compute_saved_s,
        }
    )
    if run_id:
        try:
            best = next((t for t in view.trials if t.name == view.best_trial), None)
            if best is not None:
                tracking.log_params(run_id, {f"best.{k}": v for k, v in best.params.items()})
                tracking.log_metric(run_id, f"best_{view.primary_metric}", best.metric)
            tracking.end_run(run_id, status)
        except Exception as exc:
            log.warning("cannot update the sweep's MLflow run: %s", exc)
    parent_jobs.settle(
        sweep.id, status, state=state, failure_reason=note if status != JobStatus.COMPLETED else None
    )
