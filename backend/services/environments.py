"""Environments: versioned runtimes, their references and what a job runs with.

Curated and image-only environments run in the curated base venv (``base_environment``); one with Python
packages becomes a uv-built virtual environment, cached by the hash of its resolved spec
(``environment_specs`` turns conda and pip into that spec, ``environment_builds`` builds it,
``pythons`` finds the interpreter a ``python=`` pin asks for). Pages and the CLI call this module; the names
of the build engine they use are re-exported here.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Unpack

import yaml
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from backend.db.models import Environment, EnvironmentBuild, Workspace
from backend.errors import ConflictError, NotFoundError, ValidationError
from backend.services.assets import (
    MetadataChange,
    described,
    next_version,
    set_archived,
    update_metadata,
    version_sort_key,
)
from backend.services.environment_builds import (
    EnvironmentBuildPublic,
    build_rows,
    ensure_build_row,
    envs_root,
    get_build,
    queue_build,
    venv_python,
)
from backend.services.environment_specs import resolve_packages, spec_hash_of
from backend.specs import apply_overrides, parse_spec, parse_yaml_text, read_yaml
from backend.specs.environment import CondaFile, EnvironmentSpec

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
NAME_RULE = "1 to 255 characters: letters, digits, '-', '_' and '.', starting with a letter or digit"
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
CURATED_PREFIX = "azureml-"
BENCHMARK_NAME = "studio-benchmark"  # the environment benchmark jobs run in (base_environment.BENCHMARK)
ANONYMOUS_NAME = "CliV2AnonymousEnvironment"

BUILTIN_NAME = "Built-in"
BUILTIN_PACKAGES = ("numpy", "scipy", "pandas", "scikit-learn", "matplotlib", "mlflow")  # as the page says
# A few curated cloud names, listed so people see they resolve here (every AzureML-* name does).
CURATED_ENVIRONMENTS: dict[str, str] = {
    "AzureML-sklearn-1.5": "cloud curated: scikit-learn 1.5",
    "AzureML-sklearn-1.0-ubuntu20.04-py38-cpu": "cloud curated: scikit-learn 1.0",
    "AzureML-lightgbm-3.3": "cloud curated: LightGBM 3.3",
    "AzureML-minimal-ubuntu22.04-py39-cpu-inference": "cloud curated: minimal inference",
    "AzureML-ACPT-pytorch-1.13-py38-cuda11.7-gpu": "cloud curated: PyTorch 1.13 (GPU)",
    "AzureML-tensorflow-2.12-cuda11": "cloud curated: TensorFlow 2.12 (GPU)",
}


# ---------------------------------------------------------------------------------------------- models


class EnvironmentPublic(BaseModel):
    name: str
    version: str
    description: str
    tags: dict[str, str]
    image: str | None
    conda_file: dict[str, Any] | None
    pip_requirements: list[str]
    python_version: str | None
    spec_hash: str | None
    details: dict[str, Any]
    archived: bool
    created_at: datetime
    kind: str = "custom"
    uses_builtin: bool
    reason: str
    build_status: str | None


class ResolvedEnvironment(BaseModel):
    """What a job runs with: an interpreter, and why that one."""

    python: str
    reason: str
    spec_hash: str | None
    name: str
    version: str | None
    build_status: str | None = None
    curated: str = "base"  # which curated venv a job without its own environment runs in (base | benchmark)


class BuiltinEnvironment(BaseModel):
    name: str
    kind: str  # built-in | curated
    description: str
    python: str
    python_version: str
    packages: dict[str, str]
    ready: bool = True


class EnvironmentForm(BaseModel):
    """What the create form (or CLI flags) give: conda YAML as text, pip requirements as lines."""

    name: str
    version: str | None = None
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    image: str | None = None
    conda_yaml: str | None = None
    pip_requirements: list[str] = Field(default_factory=list)


# ------------------------------------------------------------------------------------ built-in and curated


def _python_version() -> str:
    return ".".join(str(p) for p in sys.version_info[:3])


def builtin_environment() -> BuiltinEnvironment:
    """The curated base environment: what curated and image-only environments run in."""
    from backend.services import base_environment

    base = base_environment.describe()
    state = (
        "built"
        if base.ready
        else ("being built" if base.building else "built by the first job that needs it")
    )
    return BuiltinEnvironment(
        name=BUILTIN_NAME,
        kind="built-in",
        description="The curated base environment: a virtual environment Studio builds once with uv "
        f"({state}); curated and image-only environments run in it, each job in a layer of its own.",
        python=base.python,
        python_version=base.python_version,
        packages=base.packages,
        ready=base.ready,
    )


def list_builtin_environments() -> list[BuiltinEnvironment]:
    """The built-in environment, then some curated cloud names (every ``AzureML-*`` name resolves too)."""
    builtin = builtin_environment()
    curated = [
        builtin.model_copy(update={"name": name, "kind": "curated", "description": text})
        for name, text in CURATED_ENVIRONMENTS.items()
    ]
    return [builtin, *curated]


def _builtin_summary() -> str:
    return f"the curated base environment: Python {_python_version()} with {', '.join(BUILTIN_PACKAGES)}"


def is_curated(name: str) -> bool:
    return name.lower().startswith(CURATED_PREFIX)


# ------------------------------------------------------------------------------- conda and pip to a spec


# ------------------------------------------------------------------------------------- versions and rows


def _workspace_row(session: Session, workspace: str) -> Workspace:
    from backend.services.lookup import get_workspace_row

    return get_workspace_row(session=session, name=workspace)


def _versions(session: Session, ws: Workspace, name: str) -> list[Environment]:
    rows = session.exec(
        select(Environment).where(Environment.workspace_id == ws.id, Environment.name == name)
    ).all()
    return sorted(rows, key=lambda r: version_sort_key(r.version))


def _known(session: Session, ws: Workspace) -> str:
    rows = session.exec(select(Environment).where(Environment.workspace_id == ws.id)).all()
    by_name: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda r: (r.name, version_sort_key(r.version))):
        by_name.setdefault(row.name, []).append(row.version)
    return ", ".join(f"{n}:{','.join(v)}" for n, v in by_name.items()) or "none"


def _get_row(
    session: Session, ws: Workspace, name: str, version: str | None, label: str | None, *, error=NotFoundError
) -> Environment:
    if label is not None and label != "latest":
        raise ValidationError(f"label {label!r} is not known: the only label is 'latest'")
    rows = _versions(session, ws, name)
    if not rows:
        raise error(
            f"environment {name!r} does not exist in workspace {ws.name!r} "
            f"(environments: {_known(session, ws)}; curated 'AzureML-*' names are accepted too)"
        )
    if version is not None and label is None:
        for row in rows:
            if row.version == version:
                return row
        raise error(
            f"environment {name!r} has no version {version!r} (versions: {', '.join(r.version for r in rows)})"
        )
    live = [r for r in rows if not r.archived]
    if not live:
        raise error(f"environment {name!r} has only archived versions; restore one or name its version")
    return live[-1]


def _reason(row: Environment) -> str:
    ref = f"{row.name}:{row.version}"
    if row.spec_hash:
        pin = f"Python {row.python_version}" if row.python_version else f"Python {_python_version()}"
        image = f"; its image {row.image!r} is recorded, not run" if row.image else ""
        return (
            f"environment {ref} lists Python packages: it runs in its own virtual environment "
            f"({pin}, built with uv, spec {row.spec_hash[:12]}){image}"
        )
    what = f"image {row.image!r}" if row.image else "a docker build context"
    return (
        f"environment {ref} names only {what}; Studio records images and does not run containers, "
        f"so it runs in the built-in environment ({_builtin_summary()})"
    )


def _public(row: Environment, build: EnvironmentBuild | None) -> EnvironmentPublic:
    return EnvironmentPublic(
        name=row.name,
        version=row.version,
        description=row.description,
        tags=dict(row.tags or {}),
        image=row.image,
        conda_file=row.conda_file,
        pip_requirements=list(row.pip_requirements or []),
        python_version=row.python_version,
        spec_hash=row.spec_hash,
        details=dict(row.details or {}),
        archived=row.archived,
        created_at=row.created_at,
        uses_builtin=row.spec_hash is None,
        reason=_reason(row),
        build_status=build.status if build else None,
    )


# -------------------------------------------------------------------------------------------- create


def _check_name(name: str | None, source: str) -> str:
    if not name:
        raise ValidationError(f"{source}: field 'name' is required")
    if not NAME_PATTERN.match(name):
        raise ValidationError(f"{source}: environment name {name!r} is not valid: use {NAME_RULE}")
    if is_curated(name):
        raise ValidationError(
            f"{source}: environment names starting with 'AzureML-' are reserved for curated environments"
        )
    return name


def _load_conda(value: str | dict | None, base_dir: Path, source: str) -> tuple[CondaFile | None, str, str]:
    """The conda file as a model, where it came from, and the source name used in messages."""
    if value is None:
        return None, "", source
    if isinstance(value, dict):
        where = f"{source}: conda_file"
        return parse_spec(CondaFile, value, source=where), "", where
    path = Path(value.removeprefix("file:")).expanduser()
    path = path if path.is_absolute() else base_dir / path
    if not path.is_file():
        raise ValidationError(f"{source}: field 'conda_file': file {value!r} not found (looked at {path})")
    return parse_spec(CondaFile, read_yaml(path), source=str(path)), str(path), str(path)


def _record_build_context(spec: EnvironmentSpec, base_dir: Path, source: str) -> dict[str, Any] | None:
    if spec.build is None:
        return None
    given = spec.build.path
    if "://" in given:
        return spec.build.model_dump(exclude_none=True)
    path = Path(given).expanduser()
    path = path if path.is_absolute() else base_dir / path
    if not path.exists():
        raise ValidationError(f"{source}: field 'build.path': folder {given!r} not found (looked at {path})")
    recorded = spec.build.model_dump(exclude_none=True)
    recorded["path"] = str(path.resolve())
    return recorded


def create_environment(
    *,
    session: Session,
    workspace: str,
    spec: EnvironmentSpec,
    base_dir: str | Path | None = None,
    pip_requirements: list[str] | None = None,
    source: str = "environment",
) -> EnvironmentPublic:
    """Register one environment version; every check runs before anything is written."""
    ws = _workspace_row(session, workspace)
    base = Path(base_dir) if base_dir else Path.cwd()
    name = _check_name(spec.name, source)
    rows = _versions(session, ws, name)
    version = spec.version
    if version is not None:
        if version == "latest" or not VERSION_PATTERN.match(version):
            raise ValidationError(
                f"{source}: version {version!r} is not valid: use letters, digits, '-', '_' and '.' "
                "(and not 'latest')"
            )
        if any(r.version == version for r in rows):
            raise ConflictError(
                f"environment {name}:{version} already exists; versions cannot change: use another version "
                f"(or leave version out to get {next_version(r.version for r in rows)})"
            )
    else:
        version = next_version(r.version for r in rows)

    conda, conda_path, conda_source = _load_conda(spec.conda_file, base, source)
    build_context = _record_build_context(spec, base, source)
    pip_lines = [str(p).strip() for p in pip_requirements or [] if str(p).strip()]
    resolved = resolve_packages(conda, pip_lines, source=source, conda_source=conda_source)
    if not (spec.image or conda or build_context or resolved.requirements):
        raise ValidationError(
            f"{source}: an environment needs an 'image', a 'conda_file', a 'build' context or pip requirements"
        )
    if spec.image and build_context:
        raise ValidationError(f"{source}: fields 'image' and 'build' cannot both be given; use one")

    needs_venv = bool(resolved.requirements or resolved.python)
    spec_hash = spec_hash_of(resolved) if needs_venv else None
    details: dict[str, Any] = {
        "build": build_context,
        "os_type": spec.os_type,
        "inference_config": spec.inference_config.model_dump() if spec.inference_config else None,
        "datastore": spec.datastore,
        "properties": spec.properties or None,
        "conda_file_path": conda_path or None,
        "resolved_requirements": resolved.requirements if needs_venv else None,
    }
    row = Environment(
        workspace_id=ws.id,
        name=name,
        version=version,
        description=spec.description or "",
        tags=dict(spec.tags),
        image=spec.image,
        conda_file=conda.model_dump(exclude_none=True, exclude_defaults=False) if conda else None,
        pip_requirements=pip_lines,
        python_version=resolved.python,
        spec_hash=spec_hash,
        details={k: v for k, v in details.items() if v is not None},
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # another process registered the same version a moment ago
        raise ConflictError(f"environment {name}:{version} already exists; try again") from None
    build = ensure_build_row(session, spec_hash, resolved.python) if spec_hash else None
    session.flush()
    return _public(row, build)


def create_environment_from_file(
    *,
    session: Session,
    workspace: str,
    path: str | Path,
    overrides: list[str] | None = None,
    pip_requirements: list[str] | None = None,
) -> EnvironmentPublic:
    """Register an environment from the cloud's YAML (paths in it are relative to the file)."""
    source = str(path)
    data = apply_overrides(read_yaml(path), overrides, source=source)
    if "channels" in data or "dependencies" in data:
        raise ValidationError(
            f"{source}: this looks like a conda file; an environment YAML names it with 'conda_file: ./{Path(path).name}'"
        )
    spec = parse_spec(EnvironmentSpec, data, source=source)
    return create_environment(
        session=session,
        workspace=workspace,
        spec=spec,
        base_dir=Path(path).resolve().parent,
        pip_requirements=pip_requirements,
        source=source,
    )


def create_environment_from_form(
    *, session: Session, workspace: str, form: EnvironmentForm
) -> EnvironmentPublic:
    """Register an environment from form fields: conda YAML text and/or pip requirement lines."""
    conda = parse_yaml_text(form.conda_yaml, source="conda file") if (form.conda_yaml or "").strip() else None
    spec = parse_spec(
        EnvironmentSpec,
        {
            "name": form.name.strip() or None,
            "version": (form.version or "").strip() or None,
            "description": form.description,
            "tags": form.tags,
            "image": (form.image or "").strip() or None,
            "conda_file": conda,
        },
        source="environment",
    )
    return create_environment(
        session=session, workspace=workspace, spec=spec, pip_requirements=form.pip_requirements
    )


def ensure_anonymous_environment(
    *, session: Session, workspace: str, spec: dict[str, Any], base_dir: str | Path | None = None, source: str
) -> EnvironmentPublic:
    """An inline environment (a job's ``environment:`` mapping), registered once per content like the
    cloud's ``CliV2AnonymousEnvironment``: its version is a hash of the content."""
    data = {k: v for k, v in spec.items() if k not in ("name", "version")}
    parsed = parse_spec(EnvironmentSpec, data, source=source)
    base = Path(base_dir) if base_dir else Path.cwd()
    conda, _, _ = _load_conda(parsed.conda_file, base, source)
    content = {
        **parsed.model_dump(mode="json", exclude={"schema_", "conda_file"}, exclude_none=True),
        "conda": conda.model_dump(mode="json") if conda else None,
    }
    version = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]
    ws = _workspace_row(session, workspace)
    for row in _versions(session, ws, ANONYMOUS_NAME):
        if row.version == version:
            return _public(
                row, build_rows(session, {row.spec_hash} if row.spec_hash else set()).get(row.spec_hash)
            )
    parsed.name, parsed.version = ANONYMOUS_NAME, version
    return create_environment(session=session, workspace=workspace, spec=parsed, base_dir=base, source=source)


# -------------------------------------------------------------------------------------------- read


def list_environments(
    *, session: Session, workspace: str, name: str | None = None, include_archived: bool = False
) -> list[EnvironmentPublic]:
    """The latest version of each environment; with ``name``, every version of that one."""
    ws = _workspace_row(session, workspace)
    query = select(Environment).where(Environment.workspace_id == ws.id)
    if name:
        query = query.where(Environment.name == name)
    rows = [r for r in session.exec(query).all() if include_archived or not r.archived]
    rows.sort(key=lambda r: (r.name.lower(), version_sort_key(r.version)))
    if not name:
        latest: dict[str, Environment] = {}
        for row in rows:
            latest[row.name] = row
        rows = list(latest.values())
    builds = build_rows(session, {r.spec_hash for r in rows if r.spec_hash})
    return [_public(r, builds.get(r.spec_hash or "")) for r in rows]


def get_environment(
    *, session: Session, workspace: str, name: str, version: str | None = None, label: str | None = None
) -> EnvironmentPublic:
    """One version (``label='latest'`` or no version: the highest one not archived)."""
    ws = _workspace_row(session, workspace)
    row = _get_row(session, ws, name, version, label)
    return _public(
        row, build_rows(session, {row.spec_hash} if row.spec_hash else set()).get(row.spec_hash or "")
    )


def environment_yaml(env: EnvironmentPublic) -> str:
    """The version as the cloud's YAML (conda file inline), loadable by ``studio environment create``."""
    data: dict[str, Any] = {
        "$schema": "https://azuremlschemas.azureedge.net/latest/environment.schema.json",
        "name": env.name,
        "version": env.version,
        **described(env),
    }
    if env.image:
        data["image"] = env.image
    conda = env.conda_file
    if env.pip_requirements:
        conda = dict(conda or {"name": env.name, "channels": ["conda-forge"]})
        deps = list(conda.get("dependencies") or [])
        if not any(isinstance(d, str) and d.split("=")[0].strip() == "python" for d in deps):
            deps.insert(0, f"python={env.python_version or '.'.join(map(str, sys.version_info[:2]))}")
        section = next((d for d in deps if isinstance(d, dict) and "pip" in d), None)
        if section is None:
            deps += ["pip", {"pip": list(env.pip_requirements)}]
        else:
            section["pip"] = [*section["pip"], *env.pip_requirements]
        conda["dependencies"] = deps
    if conda:
        data["conda_file"] = conda
    for key in ("build", "os_type", "inference_config", "datastore", "properties"):
        if env.details.get(key):
            data[key] = env.details[key]
    return yaml.safe_dump(data, sort_keys=False)


# -------------------------------------------------------------------------------------------- change


def update_environment(
    *, session: Session, workspace: str, name: str, version: str, **changes: Unpack[MetadataChange]
) -> EnvironmentPublic:
    """Change a version's description or tags (nothing else of a version ever changes)."""
    ws = _workspace_row(session, workspace)
    row = _get_row(session, ws, name, version, None)
    update_metadata(session, row, **changes)
    return get_environment(session=session, workspace=workspace, name=name, version=row.version)


def _set_archived(
    session: Session, workspace: str, name: str, version: str | None, archived: bool
) -> list[str]:
    ws = _workspace_row(session, workspace)
    rows = _versions(session, ws, name)
    if not rows:
        _get_row(session, ws, name, None, None)  # raises the NotFoundError listing environments
    if version is not None:
        rows = [_get_row(session, ws, name, version, None)]
    return set_archived(session, rows, archived)


def archive_environment(
    *, session: Session, workspace: str, name: str, version: str | None = None
) -> list[str]:
    """Archive one version (or every version): hidden from lists and from ``@latest``, still usable by
    version; returns the versions archived."""
    return _set_archived(session, workspace, name, version, True)


def restore_environment(
    *, session: Session, workspace: str, name: str, version: str | None = None
) -> list[str]:
    return _set_archived(session, workspace, name, version, False)


# -------------------------------------------------------------------------------------------- resolve

_REGISTRY_REF = re.compile(
    r"^azureml://registries/(?P<registry>[^/]+)/environments/(?P<name>[^/]+)"
    r"(?:/versions/(?P<version>[^/]+)|/labels/(?P<label>[^/]+))?/?$",
    re.IGNORECASE,
)
_ARM_REF = re.compile(
    r"^(?:azureml:)?/?subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices/"
    r"workspaces/[^/]+/environments/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?/?$",
    re.IGNORECASE,
)


def parse_environment_reference(reference: str) -> tuple[str | None, str, str | None, str | None]:
    """(registry, name, version, label) of ``azureml:name:1``, ``name@latest``, registry URIs, ARM ids."""
    ref = reference.strip()
    match = _REGISTRY_REF.match(ref)
    if match:
        return match["registry"], match["name"], match["version"], match["label"]
    match = _ARM_REF.match(ref)
    if match:
        return None, match["name"], match["version"], None if match["version"] else "latest"
    ref = ref.removeprefix("azureml:")
    if "@" in ref:
        name, _, label = ref.partition("@")
        return None, name, None, label
    if ":" in ref:
        name, _, version = ref.partition(":")
        return None, name, version, None
    return None, ref, None, None


def _builtin_resolution(name: str, version: str | None, reason: str) -> ResolvedEnvironment:
    from backend.services import base_environment

    return ResolvedEnvironment(
        python=str(base_environment.python()), reason=reason, spec_hash=None, name=name, version=version
    )


def resolve_environment(
    *,
    session: Session,
    workspace: str,
    reference: str | dict[str, Any] | None,
    base_dir: str | Path | None = None,
) -> ResolvedEnvironment:
    """Which interpreter a job naming ``reference`` runs with, and why; unknown names are a ValidationError."""
    if isinstance(reference, dict):
        env = ensure_anonymous_environment(
            session=session, workspace=workspace, spec=reference, base_dir=base_dir, source="environment"
        )
        return _resolved(env)
    if reference is None or not str(reference).strip():
        return _builtin_resolution(
            BUILTIN_NAME, None, f"no environment was named: the built-in environment ({_builtin_summary()})"
        )
    registry, name, version, label = parse_environment_reference(str(reference))
    if name == BENCHMARK_NAME:
        from backend.services import base_environment

        recipe = base_environment.BENCHMARK
        return ResolvedEnvironment(
            python=str(base_environment.python(recipe)),
            reason=f"{BENCHMARK_NAME}: the curated benchmark environment (local GGUF models through llama.cpp, "
            "MiniLM embeddings, offline tokenizers)",
            spec_hash=None,
            name=name,
            version=None,
            curated=recipe.name,
        )
    if registry is not None and registry.lower() != "azureml":
        raise ValidationError(
            f"environment {reference!r}: registry {registry!r} is not available here; "
            "only curated environments of the 'azureml' registry are"
        )
    if registry is not None or is_curated(name):
        return _builtin_resolution(
            name,
            version or (f"@{label}" if label else None),
            f"{name} is a curated cloud environment: it runs in the built-in environment ({_builtin_summary()})",
        )
    if not name:
        raise ValidationError(f"environment reference {reference!r} names no environment")
    ws = _workspace_row(session, workspace)
    row = _get_row(session, ws, name, version, label, error=ValidationError)
    return _resolved(
        _public(
            row, build_rows(session, {row.spec_hash} if row.spec_hash else set()).get(row.spec_hash or "")
        )
    )


def _resolved(env: EnvironmentPublic) -> ResolvedEnvironment:
    if env.spec_hash is None:
        return _builtin_resolution(env.name, env.version, env.reason)
    python = venv_python(envs_root() / env.spec_hash / "venv")
    return ResolvedEnvironment(
        python=str(python),
        reason=env.reason,
        spec_hash=env.spec_hash,
        name=env.name,
        version=env.version,
        build_status=env.build_status,
    )


# -------------------------------------------------------------------------------------------- builds


# -------------------------------------------------------------------------------------------- pythons


# -------------------------------------------------------------------------------------------- builds


def get_environment_build(
    *, session: Session, workspace: str, name: str, version: str | None = None, label: str | None = None
) -> EnvironmentBuildPublic | None:
    """The build of an environment version; None when it runs in the built-in environment."""
    env = get_environment(session=session, workspace=workspace, name=name, version=version, label=label)
    return get_build(session=session, spec_hash=env.spec_hash) if env.spec_hash else None


def request_build(
    *, session: Session, workspace: str, name: str, version: str | None = None, label: str | None = None
) -> EnvironmentBuildPublic:
    """Queue a build and start a detached builder process; returns at once (never builds in the caller)."""
    env = get_environment(session=session, workspace=workspace, name=name, version=version, label=label)
    if not env.spec_hash:
        raise ValidationError(f"{env.reason}; there is nothing to build")
    return queue_build(session=session, spec_hash=env.spec_hash)
