"""Environments: versioned runtimes. Curated and image-only ones run in the curated base venv; one with
Python packages becomes a uv-built virtual environment, cached by the hash of its resolved spec.

Conda packages are translated to pip: a table maps the common ones (``scikit-learn=1.5`` becomes
``scikit-learn==1.5.*``); ``pip``, ``setuptools`` and ``wheel`` are ignored and ``python=3.x`` picks the
interpreter. A conda package that is not in the table is a validation error that names it (move it to the
``pip:`` list under its PyPI name), so a build never fails late on a guessed name.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from backend.db.models import Environment, EnvironmentBuild, Workspace, utcnow
from backend.errors import ConflictError, NotFoundError, StudioError, ValidationError
from backend.settings import get_settings
from backend.specs import apply_overrides, parse_spec, parse_yaml_text, read_yaml
from backend.specs.environment import CondaFile, EnvironmentSpec, PipSection
from backend.statuses import BuildStatus

ACTIVE_BUILD_STATES = (BuildStatus.QUEUED, BuildStatus.BUILDING)
CLAIMABLE_BUILD_STATES = (BuildStatus.NOT_STARTED, BuildStatus.QUEUED, BuildStatus.FAILED)

BUILD_TIMEOUT_S = 1800  # a whole build (venv + install) before it is killed
BUILD_WAIT_POLL_S = 0.5  # how often a waiting process looks at a build another process runs
BUILD_STALE_GRACE_S = 30  # a Building row without a live builder is taken over after this long
LOG_TAIL_LINES = 25
SPEC_FORMAT = 2  # part of every spec hash: bump it when the build recipe changes

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
NAME_RULE = "1 to 255 characters: letters, digits, '-', '_' and '.', starting with a letter or digit"
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
CURATED_PREFIX = "azureml-"
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

# conda name -> pip name (None: ignored). Anything else in a conda file's dependencies is an error.
CONDA_TO_PIP: dict[str, str | None] = {
    "pip": None,
    "setuptools": None,
    "wheel": None,
    "python_abi": None,
    **{
        name: name
        for name in (
            "numpy",
            "pandas",
            "scikit-learn",
            "scipy",
            "matplotlib",
            "seaborn",
            "statsmodels",
            "joblib",
            "requests",
            "pyyaml",
            "tqdm",
            "pillow",
            "pyarrow",
            "lightgbm",
            "xgboost",
            "catboost",
            "torchvision",
            "torchaudio",
            "tensorflow",
            "keras",
            "plotly",
            "sympy",
            "networkx",
            "h5py",
            "nltk",
            "cloudpickle",
            "click",
            "six",
            "psutil",
            "ipykernel",
            "numba",
            "polars",
            "mlflow",
            "mlflow-skinny",
            "shap",
            "optuna",
            "transformers",
            "datasets",
            "tokenizers",
            "pydantic",
            "fastapi",
            "flask",
            "sqlalchemy",
            "protobuf",
            "onnx",
            "onnxruntime",
            "fairlearn",
            "imbalanced-learn",
            "lxml",
            "beautifulsoup4",
            "regex",
            "spacy",
            "gensim",
            "dask",
            "tabulate",
            "pytest",
            "typing-extensions",
            "azure-storage-blob",
            "azure-identity",
            "pyspark",
            "pillow",
            "seaborn-base",
            "altair",
            "bokeh",
            "jinja2",
            "attrs",
            "packaging",
        )
    },
    "matplotlib-base": "matplotlib",
    "seaborn-base": "seaborn",
    "py-xgboost": "xgboost",
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "opencv": "opencv-python",
    "py-opencv": "opencv-python",
    "typing_extensions": "typing-extensions",
    "category_encoders": "category-encoders",
    "ray-core": "ray",
    "ray-default": "ray",
}
PIP_OPTIONS = ("--index-url", "-i", "--extra-index-url", "--find-links", "-f", "--pre")


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


class EnvironmentBuildPublic(BaseModel):
    spec_hash: str
    status: str
    python_version: str | None
    venv_path: str
    python: str
    log_path: str
    error: str | None
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ResolvedEnvironment(BaseModel):
    """What a job runs with: an interpreter, and why that one."""

    python: str
    reason: str
    spec_hash: str | None
    name: str
    version: str | None
    build_status: str | None = None


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


class ResolvedSpec(BaseModel):
    """The normalised spec a venv is built from; its hash names the build."""

    python: str | None  # the pin (``3.11``, ``>=3.9``) or None for Studio's own version
    requirements: list[str]


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


def _conda_version_to_pip(rest: str, *, dep: str, source: str) -> str:
    rest = rest.strip()
    if not rest:
        return ""
    if "|" in rest:
        raise ValidationError(
            f"{source}: conda dependency {dep!r}: 'or' ranges (|) have no pip form; pick one"
        )
    if rest[0] in "<>!~":
        return rest.replace(" ", "")
    if rest.startswith("=="):
        return "==" + rest[2:].split("=")[0].strip()
    version = rest.lstrip("=").split("=")[0].split()[0].strip() if rest.startswith("=") else rest.split()[0]
    if not version or not version[0].isdigit():
        raise ValidationError(f"{source}: conda dependency {dep!r}: {version!r} is not a version")
    if version.endswith("*") or version.count(".") >= 2:
        return "==" + version.rstrip("*").rstrip(".") + (".*" if version.endswith("*") else "")
    return f"=={version}.*"


def _python_pin(rest: str, *, dep: str, source: str) -> str | None:
    rest = rest.strip()
    if not rest:
        return None
    if rest[0] in "<>!~":
        pin = rest.replace(" ", "")
    else:
        pin = rest.lstrip("=").split("=")[0].split()[0].removesuffix(".*").removesuffix("*")
    check_python_pin(pin, source=f"{source}: conda dependency {dep!r}")
    return pin


def check_python_pin(pin: str, *, source: str) -> str:
    if re.fullmatch(r"\d+(\.\d+){0,2}", pin):
        return pin
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        SpecifierSet(pin)
    except InvalidSpecifier:
        raise ValidationError(
            f"{source}: python version {pin!r} is not a version (use e.g. 3.11 or >=3.10)"
        ) from None
    return pin


_CONDA_DEP = re.compile(r"^(?:(?P<channel>[^:\s]+)::)?(?P<name>[A-Za-z0-9_.\-]+)(?P<rest>.*)$")


def normalize_requirement(line: str, *, source: str) -> str | None:
    """One pip requirement line in a canonical form; blank lines and comments give None."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    text = re.split(r"\s+#", str(line), maxsplit=1)[0].strip()
    if not text or text.startswith("#"):
        return None
    if text.startswith("-"):
        option = text.split()[0].split("=")[0]
        if option not in PIP_OPTIONS:
            raise ValidationError(
                f"{source}: pip option {text!r} is not supported here (allowed: {', '.join(PIP_OPTIONS)})"
            )
        return " ".join(text.split())
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        if "://" in text:  # a bare URL (git+https://..., a wheel): given to the installer as it is
            return text
        reason = str(exc).splitlines()[0]
        raise ValidationError(f"{source}: {text!r} is not a pip requirement ({reason})") from None
    req.name = canonicalize_name(req.name)
    return str(req)


def resolve_packages(
    conda: CondaFile | None, pip_requirements: list[str], *, source: str, conda_source: str | None = None
) -> ResolvedSpec:
    """Turn a conda file and a pip list into a python pin and sorted, unique pip requirements."""
    python: str | None = None
    requirements: set[str] = set()
    csource = conda_source or source
    for dep in conda.dependencies if conda else []:
        if isinstance(dep, PipSection):
            for line in dep.pip:
                req = normalize_requirement(line, source=f"{csource}: pip")
                if req:
                    requirements.add(req)
            continue
        match = _CONDA_DEP.match(dep.strip())
        if not match:
            raise ValidationError(f"{csource}: conda dependency {dep!r} is not a package name")
        name, rest = match["name"].lower(), match["rest"]
        if name == "python":
            python = _python_pin(rest, dep=dep, source=csource)
            continue
        if name not in CONDA_TO_PIP:
            raise ValidationError(
                f"{csource}: conda package {name!r} has no known pip equivalent here (environments are "
                "built from PyPI); move it to the 'pip:' list under its PyPI name, or remove it"
            )
        pip_name = CONDA_TO_PIP[name]
        if pip_name is None:
            continue
        requirements.add(pip_name + _conda_version_to_pip(rest, dep=dep, source=csource))
    for line in pip_requirements:
        req = normalize_requirement(line, source=source)
        if req:
            requirements.add(req)
    return ResolvedSpec(python=python, requirements=sorted(requirements))


def spec_hash_of(spec: ResolvedSpec) -> str:
    """The build's name: a hash of the python version and the sorted requirements."""
    python = spec.python or ".".join(str(p) for p in sys.version_info[:2])
    payload = json.dumps(
        {"format": SPEC_FORMAT, "python": python, "requirements": sorted(spec.requirements)}, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def read_requirements_file(path: str | Path) -> list[str]:
    """The requirement lines of a pip requirements file (comments and blank lines dropped)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path}: cannot read the file ({exc})") from None
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        req = normalize_requirement(line, source=f"{path}: line {number}")
        if req:
            lines.append(req)
    return lines


# ------------------------------------------------------------------------------------- versions and rows


def _version_key(version: str) -> tuple:
    from packaging.version import InvalidVersion, Version

    try:
        return (1, Version(version), version)
    except InvalidVersion:
        return (0, version)


def _workspace_row(session: Session, workspace: str) -> Workspace:
    from backend.services.lookup import get_workspace_row

    return get_workspace_row(session=session, name=workspace)


def _versions(session: Session, ws: Workspace, name: str) -> list[Environment]:
    rows = session.exec(
        select(Environment).where(Environment.workspace_id == ws.id, Environment.name == name)
    ).all()
    return sorted(rows, key=lambda r: _version_key(r.version))


def _next_version(rows: list[Environment]) -> str:
    numbers = [int(r.version) for r in rows if r.version.isdigit()]
    return str(max(numbers, default=0) + 1)


def _known(session: Session, ws: Workspace) -> str:
    rows = session.exec(select(Environment).where(Environment.workspace_id == ws.id)).all()
    by_name: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda r: (r.name, _version_key(r.version))):
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


def _build_rows(session: Session, hashes: set[str]) -> dict[str, EnvironmentBuild]:
    if not hashes:
        return {}
    rows = session.exec(select(EnvironmentBuild).where(EnvironmentBuild.spec_hash.in_(sorted(hashes)))).all()
    return {r.spec_hash: r for r in rows}


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


def _public_build(row: EnvironmentBuild) -> EnvironmentBuildPublic:
    return EnvironmentBuildPublic(
        spec_hash=row.spec_hash,
        status=row.status,
        python_version=row.python_version,
        venv_path=row.venv_path,
        python=str(_venv_python(Path(row.venv_path))),
        log_path=row.log_path,
        error=row.error,
        requested_at=row.requested_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


# -------------------------------------------------------------------------------------------- create


def envs_root() -> Path:
    return get_settings().home / "envs"


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _ensure_build_row(session: Session, spec_hash: str, python: str | None) -> EnvironmentBuild:
    existing = session.exec(select(EnvironmentBuild).where(EnvironmentBuild.spec_hash == spec_hash)).first()
    if existing:
        return existing
    folder = envs_root() / spec_hash
    row = EnvironmentBuild(
        spec_hash=spec_hash,
        python_version=python,
        venv_path=str(folder / "venv"),
        log_path=str(folder / "build.log"),
    )
    try:
        with session.begin_nested():  # another process may insert the same hash at the same moment
            session.add(row)
    except IntegrityError:
        return session.exec(select(EnvironmentBuild).where(EnvironmentBuild.spec_hash == spec_hash)).one()
    return row


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
                f"(or leave version out to get {_next_version(rows)})"
            )
    else:
        version = _next_version(rows)

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
    build = _ensure_build_row(session, spec_hash, resolved.python) if spec_hash else None
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
                row, _build_rows(session, {row.spec_hash} if row.spec_hash else set()).get(row.spec_hash)
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
    rows.sort(key=lambda r: (r.name.lower(), _version_key(r.version)))
    if not name:
        latest: dict[str, Environment] = {}
        for row in rows:
            latest[row.name] = row
        rows = list(latest.values())
    builds = _build_rows(session, {r.spec_hash for r in rows if r.spec_hash})
    return [_public(r, builds.get(r.spec_hash or "")) for r in rows]


def get_environment(
    *, session: Session, workspace: str, name: str, version: str | None = None, label: str | None = None
) -> EnvironmentPublic:
    """One version (``label='latest'`` or no version: the highest one not archived)."""
    ws = _workspace_row(session, workspace)
    row = _get_row(session, ws, name, version, label)
    return _public(
        row, _build_rows(session, {row.spec_hash} if row.spec_hash else set()).get(row.spec_hash or "")
    )


def environment_yaml(env: EnvironmentPublic) -> str:
    """The version as the cloud's YAML (conda file inline), loadable by ``studio environment create``."""
    data: dict[str, Any] = {
        "$schema": "https://azuremlschemas.azureedge.net/latest/environment.schema.json",
        "name": env.name,
        "version": env.version,
    }
    if env.description:
        data["description"] = env.description
    if env.tags:
        data["tags"] = env.tags
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
    *,
    session: Session,
    workspace: str,
    name: str,
    version: str,
    description: str | None = None,
    tags: dict[str, str] | None = None,
) -> EnvironmentPublic:
    """Change a version's description or tags (nothing else of a version ever changes)."""
    ws = _workspace_row(session, workspace)
    row = _get_row(session, ws, name, version, None)
    if description is not None:
        row.description = description
    if tags is not None:
        row.tags = dict(tags)
    session.add(row)
    session.flush()
    return get_environment(session=session, workspace=workspace, name=name, version=row.version)


def _set_archived(session: Session, workspace: str, name: str, version: str | None, archived: bool) -> int:
    ws = _workspace_row(session, workspace)
    rows = _versions(session, ws, name)
    if not rows:
        _get_row(session, ws, name, None, None)  # raises the NotFoundError listing environments
    if version is not None:
        rows = [_get_row(session, ws, name, version, None)]
    for row in rows:
        row.archived = archived
        session.add(row)
    session.flush()
    return len(rows)


def archive_environment(*, session: Session, workspace: str, name: str, version: str | None = None) -> int:
    """Archive one version (or every version): hidden from lists and from ``@latest``, still usable by version."""
    return _set_archived(session, workspace, name, version, True)


def restore_environment(*, session: Session, workspace: str, name: str, version: str | None = None) -> int:
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
            row, _build_rows(session, {row.spec_hash} if row.spec_hash else set()).get(row.spec_hash or "")
        )
    )


def _resolved(env: EnvironmentPublic) -> ResolvedEnvironment:
    if env.spec_hash is None:
        return _builtin_resolution(env.name, env.version, env.reason)
    python = _venv_python(envs_root() / env.spec_hash / "venv")
    return ResolvedEnvironment(
        python=str(python),
        reason=env.reason,
        spec_hash=env.spec_hash,
        name=env.name,
        version=env.version,
        build_status=env.build_status,
    )


# -------------------------------------------------------------------------------------------- builds


def get_build(*, session: Session, spec_hash: str) -> EnvironmentBuildPublic:
    row = session.exec(select(EnvironmentBuild).where(EnvironmentBuild.spec_hash == spec_hash)).first()
    if row is None:
        raise NotFoundError(f"no environment build has spec hash {spec_hash!r}")
    return _public_build(row)


def get_environment_build(
    *, session: Session, workspace: str, name: str, version: str | None = None, label: str | None = None
) -> EnvironmentBuildPublic | None:
    """The build of an environment version; None when it runs in the built-in environment."""
    env = get_environment(session=session, workspace=workspace, name=name, version=version, label=label)
    return get_build(session=session, spec_hash=env.spec_hash) if env.spec_hash else None


def read_build_log(*, session: Session, spec_hash: str, tail_lines: int | None = None) -> str:
    """The build log (or its last lines); empty before the first build."""
    build = get_build(session=session, spec_hash=spec_hash)
    return _read_tail(Path(build.log_path), tail_lines)


def _read_tail(path: Path, lines: int | None) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    if lines is None:
        return text
    return "\n".join(text.splitlines()[-lines:])


def set_build_status(*, session: Session, spec_hash: str, status: str, error: str | None = None) -> None:
    """Set a build's state directly (the job agent's recovery and tests use it)."""
    if status not in tuple(BuildStatus):
        raise ValidationError(
            f"build status {status!r} is not one of NotStarted, Queued, Building, Succeeded, Failed"
        )
    row = session.exec(select(EnvironmentBuild).where(EnvironmentBuild.spec_hash == spec_hash)).first()
    if row is None:
        raise NotFoundError(f"no environment build has spec hash {spec_hash!r}")
    row.status, row.error = status, error
    session.add(row)
    session.flush()


def request_build(
    *, session: Session, workspace: str, name: str, version: str | None = None, label: str | None = None
) -> EnvironmentBuildPublic:
    """Queue a build and start a detached builder process; returns at once (never builds in the caller)."""
    env = get_environment(session=session, workspace=workspace, name=name, version=version, label=label)
    if not env.spec_hash:
        raise ValidationError(f"{env.reason}; there is nothing to build")
    row = session.exec(select(EnvironmentBuild).where(EnvironmentBuild.spec_hash == env.spec_hash)).one()
    if row.status == BuildStatus.SUCCEEDED and _venv_python(Path(row.venv_path)).exists():
        return _public_build(row)
    if row.status == BuildStatus.BUILDING and not _builder_gone(row):
        return _public_build(row)
    if row.status != BuildStatus.QUEUED:
        row.status, row.error, row.requested_at = BuildStatus.QUEUED, None, utcnow()
        session.add(row)
        session.flush()
    _spawn_builder(env.spec_hash)
    return _public_build(row)


def _spawn_builder(spec_hash: str) -> None:
    folder = envs_root() / spec_hash
    folder.mkdir(parents=True, exist_ok=True)
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(repo), env.get("PYTHONPATH", "")) if p)
    with open(folder / "builder.err", "ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend.agent.envbuild", spec_hash],
            cwd=repo,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,  # survives a closed terminal or a restarted UI
        )
    # Reap it when it ends so a long-lived UI process keeps no zombies.
    threading.Thread(target=proc.wait, name=f"envbuild-{spec_hash[:8]}", daemon=True).start()


def _pid_file(spec_hash: str) -> Path:
    return envs_root() / spec_hash / "build.pid"


def _builder_gone(row: EnvironmentBuild) -> bool:
    """A Building row whose builder process no longer runs (it crashed or its machine restarted)."""
    import psutil

    began = row.started_at or row.requested_at
    pid_file = _pid_file(row.spec_hash)
    try:
        if row.started_at and pid_file.stat().st_mtime < row.started_at.timestamp() - 1:
            raise FileNotFoundError  # left by an earlier builder: this build's has not been written yet
        pid_text, _, started = pid_file.read_text().partition(" ")
        proc = psutil.Process(int(pid_text))
        return abs(proc.create_time() - float(started)) > 1 or proc.status() == psutil.STATUS_ZOMBIE
    except (FileNotFoundError, ValueError):
        return (utcnow() - began).total_seconds() > BUILD_STALE_GRACE_S
    except psutil.Error:
        return True


def _claim(spec_hash: str) -> bool:
    """Take the build with one conditional update: of two processes asking at once, one wins."""
    from backend.db import session_scope

    with session_scope() as s:
        result = s.exec(
            update(EnvironmentBuild)
            .where(
                EnvironmentBuild.spec_hash == spec_hash, EnvironmentBuild.status.in_(CLAIMABLE_BUILD_STATES)
            )
            .values(status=BuildStatus.BUILDING, started_at=utcnow(), finished_at=None, error=None)
        )
        return result.rowcount == 1


def _take_over_if_stale(spec_hash: str) -> None:
    """Mark a Building row Failed when its builder is gone, so it can be claimed again."""
    from backend.db import session_scope

    with session_scope() as s:
        row = s.exec(select(EnvironmentBuild).where(EnvironmentBuild.spec_hash == spec_hash)).one()
        if row.status == BuildStatus.BUILDING and _builder_gone(row):
            s.exec(
                update(EnvironmentBuild)
                .where(
                    EnvironmentBuild.spec_hash == spec_hash,
                    EnvironmentBuild.status == BuildStatus.BUILDING,
                    EnvironmentBuild.started_at == row.started_at,
                )
                .values(
                    status=BuildStatus.FAILED,
                    error="the build process ended before it finished",
                    finished_at=utcnow(),
                )
            )
        elif row.status == BuildStatus.SUCCEEDED and not _venv_python(Path(row.venv_path)).exists():
            s.exec(
                update(EnvironmentBuild)
                .where(
                    EnvironmentBuild.spec_hash == spec_hash, EnvironmentBuild.status == BuildStatus.SUCCEEDED
                )
                .values(status=BuildStatus.NOT_STARTED)
            )


def _finish(spec_hash: str, status: str, error: str | None, python: str | None) -> EnvironmentBuildPublic:
    from backend.db import session_scope

    values: dict[str, Any] = {"status": status, "error": error, "finished_at": utcnow()}
    if python:
        values["python_version"] = python
    with session_scope() as s:
        s.exec(update(EnvironmentBuild).where(EnvironmentBuild.spec_hash == spec_hash).values(**values))
    with session_scope() as s:
        return get_build(session=s, spec_hash=spec_hash)


def _spec_for_hash(spec_hash: str) -> ResolvedSpec:
    from backend.db import session_scope

    with session_scope() as s:
        row = s.exec(select(Environment).where(Environment.spec_hash == spec_hash)).first()
        if row is None:
            raise NotFoundError(f"no environment has spec hash {spec_hash!r}")
        conda = CondaFile.model_validate(row.conda_file) if row.conda_file else None
        return resolve_packages(
            conda, list(row.pip_requirements or []), source=f"environment {row.name}:{row.version}"
        )


def build_environment(
    spec_hash: str, *, echo: Callable[[str], None] | None = None, wait: bool = True
) -> EnvironmentBuildPublic:
    """Build the venv of ``spec_hash`` now, in this process (the builder process, the CLI and the job agent
    call it). When another process is building it, wait for that build (or, with ``wait=False``, return)."""
    from backend.db import session_scope

    while True:
        _take_over_if_stale(spec_hash)
        with session_scope() as s:
            current = get_build(session=s, spec_hash=spec_hash)
        if current.status == BuildStatus.SUCCEEDED:
            return current
        if _claim(spec_hash):
            break
        if not wait:
            return current
        status, gone = _follow_log(spec_hash, echo)
        if status in (BuildStatus.SUCCEEDED, BuildStatus.FAILED) and not gone:
            with session_scope() as s:
                return get_build(session=s, spec_hash=spec_hash)
    return _run_build(spec_hash, echo)


def _follow_log(spec_hash: str, echo: Callable[[str], None] | None) -> tuple[str, bool]:
    """Wait while another process builds, showing its log as it grows."""
    from backend.db import session_scope

    with session_scope() as s:
        log = Path(get_build(session=s, spec_hash=spec_hash).log_path)
    shown = 0
    if echo:
        echo(f"another process is building environment {spec_hash[:12]}; following its log")
    while True:
        time.sleep(BUILD_WAIT_POLL_S)
        with session_scope() as s:
            row = s.exec(select(EnvironmentBuild).where(EnvironmentBuild.spec_hash == spec_hash)).one()
            status, gone = row.status, row.status == BuildStatus.BUILDING and _builder_gone(row)
        if echo and log.exists():
            data = log.read_bytes()
            if len(data) > shown:
                echo(data[shown:].decode(errors="replace").rstrip("\n"))
                shown = len(data)
        if status != BuildStatus.BUILDING or gone:
            return status, gone


class _BuildFailed(StudioError):
    pass


def _run_build(spec_hash: str, echo: Callable[[str], None] | None) -> EnvironmentBuildPublic:
    import psutil

    folder = envs_root() / spec_hash
    folder.mkdir(parents=True, exist_ok=True)
    me = psutil.Process()
    _pid_file(spec_hash).write_text(f"{me.pid} {me.create_time()}")
    log_path = folder / "build.log"
    venv = folder / "venv"
    started = time.monotonic()
    status, error, version = BuildStatus.FAILED, None, None
    with open(log_path, "w", encoding="utf-8") as log:

        def say(line: str) -> None:
            log.write(line + "\n")
            log.flush()
            if echo:
                echo(line)

        try:
            spec = _spec_for_hash(spec_hash)
            say(f"# Studio environment build {spec_hash}")
            python, version = find_python(spec.python)
            say(f"# python {version} at {python}" + (f" (requested {spec.python})" if spec.python else ""))
            requirements = list(spec.requirements)
            if not _has_mlflow(requirements):
                requirements.append("mlflow-skinny")  # jobs log with MLflow: it is always there
            if not any(re.match(r"^pip(?![\w.-])", r) for r in requirements):
                requirements.append("pip")  # so a command can add packages to its job's own layer
            (folder / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
            (folder / "spec.json").write_text(
                json.dumps({"python": spec.python, "requirements": spec.requirements}, indent=2),
                encoding="utf-8",
            )
            say("# requirements: " + (", ".join(requirements)))
            shutil.rmtree(venv, ignore_errors=True)
            uv = _uv_bin()
            _run([uv, "venv", "--no-python-downloads", "--python", python, str(venv)], say, "uv venv", folder)
            _run(
                [
                    uv,
                    "pip",
                    "install",
                    "--no-python-downloads",
                    "--compile-bytecode",  # jobs see the venv read-only: they could not write it
                    "--python",
                    str(_venv_python(venv)),
                    "-r",
                    str(folder / "requirements.txt"),
                ],
                say,
                "uv pip install",
                folder,
            )
            # Cheaper than importing it (about a second): MLflow must be installed for jobs to log.
            check = "import importlib.util as u, sys; sys.exit(u.find_spec('mlflow') is None)"
            _run([str(_venv_python(venv)), "-c", check], say, "the check that MLflow is installed", folder)
            status = BuildStatus.SUCCEEDED
            say(f"# Succeeded in {time.monotonic() - started:.1f}s")
        except StudioError as exc:
            say(f"Build failed: {exc}")
        except BaseException as exc:
            say(f"Build failed: unexpected {type(exc).__name__}: {exc}")
            raise
        finally:
            if status != BuildStatus.SUCCEEDED:
                log.flush()
                error = _read_tail(log_path, LOG_TAIL_LINES)
            result = _finish(spec_hash, status, error, version)
            _pid_file(spec_hash).unlink(missing_ok=True)
    return result


def _has_mlflow(requirements: list[str]) -> bool:
    return any(re.match(r"^mlflow(-skinny)?(?![\w.-])", r) for r in requirements)


def _uv_bin() -> str:
    from backend.services.base_environment import BaseEnvironmentError, uv_bin

    try:
        return uv_bin()
    except BaseEnvironmentError as exc:
        raise _BuildFailed(str(exc)) from None


def _run(argv: list[str], say: Callable[[str], None], what: str, folder: Path) -> None:
    """A build step, sandboxed: it may write only the build's folder (and uv's cache)."""
    from backend.services.base_environment import BaseEnvironmentError, run_tool

    try:
        run_tool(argv, say, what, writable=[folder], timeout_s=BUILD_TIMEOUT_S)
    except BaseEnvironmentError as exc:
        raise _BuildFailed(str(exc)) from None


# -------------------------------------------------------------------------------------------- pythons


def _version_of(executable: str) -> str | None:
    try:
        out = subprocess.run(
            [executable, "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
            capture_output=True,
            text=True,
            timeout=10,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = out.stdout.strip()
    return text if out.returncode == 0 and re.fullmatch(r"\d+\.\d+\.\d+", text) else None


def _candidate_pythons() -> list[str]:
    """Interpreters uv installed, pyenv's versions, and python3.X on PATH (never pyenv's slow shims)."""
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    uv_pythons = Path(os.environ.get("UV_PYTHON_INSTALL_DIR") or data_home / "uv" / "python")
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found = [str(p) for p in sorted(uv_pythons.glob("*/bin/python3"))]
    found += [str(p) for p in sorted(pyenv_root.glob("versions/*/bin/python3"))]
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if not folder or Path(folder).name == "shims":
            continue
        for path in sorted(Path(folder).glob("python3*")):
            if re.fullmatch(r"python3(\.\d+)?", path.name):
                found.append(str(path))
    return found


@lru_cache
def installed_pythons() -> tuple[tuple[str, str], ...]:
    """(version, path) of every working Python 3 on this machine, Studio's own first."""
    from concurrent.futures import ThreadPoolExecutor

    seen = {os.path.realpath(sys.executable)}
    candidates = []
    for candidate in _candidate_pythons():
        real = os.path.realpath(candidate)
        if real not in seen and os.access(candidate, os.X_OK):
            seen.add(real)
            candidates.append(candidate)
    with ThreadPoolExecutor(max_workers=8) as pool:
        versions = list(pool.map(_version_of, candidates))
    pythons = [(_python_version(), sys.executable)]
    pythons += [(v, p) for v, p in zip(versions, candidates, strict=True) if v and v.startswith("3.")]
    return tuple(pythons)


def _matches(version: str, pin: str) -> bool:
    if re.fullmatch(r"\d+(\.\d+){0,2}", pin):
        return version == pin or version.startswith(pin + ".")
    from packaging.specifiers import SpecifierSet

    return SpecifierSet(pin).contains(version, prereleases=True)


def find_python(pin: str | None) -> tuple[str, str]:
    """(path, version) of an installed interpreter for ``pin``; Studio's own when it fits. Never downloads."""
    if pin is None or _matches(_python_version(), pin):
        return sys.executable, _python_version()
    from packaging.version import Version

    fits = [(v, p) for v, p in installed_pythons() if _matches(v, pin)]
    if fits:
        version, path = max(fits, key=lambda vp: Version(vp[0]))
        return path, version
    have = sorted({v for v, _ in installed_pythons()}, key=Version)
    raise ValidationError(
        f"Python {pin} is not installed on this machine (installed: {', '.join(have)}); install it "
        f"(for example `uv python install {pin}`) or change the python= pin of the environment"
    )
