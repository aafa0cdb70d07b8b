"""Compute targets: serverless (implicit, one slot per CPU core), compute instances and clusters.

Nodes are slots on this machine: a cluster of ``max_instances`` nodes can run that many single-node jobs
at once; the VM size only says how big a node claims to be (cores, memory), shown next to this machine's.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Session, select

from backend.db.models import Compute, Workspace, utcnow
from backend.errors import ConflictError, NotFoundError, ValidationError
from backend.services.assets import described, update_metadata
from backend.specs import load_spec, parse_spec
from backend.specs.bounds import MAX_IDLE_S, MAX_INSTANCES
from backend.specs.compute import ComputeSpec

SERVERLESS = "serverless"
INSTANCE, CLUSTER, RAY = "computeinstance", "amlcompute", "ray"
RUNNING, STOPPED, READY, ATTACHED = "Running", "Stopped", "Succeeded", "Attached"
DEFAULT_SIZE = "Standard_DS3_v2"
DEFAULT_MAX_INSTANCES = 1
DEFAULT_IDLE_S = 120

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,23}$")
NAME_RULE = "2 to 24 characters: letters, digits and '-', starting with a letter"

# Azure VM size -> (cores, memory in GB, GPUs).
VM_SIZES: dict[str, tuple[int, float, int]] = {
    "Standard_DS1_v2": (1, 3.5, 0),
    "Standard_DS2_v2": (2, 7, 0),
    "Standard_DS3_v2": (4, 14, 0),
    "Standard_DS4_v2": (8, 28, 0),
    "Standard_DS5_v2": (16, 56, 0),
    "Standard_DS11_v2": (2, 14, 0),
    "Standard_DS12_v2": (4, 28, 0),
    "Standard_DS13_v2": (8, 56, 0),
    "Standard_DS14_v2": (16, 112, 0),
    "Standard_D1_v2": (1, 3.5, 0),
    "Standard_D2_v2": (2, 7, 0),
    "Standard_D3_v2": (4, 14, 0),
    "Standard_D4_v2": (8, 28, 0),
    "Standard_D11_v2": (2, 14, 0),
    "Standard_D12_v2": (4, 28, 0),
    "Standard_D13_v2": (8, 56, 0),
    "Standard_D2_v3": (2, 8, 0),
    "Standard_D4_v3": (4, 16, 0),
    "Standard_D8_v3": (8, 32, 0),
    "Standard_D16_v3": (16, 64, 0),
    "Standard_D2s_v3": (2, 8, 0),
    "Standard_D4s_v3": (4, 16, 0),
    "Standard_D8s_v3": (8, 32, 0),
    "Standard_D16s_v3": (16, 64, 0),
    "Standard_D32s_v3": (32, 128, 0),
    "Standard_D2as_v4": (2, 8, 0),
    "Standard_D4as_v4": (4, 16, 0),
    "Standard_D8as_v4": (8, 32, 0),
    "Standard_D2ds_v4": (2, 8, 0),
    "Standard_D4ds_v4": (4, 16, 0),
    "Standard_D2s_v5": (2, 8, 0),
    "Standard_D4s_v5": (4, 16, 0),
    "Standard_D8s_v5": (8, 32, 0),
    "Standard_E2s_v3": (2, 16, 0),
    "Standard_E4s_v3": (4, 32, 0),
    "Standard_E8s_v3": (8, 64, 0),
    "Standard_E16s_v3": (16, 128, 0),
    "Standard_E4ds_v4": (4, 32, 0),
    "Standard_F2s_v2": (2, 4, 0),
    "Standard_F4s_v2": (4, 8, 0),
    "Standard_F8s_v2": (8, 16, 0),
    "Standard_F16s_v2": (16, 32, 0),
    "Standard_NC6": (6, 56, 1),
    "Standard_NC12": (12, 112, 2),
    "Standard_NC24": (24, 224, 4),
    "Standard_NC6s_v3": (6, 112, 1),
    "Standard_NC12s_v3": (12, 224, 2),
    "Standard_NC24s_v3": (24, 448, 4),
    "Standard_NC4as_T4_v3": (4, 28, 1),
    "Standard_NC8as_T4_v3": (8, 56, 1),
    "Standard_NC16as_T4_v3": (16, 110, 1),
    "Standard_NC24ads_A100_v4": (24, 220, 1),
    "Standard_ND40rs_v2": (40, 672, 8),
    "Standard_NV6": (6, 56, 1),
}
_SIZES_BY_KEY = {name.lower(): name for name in VM_SIZES}


class ComputePublic(BaseModel):
    name: str
    type: str  # serverless | computeinstance | amlcompute | ray
    size: str
    cores: float
    memory_gb: float
    min_instances: int
    max_instances: int
    idle_time_before_scale_down: int
    state: str
    current_nodes: int
    description: str
    tags: dict[str, str]
    implicit: bool = False
    created_at: datetime | None
    updated_at: datetime | None
    address: str | None = None  # ray (or a cluster on Ray): the Ray Jobs API or Client address
    idle_time_before_shutdown_minutes: int | None = None  # an instance stops itself after this long idle


class ComputeCapacity(BaseModel):
    """How much work a compute takes at once, next to what this machine has."""

    name: str
    type: str
    state: str
    accepts_jobs: bool  # a stopped instance accepts jobs; they wait until it starts
    runs_jobs: bool
    nodes_current: int
    nodes_min: int
    nodes_max: int
    slots: int  # single-node jobs that can run at once
    cores_per_node: float
    memory_gb_per_node: float
    total_cores: float
    total_memory_gb: float
    machine_cores: int
    machine_memory_gb: float
    oversubscribed: bool
    note: str


class ComputeForm(BaseModel):
    """Form fields or CLI flags, before they are checked like a YAML file."""

    name: str
    type: str
    size: str | None = None
    min_instances: int | None = None
    max_instances: int | None = None
    idle_time_before_scale_down: int | None = None
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    address: str | None = None  # ray, or a cluster whose nodes run on Ray
    idle_time_before_shutdown_minutes: int | None = None  # an instance


class MachineResources(BaseModel):
    cores: int
    memory_gb: float
    memory_available_gb: float
    cpu_percent: float


def machine_resources() -> MachineResources:
    """This machine's cores and memory (what every node here shares)."""
    import psutil

    memory = psutil.virtual_memory()
    return MachineResources(
        cores=os.cpu_count() or 1,
        memory_gb=round(memory.total / 2**30, 1),
        memory_available_gb=round(memory.available / 2**30, 1),
        cpu_percent=psutil.cpu_percent(interval=None),
    )


def vm_size(name: str, *, source: str = "compute") -> tuple[str, int, float]:
    """(canonical name, cores, memory GB) of a VM size; an unknown size lists some known ones."""
    canonical = _SIZES_BY_KEY.get(name.strip().lower())
    if canonical is None:
        examples = ", ".join(
            ["Standard_DS1_v2", "Standard_DS3_v2", "Standard_D4s_v3", "Standard_E4s_v3", "Standard_NC6"]
        )
        raise ValidationError(
            f"{source}: field 'size': VM size {name!r} is not known here (for example {examples}; "
            f"`studio compute list-sizes` shows all {len(VM_SIZES)})"
        )
    cores, memory, _ = VM_SIZES[canonical]
    return canonical, cores, memory


def list_sizes() -> list[dict[str, Any]]:
    return [{"name": n, "cores": c, "memory_gb": m, "gpus": g} for n, (c, m, g) in VM_SIZES.items()]


def _serverless() -> ComputePublic:
    cores = os.cpu_count() or 1
    return ComputePublic(
        name=SERVERLESS,
        type=SERVERLESS,
        size="",
        cores=1,
        memory_gb=round(machine_resources().memory_gb / cores, 1),
        min_instances=0,
        max_instances=cores,
        idle_time_before_scale_down=0,
        state=RUNNING,
        current_nodes=0,
        description=f"Runs jobs on this machine, up to one per CPU core ({cores}).",
        tags={},
        implicit=True,
        created_at=None,
        updated_at=None,
    )


def _public(row: Compute) -> ComputePublic:
    return ComputePublic(
        name=row.name,
        type=row.type,
        size=row.size,
        cores=row.cores,
        memory_gb=row.memory_gb,
        min_instances=row.min_instances,
        max_instances=row.max_instances,
        idle_time_before_scale_down=row.idle_time_before_scale_down,
        state=row.state,
        current_nodes=row.current_nodes,
        description=row.description,
        tags=dict(row.tags or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
        address=row.address,
        idle_time_before_shutdown_minutes=row.idle_shutdown_minutes,
    )


def _workspace_row(session: Session, workspace: str) -> Workspace:
    from backend.services.lookup import get_workspace_row

    return get_workspace_row(session=session, name=workspace)


def _names(session: Session, ws: Workspace) -> str:
    rows = session.exec(
        select(Compute.name).where(Compute.workspace_id == ws.id).order_by(Compute.name)
    ).all()
    return ", ".join([SERVERLESS, *rows])


def _row(session: Session, ws: Workspace, name: str) -> Compute | None:
    return session.exec(select(Compute).where(Compute.workspace_id == ws.id, Compute.name == name)).first()


def validate_name(name: str) -> str:
    if not NAME_PATTERN.match(name or ""):
        raise ValidationError(f"compute name {name!r} is not valid: use {NAME_RULE}")
    if name.lower() == SERVERLESS:
        raise ValidationError("compute name 'serverless' is reserved for the built-in serverless compute")
    return name


# -------------------------------------------------------------------------------------------- create


def create_compute(
    *, session: Session, workspace: str, spec: ComputeSpec, source: str = "compute"
) -> ComputePublic:
    """Create a compute instance (Running) or a cluster (nodes scale between min and max)."""
    ws = _workspace_row(session, workspace)
    try:
        validate_name(spec.name)
    except ValidationError as exc:
        raise ValidationError(f"{source}: {exc}") from None
    # Names are compared without case, as the cloud does (they contain no LIKE wildcards).
    if session.exec(
        select(Compute).where(Compute.workspace_id == ws.id, Compute.name.ilike(spec.name))
    ).first():
        raise ConflictError(f"compute {spec.name!r} already exists in workspace {workspace!r}")
    if spec.type == RAY or spec.address:
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise ValidationError(
                f"{source}: a Ray compute needs Ray where Studio runs: pip install -e '.[ray]'"
            )
    if spec.type == RAY:
        row = Compute(
            workspace_id=ws.id, name=spec.name, type=RAY, size="", cores=1, memory_gb=0, min_instances=0,
            max_instances=0, idle_time_before_scale_down=0, state=ATTACHED, current_nodes=0,
            description=spec.description or "", tags=dict(spec.tags), address=spec.address.strip(),
        )  # fmt: skip
        session.add(row)
        session.flush()
        return _public(row)
    size, cores, memory = vm_size(spec.size or DEFAULT_SIZE, source=source)
    cluster = spec.type == CLUSTER
    row = Compute(
        workspace_id=ws.id,
        name=spec.name,
        type=spec.type,
        size=size,
        cores=cores,
        memory_gb=memory,
        min_instances=(spec.min_instances or 0) if cluster else 1,
        max_instances=(spec.max_instances or max(DEFAULT_MAX_INSTANCES, spec.min_instances or 0))
        if cluster
        else 1,
        idle_time_before_scale_down=(
            spec.idle_time_before_scale_down
            if spec.idle_time_before_scale_down is not None
            else DEFAULT_IDLE_S
        )
        if cluster
        else 0,
        state=READY if cluster else RUNNING,
        current_nodes=(spec.min_instances or 0) if cluster else 1,
        description=spec.description or "",
        tags=dict(spec.tags),
        address=spec.address.strip() if cluster and spec.address else None,
        idle_shutdown_minutes=None if cluster else spec.idle_time_before_shutdown_minutes,
    )
    session.add(row)
    session.flush()
    return _public(row)


def create_compute_from_file(
    *, session: Session, workspace: str, path: str | Path, overrides: list[str] | None = None
) -> ComputePublic:
    """Create a compute from the cloud's YAML (cloud-only fields are accepted and ignored)."""
    spec = load_spec(ComputeSpec, path, overrides)
    return create_compute(session=session, workspace=workspace, spec=spec, source=str(path))


def create_compute_from_form(*, session: Session, workspace: str, form: ComputeForm) -> ComputePublic:
    data = {k: v for k, v in form.model_dump().items() if v is not None and v != ""}
    if form.type in (INSTANCE, RAY):
        for field in ("min_instances", "max_instances", "idle_time_before_scale_down"):
            data.pop(field, None)
    if form.type == RAY:
        data.pop("size", None)
    if form.type != INSTANCE:
        data.pop("idle_time_before_shutdown_minutes", None)
    spec = parse_spec(ComputeSpec, data, source="compute")
    return create_compute(session=session, workspace=workspace, spec=spec)


# -------------------------------------------------------------------------------------------- read


def list_computes(*, session: Session, workspace: str) -> list[ComputePublic]:
    """Serverless first, then the workspace's instances and clusters by name."""
    ws = _workspace_row(session, workspace)
    rows = session.exec(select(Compute).where(Compute.workspace_id == ws.id).order_by(Compute.name)).all()
    return [_serverless(), *(_public(r) for r in rows)]


def get_compute(*, session: Session, workspace: str, name: str) -> ComputePublic:
    ws = _workspace_row(session, workspace)
    if name == SERVERLESS:
        return _serverless()
    row = _row(session, ws, name)
    if row is None:
        raise NotFoundError(
            f"compute {name!r} does not exist in workspace {workspace!r} (computes: {_names(session, ws)})"
        )
    return _public(row)


def resolve_compute(*, session: Session, workspace: str, reference: str | None) -> ComputePublic:
    """The compute a job names (``azureml:cpu-cluster``, a name, or nothing: serverless)."""
    name = (reference or "").strip().removeprefix("azureml:") or SERVERLESS
    try:
        return get_compute(session=session, workspace=workspace, name=name)
    except NotFoundError as exc:
        raise ValidationError(f"field 'compute': {exc}") from None


def compute_capacity(*, session: Session, workspace: str, name: str) -> ComputeCapacity:
    """Nodes, slots, cores and memory of a compute, compared with this machine."""
    compute = get_compute(session=session, workspace=workspace, name=name)
    machine = machine_resources()
    if compute.type == SERVERLESS:
        slots = machine.cores
        nodes = (0, 0, slots)
    elif compute.type == INSTANCE:
        slots = 1
        nodes = (1 if compute.state == RUNNING else 0, 1, 1)
    elif compute.type == RAY:
        from backend.services import ray_cluster

        slots = ray_cluster.cpus(compute.address or "")
        nodes = (slots, 0, slots)
    else:
        slots = compute.max_instances
        nodes = (compute.current_nodes, compute.min_instances, compute.max_instances)
        if compute.address:  # nodes on a Ray cluster: as many as its CPUs hold
            from backend.services import ray_cluster

            ray_cpus = ray_cluster.cpus(compute.address)
            slots = min(slots, ray_cpus // max(1, int(compute.cores)))
    total_cores = compute.cores * slots
    total_memory = round(compute.memory_gb * slots, 1)
    over = compute.type != SERVERLESS and (total_cores > machine.cores or total_memory > machine.memory_gb)
    if compute.type == SERVERLESS:
        note = f"one job per CPU core: {slots} at once on this machine"
    elif compute.type == RAY:
        over = False
        note = (
            f"the Ray cluster at {compute.address} has {slots} CPUs: one job per CPU at once"
            if slots
            else f"the Ray cluster at {compute.address} does not answer: its jobs wait in the queue"
        )
    elif compute.address:
        over = False
        note = (
            f"up to {compute.max_instances} node(s) of {compute.size} ({compute.cores:g} CPUs each) on the Ray "
            f"cluster at {compute.address}, which has {ray_cpus} CPUs: {slots} at once"
            if ray_cpus
            else f"its nodes run on the Ray cluster at {compute.address}, which does not answer: its jobs wait"
        )
    elif over:
        note = (
            f"at {slots} node(s) of {compute.size} it claims {total_cores:g} cores and {total_memory:g} GB; this "
            f"machine has {machine.cores} cores and {machine.memory_gb:g} GB, so its nodes share them"
        )
    else:
        note = f"{slots} node(s) of {compute.size} fit in this machine's {machine.cores} cores and {machine.memory_gb:g} GB"
    return ComputeCapacity(
        name=compute.name,
        type=compute.type,
        state=compute.state,
        accepts_jobs=True,
        runs_jobs=compute.state != STOPPED,
        nodes_current=nodes[0],
        nodes_min=nodes[1],
        nodes_max=nodes[2],
        slots=slots,
        cores_per_node=compute.cores,
        memory_gb_per_node=compute.memory_gb,
        total_cores=total_cores,
        total_memory_gb=total_memory,
        machine_cores=machine.cores,
        machine_memory_gb=machine.memory_gb,
        oversubscribed=over,
        note=note,
    )


# -------------------------------------------------------------------------------------------- change


def _user_compute(session: Session, workspace: str, name: str, *, serverless: str) -> Compute:
    """A compute the user created (``serverless`` says why the built-in one will not do)."""
    ws = _workspace_row(session, workspace)
    if name == SERVERLESS:
        raise ValidationError(serverless)
    row = _row(session, ws, name)
    if row is None:
        get_compute(session=session, workspace=workspace, name=name)  # raises NotFoundError with the list
        raise AssertionError("unreachable")
    return row


def _instance(session: Session, workspace: str, name: str, verb: str) -> Compute:
    row = _user_compute(
        session, workspace, name, serverless=f"serverless compute is always available; it cannot {verb}"
    )
    if row.type == CLUSTER:
        raise ValidationError(
            f"compute {name!r} is a cluster: it scales itself between {row.min_instances} and "
            f"{row.max_instances} nodes and cannot {verb}; only compute instances start and stop"
        )
    return row


def start_compute(*, session: Session, workspace: str, name: str) -> ComputePublic:
    """Start a compute instance (starting a running one changes nothing); jobs that waited may run."""
    return _set_instance_state(session, workspace, name, RUNNING, nodes=1, verb="be started")


def stop_compute(*, session: Session, workspace: str, name: str) -> ComputePublic:
    """Stop a compute instance: it still accepts jobs, which wait until it starts again."""
    return _set_instance_state(session, workspace, name, STOPPED, nodes=0, verb="be stopped")


def _set_instance_state(session: Session, workspace: str, name: str, state: str, *, nodes: int, verb: str):
    row = _instance(session, workspace, name, verb)
    if row.state != state:
        row.state, row.current_nodes, row.updated_at = state, nodes, utcnow()
        session.add(row)
        session.flush()
    return _public(row)


def update_compute(
    *,
    session: Session,
    workspace: str,
    name: str,
    min_instances: int | None = None,
    max_instances: int | None = None,
    idle_time_before_scale_down: int | None = None,
    description: str | None = None,
    tags: dict[str, str] | None = None,
) -> ComputePublic:
    """Change a cluster's scale settings, or any compute's description and tags."""
    row = _user_compute(session, workspace, name, serverless="serverless compute has no settings to change")
    scale = {"min_instances": min_instances, "max_instances": max_instances}
    scale["idle_time_before_scale_down"] = idle_time_before_scale_down
    given = {k: v for k, v in scale.items() if v is not None}
    if given and row.type != CLUSTER:
        raise ValidationError(f"{', '.join(given)} apply to clusters; compute {name!r} is a compute instance")
    lo = given.get("min_instances", row.min_instances)
    hi = given.get("max_instances", row.max_instances)
    if hi > MAX_INSTANCES:
        raise ValidationError(f"max_instances: must be a whole number from 1 to {MAX_INSTANCES} (got {hi})")
    if lo < 0 or hi < 1 or lo > hi:
        raise ValidationError(
            f"min_instances ({lo}) must be 0 or more and at most max_instances ({hi}, 1 or more)"
        )
    idle = given.get("idle_time_before_scale_down", 0)
    if not 0 <= idle <= MAX_IDLE_S:
        raise ValidationError(
            f"idle_time_before_scale_down: must be a whole number of seconds from 0 to {MAX_IDLE_S} (got {idle})"
        )
    for key, value in given.items():
        setattr(row, key, value)
    if row.type == CLUSTER:
        row.current_nodes = min(max(row.current_nodes, row.min_instances), row.max_instances)
    update_metadata(session, row, description=description, tags=tags)
    return _public(row)


def delete_compute(*, session: Session, workspace: str, name: str) -> None:
    row = _user_compute(
        session, workspace, name, serverless="serverless compute is built in and cannot be deleted"
    )
    session.delete(row)
    session.flush()


def compute_spec_yaml(compute: ComputePublic) -> str:
    """The compute as the cloud's YAML."""
    import yaml

    if compute.type == RAY:  # Studio's own type: no cloud schema
        data: dict[str, Any] = {"name": compute.name, "type": RAY, "address": compute.address}
        return yaml.safe_dump(data | described(compute), sort_keys=False)
    schema = "amlCompute" if compute.type == CLUSTER else "computeInstance"
    data = {
        "$schema": f"https://azuremlschemas.azureedge.net/latest/{schema}.schema.json",
        "name": compute.name,
        "type": compute.type,
        "size": compute.size,
    }
    if compute.type == CLUSTER:
        data |= {
            "min_instances": compute.min_instances,
            "max_instances": compute.max_instances,
            "idle_time_before_scale_down": compute.idle_time_before_scale_down,
        }
        if compute.address:  # Studio's own field: its nodes run on this Ray cluster
            data["address"] = compute.address
    elif compute.idle_time_before_shutdown_minutes:
        data["idle_time_before_shutdown_minutes"] = compute.idle_time_before_shutdown_minutes
    return yaml.safe_dump(data | described(compute), sort_keys=False)


class NodeEvent(BaseModel):
    at: datetime
    nodes: int
    busy: int


def node_history(*, session: Session, workspace: str, name: str, limit: int = 2000) -> list[NodeEvent]:
    """Nodes allocated and nodes busy over time (the agent records every change)."""
    from backend.db.models import ComputeNodeEvent

    ws = _workspace_row(session, workspace)
    row = _row(session, ws, name)
    if row is None:
        return []
    events = session.exec(
        select(ComputeNodeEvent)
        .where(ComputeNodeEvent.compute_id == row.id)
        .order_by(ComputeNodeEvent.id.desc())
        .limit(limit)
    ).all()
    return [NodeEvent(at=e.at, nodes=e.nodes, busy=e.busy) for e in reversed(events)]
