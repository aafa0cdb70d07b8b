"""What the Components page's forms do with a component: pick it by reference, use it in a command job
("Use in a job"), register it from browser uploads or from a YAML file on the ``workspaceworkingdirectory``
datastore (the page hands over bytes and paths; files are written here, never by the page)."""

from __future__ import annotations

import posixpath
import re
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from sqlmodel import Session

from backend.errors import NotFoundError, ValidationError
from backend.services import jobs
from backend.services.pipeline_composer import DATA_TYPES, ComposedInput

COMMAND_SCHEMA = "https://azuremlschemas.azureedge.net/latest/commandJob.schema.json"
CODE_DATASTORE = "workspaceworkingdirectory"
YAML_SEARCH_DEPTH = 4  # folder levels searched for component YAML files on the working directory
YAML_SEARCH_LIMIT = 500


def component_references(*, session: Session, workspace: str) -> list[str]:
    """Every registered component version that is not archived, as ``name:version`` (newest first per name)."""
    from backend.services import components

    found = []
    for summary in components.list_components(session=session, workspace=workspace):
        versions = components.list_component_versions(session=session, workspace=workspace, name=summary.name)
        found += [f"{v.name}:{v.version}" for v in versions if not v.archived]
    return found


def get_component_ref(*, session: Session, workspace: str, reference: str):
    """The component a ``name:version`` (or ``azureml:name:version``, ``name@latest``, ``name``) names."""
    from backend.services import components

    text = reference.removeprefix("azureml:")
    if "@" in text:
        name, version = text.split("@", 1)[0], None
    else:
        name, _, version = text.partition(":")
    return components.get_component(session=session, workspace=workspace, name=name, version=version or None)


# ================================================================================= a component as a job


def component_job_data(
    component,
    *,
    inputs: dict[str, ComposedInput] | None = None,
    compute: str = "serverless",
    display_name: str = "",
    experiment_name: str = "",
) -> dict[str, Any]:
    """The cloud's command-job mapping that runs a registered component (its code snapshot, command and
    environment) with the given input values; an input left at ``default`` takes the component's default."""
    spec = component.spec
    data: dict[str, Any] = {"$schema": COMMAND_SCHEMA, "type": "command"}
    data["display_name"] = display_name.strip() or component.display_name or component.name
    if experiment_name.strip():
        data["experiment_name"] = experiment_name.strip()
    if spec.get("code"):
        data["code"] = spec["code"]
    data["command"] = spec["command"]
    data["environment"] = spec["environment"]
    if spec.get("environment_variables"):
        data["environment_variables"] = dict(spec["environment_variables"])
    if compute and compute != "serverless":
        data["compute"] = f"azureml:{compute}"
    given = inputs or {}
    job_inputs: dict[str, Any] = {}
    for port_name, port in (spec.get("inputs") or {}).items():
        binding = given.get(port_name) or ComposedInput()
        kind = port.get("type", "string")
        if binding.kind == "literal":
            job_inputs[port_name] = binding.value
        elif binding.kind == "data":
            job_inputs[port_name] = {"type": kind, "path": str(binding.value or "").strip()}
        elif port.get("default") is not None:
            job_inputs[port_name] = (
                {"type": kind, "path": port["default"]} if kind in DATA_TYPES else port["default"]
            )
        else:  # declared, so the command's $[[...]] parts can name it; optional, so it may stay empty
            job_inputs[port_name] = {"type": kind, "optional": True}
    if job_inputs:
        data["inputs"] = job_inputs
    outputs = {
        out: {"type": (port or {}).get("type", "uri_folder")}
        for out, port in (spec.get("outputs") or {}).items()
    }
    if outputs:
        data["outputs"] = outputs
    for key in ("resources", "limits", "distribution"):
        if spec.get(key):
            data[key] = spec[key]
    data["tags"] = {"component": f"{component.name}:{component.version}"}
    return data


def component_job_yaml(component, **kwargs: Any) -> str:
    return yaml.safe_dump(component_job_data(component, **kwargs), sort_keys=False, allow_unicode=True)


def submit_component_job(
    *,
    session: Session,
    workspace: str,
    component: str,
    inputs: dict[str, ComposedInput] | None = None,
    compute: str = "serverless",
    display_name: str = "",
    experiment_name: str = "",
) -> jobs.JobPublic:
    """Run a registered component (``name:version``) once as a command job."""
    from backend.specs import parse_spec
    from backend.specs.component import ComponentInput, check_value
    from backend.specs.job import CommandJobSpec

    inputs = {k: v.model_copy() for k, v in (inputs or {}).items()}  # values are converted below
    found = get_component_ref(session=session, workspace=workspace, reference=component)
    source = f"component {found.name}:{found.version}"
    ports = found.spec.get("inputs") or {}
    for port_name, binding in (inputs or {}).items():
        if port_name not in ports:
            raise ValidationError(f"{source}: inputs.{port_name}: the component has no such input")
        if binding.kind == "literal":
            binding.value = check_value(
                port_name,
                ComponentInput.model_validate(ports[port_name]),
                binding.value,
                field=f"{source}: inputs",
            )
        elif binding.kind == "data" and not str(binding.value or "").strip():
            raise ValidationError(f"{source}: inputs.{port_name}: pick the data to read")
    missing = [
        n
        for n, p in ports.items()
        if (inputs or {}).get(n, ComposedInput()).kind == "default"
        and p.get("default") is None
        and not p.get("optional")
    ]
    if missing:
        raise ValidationError(
            f"{source}: inputs.{missing[0]}: the component needs this input "
            f"(type {ports[missing[0]].get('type')})"
        )
    data = component_job_data(
        found, inputs=inputs, compute=compute, display_name=display_name, experiment_name=experiment_name
    )
    spec = parse_spec(CommandJobSpec, data, source=source)
    try:
        return jobs.submit_command_job(
            session=session, workspace=workspace, spec=spec, base_dir=None, source=source
        )
    except ValidationError as exc:
        raise ValidationError(f"{source}: {exc}") from None


# ======================================================================== registering from the browser


def _clean(name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/").lstrip("/"))
    if not path.parts or any(p in ("..", ".") for p in path.parts):
        raise ValidationError(f"uploaded file name {name!r} is not a plain relative path")
    return path


def _local_folders(data: dict, label: str, *, allow_parent: bool) -> list[tuple[str, str]]:
    """The YAML's local folders (``code`` and ``additional_includes``), relative to the YAML file.

    A YAML that arrives through the browser may not name server paths: absolute paths are refused, and
    so are paths above the YAML's folder unless the caller keeps them inside a datastore.
    """
    found = []
    for field, value in [("code", data.get("code"))] + [
        ("additional_includes", v) for v in data.get("additional_includes") or []
    ]:
        if not isinstance(value, str) or not value.strip() or re.match(r"^[a-z][a-z0-9+.-]*:", value.strip()):
            continue
        folder = posixpath.normpath(value.strip().replace("\\", "/"))
        if folder.startswith("/") or (not allow_parent and folder.split("/")[0] == ".."):
            raise ValidationError(
                f"{label}: field '{field}': {value!r} must be a folder beside the YAML "
                "(a YAML given through the browser cannot name other places on the server)"
            )
        found.append((field, folder))
    return found


def register_uploaded_component(
    *,
    session: Session,
    workspace: str,
    yaml_name: str,
    yaml_bytes: bytes,
    files: list[tuple[str, bytes]] | None = None,
):
    """Register a component from an uploaded YAML and its code files.

    Files are laid out next to the YAML: a file whose path starts with the YAML's ``code`` folder (a folder
    upload) keeps its path; loose files go into the ``code`` folder.
    """
    from backend.services import components

    files = list(files or [])
    label = PurePosixPath(yaml_name.replace("\\", "/")).name or "component.yml"
    try:
        data = yaml.safe_load(yaml_bytes.decode("utf-8")) or {}
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValidationError(f"{label}: not a readable YAML file ({first})") from None
    if not isinstance(data, dict):
        raise ValidationError(f"{label}: expected a mapping of fields (a component YAML)")
    local = _local_folders(data, label, allow_parent=False)
    folders = [folder for _, folder in local]
    code = next((folder for field, folder in local if field == "code"), None)
    if files and code is None:
        raise ValidationError(
            f"{label}: field 'code': the YAML names no local code folder, so the uploaded files would be unused "
            "(add e.g. 'code: ./src', or upload only the YAML)"
        )
    if code is not None and code != "." and not files:
        raise ValidationError(
            f"{label}: field 'code': {data['code']!r} is a local folder: upload its files too"
        )
    with tempfile.TemporaryDirectory(prefix="studio-component-upload-") as tmp:
        root = Path(tmp)
        for name, content in files:
            path = _clean(name)
            kept = any(str(path).startswith(f"{folder}/") for folder in folders if folder != ".")
            target = root / path if kept or code in (None, ".") else root / code / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        (root / code if code else root).mkdir(parents=True, exist_ok=True)
        file = root / label
        file.write_bytes(yaml_bytes)
        try:
            return components.create_component_from_file(session=session, workspace=workspace, file=file)
        except ValidationError as exc:
            raise ValidationError(str(exc).replace(str(file), label).replace(tmp, ".")) from None


def component_yaml_files(*, session: Session, workspace: str) -> list[str]:
    """YAML files on the ``workspaceworkingdirectory`` datastore (a few folder levels deep)."""
    from backend.services import datastores

    store = datastores.get_filesystem(session=session, workspace=workspace, name=CODE_DATASTORE)
    found: list[str] = []
    level = [""]
    for _depth in range(YAML_SEARCH_DEPTH):
        deeper = []
        for folder in level:
            for entry in store.ls(folder):
                if entry.name.startswith("."):
                    continue
                if entry.is_dir:
                    deeper.append(entry.path)
                elif entry.name.lower().endswith((".yml", ".yaml")):
                    found.append(entry.path)
                    if len(found) >= YAML_SEARCH_LIMIT:
                        return sorted(found)
        level = deeper
    return sorted(found)


def register_component_from_datastore(*, session: Session, workspace: str, path: str):
    """Register a component from a YAML file on ``workspaceworkingdirectory`` (its code folder comes along)."""
    from backend.services import components, datastores
    from backend.storage.filesystems import clean_relative

    store = datastores.get_filesystem(session=session, workspace=workspace, name=CODE_DATASTORE)
    rel = clean_relative(path)
    label = f"azureml://datastores/{CODE_DATASTORE}/paths/{rel}"
    if not rel or not store.exists(rel) or store.is_dir(rel):
        raise NotFoundError(f"{label}: no such file on datastore {CODE_DATASTORE!r}")
    with tempfile.TemporaryDirectory(prefix="studio-component-ds-") as tmp:
        root = Path(tmp)
        file = root / rel
        store.get(rel, file)
        try:
            data = yaml.safe_load(file.read_text()) or {}
        except (UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ValidationError(f"{label}: not a readable YAML file ({str(exc).splitlines()[0]})") from None
        folder = posixpath.dirname(rel)
        for _field, local in _local_folders(data if isinstance(data, dict) else {}, label, allow_parent=True):
            source = clean_relative(posixpath.join(folder, local))
            if store.exists(source):  # "code: ." brings the YAML's whole folder
                store.get(source, root / source)
        try:
            return components.create_component_from_file(session=session, workspace=workspace, file=file)
        except ValidationError as exc:
            prefix = f"azureml://datastores/{CODE_DATASTORE}/paths/"
            raise ValidationError(str(exc).replace(str(file), label).replace(f"{tmp}/", prefix)) from None
