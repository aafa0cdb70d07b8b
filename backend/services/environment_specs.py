"""Environment specs: the cloud's conda file and pip requirements turned into one normalised spec, and its
hash (pure: no database, no files but the requirements file read).

Conda packages are translated to pip: a table maps the common ones (``scikit-learn=1.5`` becomes
``scikit-learn==1.5.*``); ``pip``, ``setuptools`` and ``wheel`` are ignored and ``python=3.x`` picks the
interpreter. A conda package that is not in the table is a validation error that names it (move it to the
``pip:`` list under its PyPI name), so a build never fails late on a guessed name.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

from pydantic import BaseModel

from backend.errors import ValidationError
from backend.specs.environment import CondaFile, PipSection

SPEC_FORMAT = 2  # part of every spec hash: bump it when the build recipe changes

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


class ResolvedSpec(BaseModel):
    """The normalised spec a venv is built from; its hash names the build."""

    python: str | None  # the pin (``3.11``, ``>=3.9``) or None for Studio's own version
    requirements: list[str]


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
