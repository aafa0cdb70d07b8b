"""A job entity made from the studio's record of a submitted job."""

from __future__ import annotations

from typing import Any

from studio.ml.entities._base import AttrDict, CreationContext
from studio.ml.entities._inputs_outputs import Input, Output
from studio.ml.entities._job.command_job import Command
from studio.ml.entities._job.job import Job, JobService
from studio.ml.entities._job.pipeline_job import PipelineJob
from studio.ml.entities._job.sweep.sweep_job import SweepJob


def job_from_record(record: Any, *, studio_url: str | None, tracking_uri: str | None) -> Job:
    """A job entity from the service layer's ``JobPublic``."""
    inputs = AttrDict()
    for name, value in (record.inputs or {}).items():
        if value is None or value.get("kind") == "literal":
            inputs[name] = None if value is None else value["value"]
        else:
            path = f"azureml:{value['asset']}" if value.get("asset") else value.get("uri")
            inputs[name] = Input(type=value.get("type", "uri_folder"), path=path, mode=value.get("mode"))
    outputs = AttrDict(
        {
            name: Output(
                type=out.get("type", "uri_folder"),
                path=out.get("uri"),
                mode=out.get("mode"),
                name=out.get("asset_name"),
                version=out.get("asset_version"),
            )
            for name, out in (record.outputs or {}).items()
        }
    )
    fields: dict[str, Any] = {
        "name": record.name,
        "display_name": record.display_name,
        "experiment_name": record.experiment_name,
        "description": record.description,
        "tags": dict(record.tags or {}),
        "compute": record.compute,
        "inputs": inputs,
        "outputs": outputs,
    }

    cls: type[Job] = {"command": Command, "sweep": SweepJob, "pipeline": PipelineJob}.get(record.type, Job)
    if cls is Command:
        fields.update(
            command=record.command,
            environment=record.environment,
            resources=AttrDict(instance_count=record.instance_count),
        )
    job = cls(fields, source=f"job {record.name}")
    if cls is Job:
        job.type = record.type  # a sweep or pipeline job listed before the SDK knows its shape
    job.status = record.status
    job.studio_url = studio_url
    job.creation_context = CreationContext(created_at=record.created_at)
    job.start_time = record.start_time
    job.end_time = record.end_time
    job.failure_reason = record.failure_reason
    job.mlflow_run_id = record.mlflow_run_id
    job.parent_job_name = record.parent
    if studio_url:
        job._links["Studio"] = JobService(endpoint=studio_url, type="Studio")
    if tracking_uri:
        job._links["Tracking"] = JobService(endpoint=tracking_uri, type="Tracking")
    return job


__all__ = ["job_from_record"]
