"""Submitting the cloud's job YAML: one entry point for every job type (``command``, ``sweep``,
``pipeline``), above the services that queue each type."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from backend.errors import ValidationError
from backend.services.jobs import JobPublic, submit_command_job
from backend.services.pipelines import submit_pipeline
from backend.services.sweeps import submit_sweep
from backend.specs import apply_overrides, parse_spec, read_yaml
from backend.specs.job import CommandJobSpec
from backend.specs.pipeline import PipelineJobSpec
from backend.specs.sweep import SweepJobSpec

# job type -> (spec model, submitter)
JOB_TYPES = {
    "command": (CommandJobSpec, submit_command_job),
    "sweep": (SweepJobSpec, submit_sweep),
    "pipeline": (PipelineJobSpec, submit_pipeline),
}


def create_job_from_file(
    *, session: Session, workspace: str, file: Path, overrides: list[str] | None = None
) -> JobPublic:
    """Parse ``file`` (with ``--set key=value`` overrides applied), validate it as its ``type`` says and
    queue the job; every error names the file."""
    file = Path(file)
    data = apply_overrides(read_yaml(file), overrides, source=str(file))
    kind = data.get("type", "command")
    if kind not in JOB_TYPES:
        raise ValidationError(
            f"{file}: field 'type': job type {kind!r} is not supported (supported: {', '.join(JOB_TYPES)})"
        )
    spec_model, submit = JOB_TYPES[kind]
    spec = parse_spec(spec_model, data, source=str(file))
    try:
        return submit(
            session=session, workspace=workspace, spec=spec, base_dir=file.parent.resolve(), source=str(file)
        )
    except ValidationError as exc:
        raise ValidationError(f"{file}: {exc}") from None
