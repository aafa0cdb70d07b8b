"""``ml_client.jobs``, ``.data``, ``.environments``, ``.compute``: entities in, service calls, entities out.

Every call is one unit of work (``backend.services.open_session``) in the client's workspace; the
services do all validation and raise ``backend.errors`` exceptions with one actionable line.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from backend.statuses import TERMINAL, JobStatus
from studio.ml.constants import ListViewType
from studio.ml.entities import (
    Command,
    CommandComponent,
    Compute,
    Data,
    Environment,
    Job,
    component_from_record,
    component_from_summary,
    compute_from_record,
    data_from_record,
    data_from_summary,
    environment_from_record,
    job_from_record,
)
from studio.ml.sweep import SweepDistribution

STREAM_POLL_S = 0.25  # how often stream() looks for new log text and a status change
SUBMITTABLE = ("command", "sweep", "pipeline")


def studio_url(workspace: str, name: str) -> str | None:
    """The UI's deep link to a job, when ``studio up`` runs with its UI."""
    from backend.services.system import current_runtime

    runtime = current_runtime()
    if runtime is None or not runtime.ui_url:
        return None
    return f"{runtime.ui_url.rstrip('/')}/jobs?{urlencode({'job': name, 'ws': workspace})}"


class _Operations:
    def __init__(self, workspace: str):
        self._workspace = workspace


class JobOperations(_Operations):
    def _entity(self, record: Any) -> Job:
        from backend.services.system import mlflow_tracking_uri

        return job_from_record(
            record,
            studio_url=studio_url(self._workspace, record.name),
            tracking_uri=mlflow_tracking_uri(),
        )

    def _record(self, name: str):
        from backend.services import jobs, open_session

        with open_session() as s:
            return jobs.get_job(session=s, workspace=self._workspace, name=name)

    def create_or_update(
        self,
        job: Job,
        *,
        experiment_name: str | None = None,
        description: str | None = None,
        compute: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> Job:
        """Submit a command, sweep or pipeline entity; returns the queued job (name, status, links, ...)."""
        from backend.errors import ValidationError
        from backend.services import open_session

        data = job.to_yaml_dict()
        for key, value in (
            ("experiment_name", experiment_name),
            ("description", description),
            ("compute", compute),
        ):
            if value is not None:
                data[key] = value
        if tags:
            data["tags"] = {**data.get("tags", {}), **tags}
        kind = data.get("type")
        if kind not in SUBMITTABLE:
            raise ValidationError(
                f"{job._source}: job type {kind!r} cannot be submitted from the SDK "
                f"(supported: {', '.join(SUBMITTABLE)})"
            )
        if (
            kind == "pipeline"
            and not data.get("experiment_name")
            and getattr(job, "_default_experiment", None)
        ):
            data["experiment_name"] = (
                job._default_experiment
            )  # the cloud's default: the current folder's name
        spec = self._parse(kind, data, job)  # a bad field fails here, named after the job's source
        submit = {
            "command": self._submit_command,
            "sweep": self._submit_sweep,
            "pipeline": self._submit_pipeline,
        }
        try:
            with open_session() as s:
                record = submit[kind](session=s, spec=spec, base_dir=job._base_path, source=job._source)
        except ValidationError as exc:
            raise ValidationError(f"{job._source}: {exc}") from None
        return self._entity(record)

    @staticmethod
    def _parse(kind: str, data: dict, job: Job) -> Any:
        from backend.errors import ValidationError
        from backend.specs import parse_spec
        from backend.specs.job import CommandJobSpec
        from backend.specs.pipeline import PipelineJobSpec
        from backend.specs.sweep import SweepJobSpec

        if kind == "command":
            inputs = getattr(job, "inputs", None) or {}
            swept = [name for name, value in inputs.items() if isinstance(value, SweepDistribution)]
            if swept:
                raise ValidationError(
                    f"{job._source}: inputs.{swept[0]}: a search-space value ({inputs[swept[0]].type}) needs "
                    "a sweep: submit job.sweep(primary_metric=..., goal=...)"
                )
        models = {"command": CommandJobSpec, "sweep": SweepJobSpec, "pipeline": PipelineJobSpec}
        return parse_spec(models[kind], data, source=job._source)

    def _submit_command(self, **kwargs: Any) -> Any:
        from backend.services import jobs

        return jobs.submit_command_job(workspace=self._workspace, **kwargs)

    def _submit_sweep(self, **kwargs: Any) -> Any:
        from backend.services import sweeps

        return sweeps.submit_sweep(workspace=self._workspace, **kwargs)

    def _submit_pipeline(self, **kwargs: Any) -> Any:
        from backend.services import pipelines

        return pipelines.submit_pipeline(workspace=self._workspace, **kwargs)

    def get(self, name: str) -> Job:
        return self._entity(self._record(name))

    def list(
        self, parent_job_name: str | None = None, *, list_view_type: str = ListViewType.ACTIVE_ONLY
    ) -> list[Job]:
        """Jobs newest first: top-level ones, or the children of ``parent_job_name``."""
        from backend.services import jobs, open_session

        with open_session() as s:
            records = jobs.list_jobs(
                session=s,
                workspace=self._workspace,
                parent=parent_job_name,
                include_archived=list_view_type != ListViewType.ACTIVE_ONLY,
            )
        if list_view_type == ListViewType.ARCHIVED_ONLY:
            records = [r for r in records if r.archived]
        return [self._entity(r) for r in records]

    def stream(self, name: str) -> None:
        """Print the job's log as it comes until the job ends; raise JobException unless it completed."""
        from backend.services import jobs
        from studio.ml.exceptions import JobException

        record = self._record(name)
        url = studio_url(self._workspace, name)
        print(f"RunId: {name}")
        print(f"Web View: {url or 'none (start `studio up` with its UI for a link)'}")
        print()
        offset = 0
        while True:
            record = self._record(name)
            # Read the log after the status: once the status is terminal, this read has the whole log.
            text, offset = jobs.read_log(workspace=self._workspace, name=name, offset=offset)
            if text:
                sys.stdout.write(text)
                sys.stdout.flush()
            if record.status in TERMINAL:
                break
            time.sleep(STREAM_POLL_S)
        print()
        print("Execution Summary")
        print("=================")
        print(f"RunId: {name}")
        print(f"Status: {record.status}")
        if url:
            print(f"Web View: {url}")
        if record.status != JobStatus.COMPLETED:
            reason = (record.failure_reason or "no reason was recorded").splitlines()[0]
            raise JobException(
                f"job {name} ended {record.status}: {reason} (log: `studio job stream -n {name}`)",
                name=name,
                status=record.status,
                failure_reason=record.failure_reason,
            )

    def begin_cancel(self, name: str) -> CancelPoller:
        """Request the cancel; the poller's ``result()`` waits until the job has ended."""
        self.cancel(name)
        return CancelPoller(self, name)

    def cancel(self, name: str) -> Job:
        """Request the cancel and return at once (a queued job is Canceled, a running one CancelRequested)."""
        from backend.services import jobs, open_session

        with open_session() as s:
            record = jobs.cancel_job(session=s, workspace=self._workspace, name=name)
        return self._entity(record)

    def download(
        self, name: str, *, download_path: str | Path = ".", output_name: str | None = None, all: bool = False
    ) -> None:
        """Copy named outputs to ``<download_path>/named-outputs/<output>``; without ``output_name`` also the
        logs (``logs/``) and ``./outputs`` (``artifacts/outputs``) — everything, so ``all=True`` adds nothing."""
        from backend.services import jobs, open_session

        with open_session() as s:
            jobs.download_job(
                session=s,
                workspace=self._workspace,
                name=name,
                dest=Path(download_path),
                output_name=output_name,
            )

    def archive(self, name: str) -> None:
        from backend.services import jobs, open_session

        with open_session() as s:
            jobs.archive_job(session=s, workspace=self._workspace, name=name)

    def restore(self, name: str) -> None:
        from backend.services import jobs, open_session

        with open_session() as s:
            jobs.archive_job(session=s, workspace=self._workspace, name=name, archived=False)


class CancelPoller:
    """What ``begin_cancel`` returns, like the cloud's LROPoller."""

    def __init__(self, operations: JobOperations, name: str):
        self._ops = operations
        self._name = name

    def status(self) -> str:
        return self._ops._record(self._name).status

    def done(self) -> bool:
        from backend.services.jobs import TERMINAL

        return self.status() in TERMINAL

    def result(self, timeout: float | None = None) -> None:
        """Wait until the job has ended (at most ``timeout`` seconds)."""
        from backend.services import jobs

        jobs.wait_for_end(
            workspace=self._ops._workspace,
            name=self._name,
            timeout_s=float("inf") if timeout is None else timeout,
        )

    wait = result


class DataOperations(_Operations):
    def create_or_update(self, data: Data) -> Data:
        """Register a data version; a local path (relative to where ``Data`` was made) is uploaded."""
        from backend.services import data_assets, open_session
        from backend.specs import parse_spec
        from backend.specs.data import DataSpec

        spec = parse_spec(DataSpec, data._to_dict(), source=f"Data(name={data.name!r})")
        create = data_assets.DataAssetCreate(
            **spec.model_dump(include=set(data_assets.DataAssetCreate.model_fields))
        )
        with open_session() as s:
            record = data_assets.create_data_asset(
                session=s, workspace=self._workspace, data=create, base_dir=data._base_path
            )
        return data_from_record(record)

    def get(self, name: str, version: str | int | None = None, label: str | None = None) -> Data:
        from backend.services import data_assets, open_session

        with open_session() as s:
            record = data_assets.get_data_asset(
                session=s,
                workspace=self._workspace,
                name=name,
                version=None if version is None else str(version),
                label=label,
            )
        return data_from_record(record)

    def list(self, name: str | None = None, *, list_view_type: str = ListViewType.ACTIVE_ONLY) -> list[Data]:
        """Every data asset (name and ``latest_version``), or with ``name`` every version of it."""
        from backend.services import data_assets, open_session

        with open_session() as s:
            if name:
                versions = data_assets.list_versions(session=s, workspace=self._workspace, name=name)
                return [
                    data_from_record(v)
                    for v in versions
                    if list_view_type == ListViewType.ALL
                    or v.archived == (list_view_type == ListViewType.ARCHIVED_ONLY)
                ]
            summaries = data_assets.list_data_assets(
                session=s,
                workspace=self._workspace,
                include_archived=list_view_type != ListViewType.ACTIVE_ONLY,
            )
        if list_view_type == ListViewType.ARCHIVED_ONLY:
            summaries = [x for x in summaries if x.archived]
        return [data_from_summary(x) for x in summaries]

    def archive(self, name: str, version: str | int | None = None) -> None:
        from backend.services import data_assets, open_session

        with open_session() as s:
            data_assets.archive_data_asset(
                session=s,
                workspace=self._workspace,
                name=name,
                version=None if version is None else str(version),
            )

    def restore(self, name: str, version: str | int | None = None) -> None:
        from backend.services import data_assets, open_session

        with open_session() as s:
            data_assets.restore_data_asset(
                session=s,
                workspace=self._workspace,
                name=name,
                version=None if version is None else str(version),
            )


class ComponentOperations(_Operations):
    def create_or_update(
        self, component: CommandComponent, *, version: str | int | None = None
    ) -> CommandComponent:
        """Register a component version (its code is snapshotted); without a version, the next integer."""
        import yaml

        from backend.errors import ValidationError
        from backend.services import components, open_session
        from backend.specs import parse_spec
        from backend.specs.component import CommandComponentSpec

        data = component._to_dict()
        if version is not None:
            data["version"] = str(version)
        spec = parse_spec(CommandComponentSpec, data, source=component._source)
        if component._file is not None and data == component._loaded:
            text = component._file.read_text()
        else:
            text = yaml.safe_dump({k: v for k, v in data.items() if k != "$schema"}, sort_keys=False)
        try:
            with open_session() as s:
                record = components.register_component(
                    session=s,
                    workspace=self._workspace,
                    spec=spec,
                    base_dir=component._base_path,
                    source_yaml=text,
                )
        except ValidationError as exc:
            raise ValidationError(f"{component._source}: {exc}") from None
        return component_from_record(record)

    def get(self, name: str, version: str | int | None = None, label: str | None = None) -> CommandComponent:
        """A version, or the latest one (``label="latest"`` or neither given)."""
        from backend.services import components, open_session

        with open_session() as s:
            record = components.get_component(
                session=s,
                workspace=self._workspace,
                name=name,
                version=None if version is None else str(version),
                label=label,
            )
        return component_from_record(record)

    def list(
        self, name: str | None = None, *, list_view_type: str = ListViewType.ACTIVE_ONLY
    ) -> list[CommandComponent]:
        """Every component (name and ``latest_version``), or with ``name`` every version of it, newest first."""
        from backend.services import components, open_session

        with open_session() as s:
            if name:
                versions = components.list_component_versions(session=s, workspace=self._workspace, name=name)
                return [
                    component_from_record(v)
                    for v in versions
                    if list_view_type == ListViewType.ALL
                    or v.archived == (list_view_type == ListViewType.ARCHIVED_ONLY)
                ]
            summaries = components.list_components(
                session=s,
                workspace=self._workspace,
                include_archived=list_view_type != ListViewType.ACTIVE_ONLY,
            )
        return [component_from_summary(x) for x in summaries]

    def archive(self, name: str, version: str | int | None = None) -> None:
        from backend.services import components, open_session

        with open_session() as s:
            components.archive_component(
                session=s,
                workspace=self._workspace,
                name=name,
                version=None if version is None else str(version),
            )

    def restore(self, name: str, version: str | int | None = None) -> None:
        from backend.services import components, open_session

        with open_session() as s:
            components.archive_component(
                session=s,
                workspace=self._workspace,
                name=name,
                version=None if version is None else str(version),
                archived=False,
            )


class EnvironmentOperations(_Operations):
    def get(self, name: str, version: str | int | None = None, label: str | None = None) -> Environment:
        from backend.services import environments, open_session

        with open_session() as s:
            record = environments.get_environment(
                session=s,
                workspace=self._workspace,
                name=name,
                version=None if version is None else str(version),
                label=label,
            )
        return environment_from_record(record)

    def list(self, name: str | None = None) -> list[Environment]:
        """The latest version of each environment, or with ``name`` every version of it."""
        from backend.services import environments, open_session

        with open_session() as s:
            records = environments.list_environments(session=s, workspace=self._workspace, name=name)
        return [environment_from_record(r) for r in records]


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


__all__ = [
    "CancelPoller",
    "Command",
    "ComponentOperations",
    "ComputeOperations",
    "DataOperations",
    "EnvironmentOperations",
    "JobOperations",
]
