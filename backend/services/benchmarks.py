"""Model benchmarks: requested here, run by a job, read back for the leaderboard.

``create_benchmark`` checks the YAML (the dataset asset, every connection or model version, the metrics)
and queues a command job running ``python -m modelbench run`` in the curated benchmark environment
(``base_environment.BENCHMARK``: llama.cpp, the local model packages, MiniLM), sandboxed like any job. The
job's configuration names connections by type, target, model and prices; their API keys reach the command
as variables the agent decrypts when it starts (``jobs.submit_command_job(secrets=...)``), never stored in
the job's row. Results (``items.jsonl``, ``benchmark.json``: ``backend/runtime/modelbench``) grow while the
job runs: a restarted job skips the items already answered.
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, select

from backend.db.models import BenchmarkRun
from backend.errors import NotFoundError, ValidationError
from backend.runtime.modelbench.evaluators import JUDGE_PROMPTS
from backend.runtime.modelbench.run import key_variable
from backend.services import connections, data_assets, datastores, endpoints, jobs, models
from backend.services.environments import BENCHMARK_NAME
from backend.services.lookup import get_named_row, get_workspace_row
from backend.specs import load_spec, parse_spec
from backend.specs.benchmark import BenchmarkSpec
from backend.specs.connection import scoring_url_endpoint
from backend.specs.job import CommandJobSpec
from backend.statuses import JobStatus
from backend.storage import uris

EXPERIMENT = "model-benchmarks"
RESULTS_FILE, ITEMS_FILE = "benchmark.json", "items.jsonl"
__all__ = ["JUDGE_PROMPTS", "BenchmarkPublic", "create_benchmark", "get_benchmark", "list_benchmarks"]


class BenchmarkPublic(BaseModel):
    name: str
    kind: str
    status: str
    job: str
    dataset: str
    models: list[str]
    judge: str | None
    metrics: list[str]
    max_items: int | None
    created: datetime


def _public(session: Session, workspace: str, row: BenchmarkRun) -> BenchmarkPublic:
    try:
        status = str(jobs.get_job(session=session, workspace=workspace, name=row.job_name).status)
    except NotFoundError:
        status = "Unknown"
    return BenchmarkPublic(
        name=row.name,
        kind=row.kind,
        status=status,
        job=row.job_name,
        dataset=row.dataset,
        models=list(row.models),
        judge=row.judge,
        metrics=list(row.metrics),
        max_items=row.config.get("max_items"),
        created=row.created_at,
    )


def _connection(session: Session, workspace: str, name: str, field: str) -> dict[str, Any]:
    try:
        found = connections.get_connection(session=session, workspace=workspace, name=name)
    except NotFoundError as exc:
        raise ValidationError(f"{field}: {exc}") from None
    return {
        "type": found.type,
        "target": found.target,
        "model": found.model,
        "price_per_1k_input_tokens": found.price_per_1k_input_tokens,
        "price_per_1k_output_tokens": found.price_per_1k_output_tokens,
        "has_key": found.api_key_set,
    }


def _dataset(session: Session, workspace: str, reference: str) -> data_assets.DataAssetPublic:
    ref = uris.parse_reference(reference if reference.startswith("azureml:") else f"azureml:{reference}")
    if not isinstance(ref, uris.AssetRef):
        raise ValidationError(f"dataset: {reference!r} is not a data asset (use azureml:<name>:<version>)")
    try:
        return data_assets.resolve_asset_reference(session=session, workspace=workspace, ref=ref)
    except NotFoundError as exc:
        raise ValidationError(f"dataset: {exc}") from None


def _llm_plan(session: Session, workspace: str, spec: BenchmarkSpec) -> tuple[dict, dict, dict]:
    """The job's configuration, inputs and secret variables of an LLM benchmark."""
    names = [*spec.models, *([spec.judge] if spec.judge and spec.judge not in spec.models else [])]
    found = {
        name: _connection(session, workspace, name, "judge" if name == spec.judge else f"models.{name}")
        for name in names
    }
    secrets = {key_variable(n): f"connection:{n}" for n, c in found.items() if c.pop("has_key")}
    for name, connection in found.items():
        if connection["type"] == "online_endpoint":  # the router's URL; the endpoint's key at launch
            endpoint = scoring_url_endpoint(connection["target"]) or connection["target"]
            connection["target"] = endpoints.scoring_uri(endpoint)
            secrets[key_variable(name)] = f"endpoint:{endpoint}"
    config = {"connections": found, "judge": spec.judge}
    return config, {}, secrets


def _tabular_plan(session: Session, workspace: str, spec: BenchmarkSpec) -> tuple[dict, dict, dict]:
    """Each model version becomes an input of the job (its files), in the order named."""
    inputs, versions = {}, []
    for i, reference in enumerate(spec.models):
        try:
            model = models.resolve_model_reference(
                session=session,
                workspace=workspace,
                reference=reference if reference.startswith("azureml:") else f"azureml:{reference}",
            )
        except NotFoundError as exc:
            raise ValidationError(f"models[{i}]: {exc}") from None
        inputs[f"model_{i}"] = {"type": model.type, "path": model.reference}
        versions.append(f"{model.name}:{model.version}")
    config = {"models": versions, "target_column": spec.target_column, "task": spec.task}
    return config, inputs, {}


def create_benchmark(
    *, session: Session, workspace: str, spec: BenchmarkSpec, source: str = "benchmark"
) -> BenchmarkPublic:
    """Check the benchmark and queue its job; nothing is created when a check fails."""
    ws = get_workspace_row(session=session, name=workspace)
    dataset = _dataset(session, workspace, spec.dataset)
    plan = _llm_plan if spec.type == "llm" else _tabular_plan
    planned, model_inputs, secrets = plan(session, workspace, spec)
    config = {
        **spec.model_dump(mode="json", exclude={"compute", "experiment_name", "tags", "description"}),
        **planned,
        "dataset": f"{dataset.name}:{dataset.version}",
        "metrics": spec.chosen_metrics,
    }
    inputs = {"dataset": {"type": dataset.type, "path": dataset.reference}, **model_inputs}
    job_spec = parse_spec(
        CommandJobSpec,
        {
            "name": spec.name,
            "display_name": f"Benchmark: {', '.join(spec.models)} on {dataset.name}:{dataset.version}",
            "experiment_name": spec.experiment_name or EXPERIMENT,
            "description": spec.description,
            "command": "python -m modelbench run --config benchmark_config.json --output ${{outputs.results}} "
            + " ".join(f"--input {n}=${{{{inputs.{n}}}}}" for n in inputs),
            "code": ".",
            "environment": BENCHMARK_NAME,
            "compute": spec.compute,
            "inputs": inputs,
            "outputs": {"results": {"type": "uri_folder"}},
            "tags": {**spec.tags, "studio.benchmark": spec.type},
        },
        source=source,
    )
    with tempfile.TemporaryDirectory(prefix="studio-benchmark-") as tmp:
        (Path(tmp) / "benchmark_config.json").write_text(json.dumps(config, indent=2))
        job = jobs.submit_command_job(
            session=session, workspace=workspace, spec=job_spec, base_dir=Path(tmp), secrets=secrets
        )
    row = BenchmarkRun(
        workspace_id=ws.id,
        name=job.name,
        kind=spec.type,
        dataset=config["dataset"],
        models=config.get("models") if spec.type == "tabular" else list(spec.models),
        judge=spec.judge,
        metrics=spec.chosen_metrics,
        config=config,
        job_name=job.name,
        artifact=job.outputs["results"]["uri"],
    )
    session.add(row)
    session.flush()
    return _public(session, workspace, row)


def create_benchmark_from_file(
    *, session: Session, workspace: str, path: str | Path, overrides: list[str] | None = None
) -> BenchmarkPublic:
    """``studio benchmark create --file F``: every error names the file."""
    spec = load_spec(BenchmarkSpec, path, overrides)
    try:
        return create_benchmark(session=session, workspace=workspace, spec=spec, source=str(path))
    except ValidationError as exc:
        raise ValidationError(f"{path}: {exc}") from None


def create_benchmark_from_text(
    *, session: Session, workspace: str, text: str, source: str = "benchmark.yml"
) -> BenchmarkPublic:
    """The page's form or an uploaded YAML: the same checks as a file, errors named after ``source``."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(f"{source}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ValidationError(
            f"{source}: a benchmark YAML is a mapping of fields (name, dataset, models, ...)"
        )
    spec = parse_spec(BenchmarkSpec, data, source=source)
    try:
        return create_benchmark(session=session, workspace=workspace, spec=spec, source=source)
    except ValidationError as exc:
        raise ValidationError(f"{source}: {exc}") from None


def _row(session: Session, workspace: str, name: str) -> BenchmarkRun:
    return get_named_row(
        session=session, table=BenchmarkRun, workspace=workspace, name=name, what="benchmark"
    )


def get_benchmark(*, session: Session, workspace: str, name: str) -> BenchmarkPublic:
    return _public(session, workspace, _row(session, workspace, name))


def list_benchmarks(*, session: Session, workspace: str) -> list[BenchmarkPublic]:
    """Newest first."""
    ws = get_workspace_row(session=session, name=workspace)
    rows = session.exec(
        select(BenchmarkRun)
        .where(BenchmarkRun.workspace_id == ws.id)
        .order_by(BenchmarkRun.created_at.desc(), BenchmarkRun.id.desc())
    ).all()
    return [_public(session, workspace, r) for r in rows]


def _read(session: Session, workspace: str, row: BenchmarkRun, file: str) -> bytes | None:
    """A file of the job's output; None until the job has written it."""
    ref = uris.parse_reference(row.artifact.rstrip("/") + "/" + file)
    try:
        return datastores.read_bytes(session=session, workspace=workspace, name=ref.datastore, path=ref.path)
    except NotFoundError:
        return None


def read_results(*, session: Session, workspace: str, name: str) -> dict[str, Any]:
    """``benchmark.json``: per model, each metric as ``{"value", "source", ...}`` (written per model)."""
    row = _row(session, workspace, name)
    found = _read(session, workspace, row, RESULTS_FILE)
    if found is None:
        status = _public(session, workspace, row).status
        raise NotFoundError(f"benchmark {name!r} has no results yet (its job {row.job_name} is {status})")
    return json.loads(found)


def read_items(*, session: Session, workspace: str, name: str) -> list[dict[str, Any]]:
    """The answered items so far (``items.jsonl``), in the order they were answered."""
    row = _row(session, workspace, name)
    found = _read(session, workspace, row, ITEMS_FILE) or b""
    return [json.loads(line) for line in found.decode().splitlines() if line.strip()]


def show_benchmark(*, session: Session, workspace: str, name: str) -> dict[str, Any]:
    """What ``studio benchmark show`` prints: the record, ``models`` (metrics per model) and ``items``."""
    found = get_benchmark(session=session, workspace=workspace, name=name)
    shown = {**found.model_dump(mode="json"), "models": {}, "items": []}
    try:
        results = read_results(session=session, workspace=workspace, name=name)
        shown["models"] = results.get("models") or {}
        shown.update(
            {k: results[k] for k in ("judge_cost", "prompts", "tokenizer", "fallbacks") if k in results}
        )
    except NotFoundError:
        if found.status == JobStatus.COMPLETED:
            raise
    shown["model_names"] = found.models
    shown["items"] = read_items(session=session, workspace=workspace, name=name)
    return shown
