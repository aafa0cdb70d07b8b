"""``ml_client.jobs``: submit, get, list, stream, cancel, download, archive and restore jobs."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from backend.statuses import TERMINAL, JobStatus
from studio.ml.constants import ListViewType
from studio.ml.entities import Job, job_from_record
from studio.ml.entities._job.sweep.search_space import SweepDistribution
from studio.ml.operations._base import _Operations

STREAM_POLL_S = 0.25  # how often stream() looks for new log text and a status change
SUBMITTABLE = ("command", "sweep", "pipeline")


def studio_url(workspace: str, name: str) -> str | None:
    """The UI's deep link to a job, when ``studio up`` runs with its UI."""
    from backend.services.system import current_runtime

    runtime = current_runtime()
    if runtime is None or not runtime.ui_url:
        return None
    return f"{runtime.ui_url.rstrip('/')}/jobs?{urlencode({'job': name, 'ws': workspace})}"


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
        from backend.services import jobs

        return self._entity(self._call(jobs.cancel_job, name=name))

    def download(
        self, name: str, *, download_path: str | Path = ".", output_name: str | None = None, all: bool = False
    ) -> None:
        """Copy named outputs to ``<download_path>/named-outputs/<output>``; without ``output_name`` also the
        logs (``logs/``) and ``./outputs`` (``artifacts/outputs``) — everything, so ``all=True`` adds nothing."""
        from backend.services import jobs

        self._call(jobs.download_job, name=name, dest=Path(download_path), output_name=output_name)

    def archive(self, name: str) -> None:
        from backend.services import jobs

        self._call(jobs.archive_job, name=name)

    def restore(self, name: str) -> None:
        from backend.services import jobs

        self._call(jobs.restore_job, name=name)


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


__all__ = ["CancelPoller", "JobOperations"]
