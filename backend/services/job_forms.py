"""The Jobs page's "Create job" form: from fields (and browser-uploaded code) to the cloud's command-job
YAML, then to ``submit_command_job``; and back from a job to a prefilled form (clone).

The form's YAML is exactly what is submitted: uploaded files are written to a temporary folder named
like the ``code:`` entry, and the YAML is validated by the same model as ``studio job create``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field
from sqlmodel import Session

from backend.errors import NotFoundError, ValidationError
from backend.services.jobs import JobPublic
from backend.specs.job import CommandJobSpec

SCHEMA = "https://azuremlschemas.azureedge.net/latest/commandJob.schema.json"
SOURCE = "job form"
CODE_DATASTORE = "workspaceworkingdirectory"
UPLOAD_FOLDER = "src"  # the code folder of loose uploaded files
CODE_FOLDER_DEPTH = 3
CODE_FOLDER_LIMIT = 500
INPUT_MODES = ("ro_mount", "download", "direct")
OUTPUT_MODES = ("rw_mount", "upload")
DATA_TYPES = ("uri_folder", "uri_file", "mltable")


class InputField(BaseModel):
    name: str
    kind: Literal["literal", "data"] = "literal"
    value: str = ""  # a literal as typed (read as a YAML scalar), or a data reference / URI
    type: str = "uri_folder"  # data inputs only
    mode: str = "ro_mount"  # data inputs only


class OutputField(BaseModel):
    name: str
    type: str = "uri_folder"
    mode: str = "rw_mount"
    asset_name: str = ""  # register the output as this data asset when the job completes
    asset_version: str = ""
    path: str = ""  # a datastore location; empty: the job's default output folder


class JobForm(BaseModel):
    name: str = ""
    display_name: str = ""
    experiment_name: str = ""
    description: str = ""
    command: str = ""
    environment: str = ""
    compute: str = "serverless"
    code: str = ""  # a datastore folder URI; empty with uploaded files or without code
    inputs: list[InputField] = Field(default_factory=list)
    outputs: list[OutputField] = Field(default_factory=list)
    environment_variables: dict[str, str] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    timeout: int | None = None


class Choice(BaseModel):
    """An option of a form's picker: the reference the YAML gets, and how the page shows it."""

    reference: str
    label: str
    kind: str
    type: str = ""
    description: str = ""


# ------------------------------------------------------------------------------------------ uploads


def _clean_upload_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/").lstrip("/"))
    if not path.parts or any(p in ("..", ".") for p in path.parts):
        raise ValidationError(f"code: uploaded file name {name!r} is not a plain relative path")
    return path


def code_folder_name(names: list[str]) -> str:
    """The folder uploaded files form: their common top folder (a folder upload), else ``src``."""
    paths = [_clean_upload_name(n) for n in names]
    tops = {p.parts[0] for p in paths}
    if len(tops) == 1 and all(len(p.parts) > 1 for p in paths):
        return tops.pop()
    return UPLOAD_FOLDER


def _write_uploads(files: list[tuple[str, bytes]], root: Path) -> str:
    folder = code_folder_name([n for n, _ in files])
    for name, data in files:
        path = _clean_upload_name(name)
        if path.parts[0] == folder and len(path.parts) > 1 and folder != UPLOAD_FOLDER:
            path = PurePosixPath(*path.parts[1:])
        target = root / folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folder


# ------------------------------------------------------------------------------------- form -> YAML


def _literal(text: str) -> Any:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, str | int | float | bool) else text


def form_data(form: JobForm, *, uploaded: list[str] | None = None) -> dict[str, Any]:
    """The command-job YAML mapping the form stands for (``uploaded``: names of uploaded code files)."""
    data: dict[str, Any] = {"$schema": SCHEMA, "type": "command"}
    for key in ("name", "display_name", "experiment_name", "description"):
        value = getattr(form, key).strip()
        if value:
            data[key] = value
    if uploaded:
        data["code"] = code_folder_name(uploaded)
        if code_folder_name(uploaded) == UPLOAD_FOLDER and "experiment_name" not in data:
            data["experiment_name"] = "Default"  # loose files have no folder name to take it from
    elif form.code.strip():
        data["code"] = form.code.strip()
    data["command"] = form.command
    data["environment"] = form.environment
    if form.compute and form.compute != "serverless":
        data["compute"] = f"azureml:{form.compute}"
    inputs: dict[str, Any] = {}
    for item in form.inputs:
        if item.kind == "literal":
            inputs[item.name] = _literal(item.value)
        else:
            inputs[item.name] = {"type": item.type, "path": item.value.strip(), "mode": item.mode}
    if inputs:
        data["inputs"] = inputs
    outputs: dict[str, Any] = {}
    for item in form.outputs:
        out: dict[str, Any] = {"type": item.type, "mode": item.mode}
        if item.path.strip():
            out["path"] = item.path.strip()
        if item.asset_name.strip():
            out["name"] = item.asset_name.strip()
            if item.asset_version.strip():
                out["version"] = item.asset_version.strip()
        outputs[item.name] = out
    if outputs:
        data["outputs"] = outputs
    if form.environment_variables:
        data["environment_variables"] = dict(form.environment_variables)
    if form.tags:
        data["tags"] = dict(form.tags)
    if form.timeout:
        data["limits"] = {"timeout": int(form.timeout)}
    return data


def form_yaml(form: JobForm, *, uploaded: list[str] | None = None) -> str:
    return yaml.safe_dump(form_data(form, uploaded=uploaded), sort_keys=False, allow_unicode=True)


def _check_names(kind: str, names: list[str]) -> None:
    import re

    seen = set()
    for name in names:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name or ""):
            raise ValidationError(
                f"{SOURCE}: {kind} name {name!r} is not valid (letters, digits and '_', not starting with a digit)"
            )
        if name in seen:
            raise ValidationError(f"{SOURCE}: two {kind}s are named {name!r}")
        seen.add(name)


def validate_form(form: JobForm, *, uploaded: list[str] | None = None) -> CommandJobSpec:
    """The form as a validated spec; the first problem is one ValidationError naming the field."""
    from backend.specs import parse_spec

    if not form.command.strip():
        raise ValidationError(f"{SOURCE}: field 'command' is required (what to run, e.g. python train.py)")
    if not form.environment.strip():
        raise ValidationError(f"{SOURCE}: field 'environment' is required (pick one)")
    _check_names("input", [i.name for i in form.inputs])
    _check_names("output", [o.name for o in form.outputs])
    for item in form.inputs:
        if not item.value.strip():
            what = "a value" if item.kind == "literal" else "the data to read"
            raise ValidationError(f"{SOURCE}: inputs.{item.name}: give {what}")
    if uploaded:
        for name in uploaded:
            _clean_upload_name(name)
    return parse_spec(CommandJobSpec, form_data(form, uploaded=uploaded), source=SOURCE)


def submit_job_form(
    *, session: Session, workspace: str, form: JobForm, files: list[tuple[str, bytes]] | None = None
) -> JobPublic:
    """Submit the form: uploaded files become the job's code snapshot (through a temporary folder)."""
    from backend.services import jobs

    files = list(files or [])
    spec = validate_form(form, uploaded=[n for n, _ in files])
    with tempfile.TemporaryDirectory(prefix="studio-job-form-") as tmp:
        base = Path(tmp)
        if files:
            _write_uploads(files, base)
        return jobs.submit_command_job(
            session=session, workspace=workspace, spec=spec, base_dir=base, source=SOURCE
        )


# ------------------------------------------------------------------------------------- job -> form


def _environment_reference(env: dict[str, Any] | str | None) -> str:
    reference = env.get("reference") if isinstance(env, dict) else env
    if not reference:
        return ""
    reference = reference.replace(":@", "@")  # a label recorded as a version
    return reference if reference.startswith("azureml") else f"azureml:{reference}"


def _literal_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def form_from_job(*, session: Session, workspace: str, name: str) -> JobForm:
    """A form prefilled from a job (to edit and resubmit): same code snapshot, command, inputs, outputs."""
    from backend.services import datastores, jobs

    row = jobs.get_job_row(session=session, workspace=workspace, name=name)
    spec = dict(row.spec or {})
    default_store = datastores.default_datastore_name(session=session, workspace=workspace)
    inputs = []
    for key, value in (spec.get("inputs") or {}).items():
        if value is None:
            continue
        if value.get("kind") == "literal":
            inputs.append(InputField(name=key, kind="literal", value=_literal_text(value["value"])))
        else:
            asset = value.get("asset")
            inputs.append(
                InputField(
                    name=key,
                    kind="data",
                    value=f"azureml:{asset}" if asset else value["uri"],
                    type=value.get("type", "uri_folder"),
                    mode=value.get("mode", "ro_mount"),
                )
            )
    outputs = []
    for key, out in (spec.get("outputs") or {}).items():
        default_uri = f"azureml://datastores/{default_store}/paths/azureml/{row.name}/{key}/"
        outputs.append(
            OutputField(
                name=key,
                type=out.get("type", "uri_folder"),
                mode=out.get("mode", "rw_mount"),
                asset_name=out.get("asset_name") or "",
                asset_version="",  # a fixed version would collide with the one the original registered
                path="" if out.get("uri") == default_uri else out.get("uri", ""),
            )
        )
    return JobForm(
        display_name=row.display_name if row.display_name != row.name else "",
        experiment_name=row.experiment_name,
        description=row.description,
        command=spec.get("command") or "",
        environment=_environment_reference(spec.get("environment")),
        compute=row.compute,
        code=spec.get("code") or "",
        inputs=inputs,
        outputs=outputs,
        environment_variables=dict(spec.get("environment_variables") or {}),
        tags={k: v for k, v in (row.tags or {}).items() if not k.startswith("studio.")},
        timeout=spec.get("timeout"),
    )


def job_environment(*, session: Session, workspace: str, name: str) -> dict[str, Any]:
    """The environment a job was given at submission: ``{reference, reason, python, spec_hash}``."""
    from backend.services import jobs

    row = jobs.get_job_row(session=session, workspace=workspace, name=name)
    env = (row.spec or {}).get("environment") or {}
    if not isinstance(env, dict):
        return {"reference": str(env), "reason": "", "python": None, "spec_hash": None}
    return {
        "reference": _environment_reference(env).removeprefix("azureml:"),
        "reason": env.get("reason") or "",
        "python": env.get("python"),
        "spec_hash": env.get("spec_hash"),
    }


def job_code(*, session: Session, workspace: str, name: str) -> str | None:
    """The URI of the job's code snapshot (None for a job without code)."""
    from backend.services import jobs

    return (jobs.get_job_row(session=session, workspace=workspace, name=name).spec or {}).get("code")


# ------------------------------------------------------------------------------------------ pickers


def environment_choices(*, session: Session, workspace: str) -> list[Choice]:
    """Curated environments (they run in the built-in one), then registered ones (latest, then pinned)."""
    from backend.services import environments

    builtin = environments.builtin_environment()
    found = [
        Choice(
            reference=f"azureml:{env.name}@latest",
            label=f"{env.name} (curated)",
            kind="curated",
            description=f"{env.description}; runs in the built-in environment "
            f"(Python {builtin.python_version}: {', '.join(builtin.packages)})",
        )
        for env in environments.list_builtin_environments()
        if env.kind == "curated"
    ]
    for env in environments.list_environments(session=session, workspace=workspace):
        found.extend(
            Choice(
                reference=f"azureml:{env.name}{ref}",
                label=f"{env.name}{ref} (registered)",
                kind="registered",
                description=env.reason,
            )
            for ref in ("@latest", f":{env.version}")
        )
    return found


def data_choices(*, session: Session, workspace: str) -> list[Choice]:
    """Every registered data asset version that is not archived, newest versions first."""
    from backend.services import data_assets

    found = []
    for asset in data_assets.list_data_assets(session=session, workspace=workspace):
        try:
            versions = data_assets.list_data_asset_versions(
                session=session, workspace=workspace, name=asset.name
            )
        except NotFoundError:
            continue
        found += [
            Choice(
                reference=f"azureml:{v.name}:{v.version}",
                label=f"{v.name}:{v.version} ({v.type})",
                kind="data",
                type=v.type,
                description=v.description,
            )
            for v in versions
            if not v.archived
        ]
    return found


def code_folders(*, session: Session, workspace: str) -> list[str]:
    """Folders on the ``workspaceworkingdirectory`` datastore (a few levels deep), to run code from."""
    from backend.services import datastores

    store = datastores.get_filesystem(session=session, workspace=workspace, name=CODE_DATASTORE)
    found: list[str] = []
    level = [""]
    for _depth in range(CODE_FOLDER_DEPTH):
        deeper = []
        for folder in level:
            for entry in store.ls(folder):
                if entry.is_dir and not entry.name.startswith("."):
                    found.append(entry.path)
                    deeper.append(entry.path)
                    if len(found) >= CODE_FOLDER_LIMIT:
                        return sorted(found)
        level = deeper
    return sorted(found)


def code_folder_uri(path: str) -> str:
    return f"azureml://datastores/{CODE_DATASTORE}/paths/{path.strip('/')}"


__all__ = [
    "Choice",
    "InputField",
    "JobForm",
    "OutputField",
    "code_folder_name",
    "code_folder_uri",
    "code_folders",
    "data_choices",
    "environment_choices",
    "form_data",
    "form_from_job",
    "form_yaml",
    "job_code",
    "job_environment",
    "output_location",
    "submit_job_form",
    "validate_form",
]


def output_location(uri: str) -> tuple[str, str]:
    """The datastore and the path on it of a job output's ``azureml://datastores/...`` URI."""
    from backend.storage import uris

    ref = uris.parse_reference(uri, field="output")
    if not isinstance(ref, uris.DatastorePath):
        raise ValidationError(f"output {uri!r} is not on a datastore")
    return ref.datastore, ref.path
