"""Pipeline jobs: a DAG of steps, validated whole before anything runs (SPEC section 10).

Submission turns the YAML into a *plan*: each step's component (snapshotted), its input bindings
(literal, parent input, another step's output, or data), its outputs, its compute and dependencies.
The plan is the pipeline row's spec; the agent's pipeline controller (``backend.agent.pipeline_controller``)
starts each step whose inputs are ready, as a child job, and reuses identical earlier steps.

What is known before anything runs is checked at submission: the graph (cycles, dangling bindings),
inputs against their components (unknown, missing, wrong type or range), components, registered assets,
the form of every URI and the datastores it names. Whether data on a datastore path is *there* is asked
when the step that reads it starts (``check_step_inputs``): an earlier step may write it, as in the
cloud. Such values carry ``"check_at_start": True`` in the plan. Reuse keys hash input data at start too.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from backend.db.models import Job
from backend.errors import ValidationError
from backend.services import jobs
from backend.services.inputs import check_data_available, literal
from backend.services.lookup import get_workspace_row
from backend.services.pipeline_graph import upstream
from backend.services.pipeline_plans import build_plan
from backend.specs.pipeline import PipelineJobSpec
from backend.statuses import JobStatus
from backend.storage import uris


def submit_pipeline(
    *,
    session: Session,
    workspace: str,
    spec: PipelineJobSpec,
    base_dir: Path | None,
    source: str = "",
    parent_id: int | None = None,
    name: str | None = None,
    parent_inputs: dict | None = None,
) -> jobs.JobPublic:
    """Validate the whole graph and queue the pipeline's parent job."""
    ws = get_workspace_row(session=session, name=workspace)
    pipeline_name = jobs.check_new_name(session, ws.id, workspace, name or spec.name or jobs.generate_name())
    plan = build_plan(
        session=session, workspace=workspace, spec=spec, base_dir=base_dir, resolved_inputs=parent_inputs
    )
    plan["source"] = source
    compute = plan["settings"].get("default_compute") or "serverless"
    experiment = Path(source).parent.name if source else "Default"
    state = {"steps": {}, "skipped": {}, "outputs": {}}
    row = jobs.insert_job(
        session=session, workspace_id=ws.id, name=pipeline_name, type_="pipeline", spec=plan, compute=compute,
        parent_id=parent_id, state=state, **jobs.spec_fields(spec, experiment),
    )  # fmt: skip
    return jobs._public(row)


# --- running (called by the controller) ------------------------------------------------------------------------
# Nothing here holds a session while it reads storage: the controller calls these between its short
# transactions (see ``backend.agent.pipeline_controller``).


def step_outputs(session: Session, *, child: Job) -> dict[str, dict[str, Any]]:
    """What a finished step produced: {output: {type, uri}} (a sweep's are its best trial's)."""
    if child.type == "command":
        return {k: {"type": v["type"], "uri": v["uri"]} for k, v in (child.spec.get("outputs") or {}).items()}
    if child.type == "sweep":
        best = (child.state or {}).get("best_trial")
        if not best:
            return {}
        trial = session.exec(
            select(Job).where(Job.workspace_id == child.workspace_id, Job.name == best)
        ).first()
        return step_outputs(session, child=trial) if trial else {}
    return dict((child.state or {}).get("outputs") or {})


def bind_inputs(
    plan: dict, pipeline_inputs: dict[str, Any], produced: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """A step's input values: literals, the pipeline's inputs, data, and what earlier steps produced."""
    out: dict[str, Any] = {}
    for name, binding in plan["inputs"].items():
        if binding is None:
            out[name] = None
        elif binding["bind"] == "literal":
            out[name] = literal(binding["value"])
        elif binding["bind"] == "data":
            out[name] = dict(binding["value"])
        elif binding["bind"] == "parent_input":
            given = pipeline_inputs.get(binding["name"])
            out[name] = dict(given) if isinstance(given, dict) else given
        else:
            made = (produced.get(binding["step"]) or {}).get(binding["output"])
            if made is None:
                raise ValidationError(
                    f"input {name!r}: step {binding['step']!r} did not produce output {binding['output']!r}"
                )
            out[name] = {
                "kind": "data",
                "type": binding.get("expect") or made["type"],
                "mode": "ro_mount",
                "uri": made["uri"],
                "asset": None,
            }
    return out


def check_step_inputs(*, workspace: str, plan: dict, step: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """At a step's start: every data path that submission did not ask about is there now (else a
    ``ValidationError`` naming the step, the input and the path). Returns the inputs without the marks."""
    checked = {}
    for name, value in inputs.items():
        if isinstance(value, dict) and value.pop("check_at_start", False) and value.get("uri"):
            try:
                check_data_available(
                    workspace=workspace,
                    uri=value["uri"],
                    kind=value["type"],
                    field=f"step {step!r}, input {name!r}",
                )
            except ValidationError as exc:
                raise ValidationError(f"{exc}{_writer_hint(plan, step, value['uri'])}") from None
        checked[name] = value
    return checked


def _writer_hint(plan: dict, step: str, uri: str) -> str:
    """Why a path is missing, when another step of this pipeline has it as an output path."""
    target = _datastore_path(uri)
    if target is None:
        return ""
    upstream_steps = upstream(plan["steps"], step)
    for other, other_plan in plan["steps"].items():
        for out_name, out in (other_plan.get("outputs") or {}).items():
            where = _datastore_path(out.get("path"))
            if other == step or where is None or where.datastore != target.datastore:
                continue
            if target.path != where.path and not target.path.startswith(f"{where.path}/"):
                continue
            if other in upstream_steps:
                return f" (step {other!r} ran before it with output {out_name!r} there, and did not write it)"
            return (
                f" (step {other!r} writes it as output {out_name!r}, but step {step!r} does not wait for "
                f"{other!r}: bind one of its inputs to ${{{{parent.jobs.{other}.outputs.{out_name}}}}})"
            )
    return ""


def _datastore_path(uri: Any) -> uris.DatastorePath | None:
    if not isinstance(uri, str):
        return None
    try:
        ref = uris.parse_reference(uri)
    except ValidationError:
        return None
    return ref if isinstance(ref, uris.DatastorePath) else None


def output_uri(out: dict, job_name: str, out_name: str, store: str) -> str:
    """Where a step's output goes: its ``path`` (``${{name}}`` / ``${{output_name}}`` filled in), or the
    job's own folder on the default datastore."""
    path = out.get("path")
    if not path:
        return f"azureml://datastores/{store}/paths/azureml/{job_name}/{out_name}/"
    for placeholder, value in (
        ("${{name}}", job_name),
        ("${{output_name}}", out_name),
        ("{name}", job_name),
        ("{output_name}", out_name),
    ):
        path = path.replace(placeholder, value)
    return path


def reuse_key(plan: dict, inputs: dict[str, Any], workspace: str) -> str:
    """Equal keys mean equal component content, input data content and literal values. Data is read
    (and hashed) now, at the step's start: an earlier step may just have written it."""
    described = {}
    for name, value in sorted(inputs.items()):
        if value is None:
            described[name] = None
        elif value["kind"] == "literal":
            described[name] = ["literal", value["value"]]
        else:
            described[name] = ["data", data_fingerprint(workspace=workspace, uri=value["uri"])]
    outputs = {k: [v["type"], v["mode"], v.get("path")] for k, v in sorted(plan["outputs"].items())}
    text = json.dumps(
        {
            "component": plan["content_hash"],
            "env": plan["template"]["environment"]["reference"],
            "inputs": described,
            "outputs": outputs,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def data_fingerprint(*, workspace: str, uri: str) -> str:
    """The content hash of the data at a datastore path, read fresh (never a cached download: a path
    that steps write changes); other references (web, runs:/) are compared by name."""
    from backend.db import session_scope
    from backend.services.data_assets import content_hash
    from backend.services.datastores import get_filesystem

    ref = _datastore_path(uri)
    if ref is None:
        return uri
    with session_scope() as session:
        store = get_filesystem(session=session, workspace=workspace, name=ref.datastore)
    if store.is_local:
        return content_hash(store.local_path(ref.path))
    digest = hashlib.sha256()
    full = store.full(ref.path)
    with store.errors(f"reading {ref.path}"):
        if store.fs.isdir(full):
            files = sorted(store.fs.find(full))
            prefix = full.rstrip("/")
        else:
            files = [full] if store.fs.exists(full) else []
            prefix = None
        for file in files:
            if prefix is not None:
                digest.update(file[len(prefix) :].lstrip("/").encode() + b"\0")
            with store.fs.open(file, "rb") as handle:
                for block in iter(lambda h=handle: h.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:32]


def find_reusable(session: Session, *, workspace_id: int, key: str) -> Job | None:
    """The newest completed pipeline step that ran (was not itself reused) with this reuse key."""
    rows = session.exec(
        select(Job)
        .where(
            Job.workspace_id == workspace_id,
            Job.status == JobStatus.COMPLETED,
            Job.type == "command",
            col(Job.parent_id).is_not(None),
        )
        .order_by(col(Job.id).desc())
    ).all()
    for row in rows:
        if (row.state or {}).get("reuse_key") == key and not (row.state or {}).get("reused_from"):
            return row
    return None
