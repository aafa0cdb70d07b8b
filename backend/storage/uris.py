"""One parser for every reference form of SPEC section 2, and resolution of data paths.

``parse_reference`` is pure: it turns text into a typed reference (or says what is wrong with it).
Resolution to storage needs the workspace's datastores and assets, so it lives in
``backend.services.data_assets`` (``resolve_data_uri``), built on these types.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from backend.errors import ValidationError

FSSPEC_SCHEMES = ("wasbs", "wasb", "abfss", "abfs", "az", "adl", "s3", "gs", "gcs", "file", "hdfs")
_DATASTORE = re.compile(r"^azureml://datastores/(?P<ds>[^/]+)/paths/?(?P<path>.*)$")
_JOB_OUTPUT = re.compile(
    r"^azureml://jobs/(?P<job>[^/]+)/outputs/(?P<output>[^/]+)(?:/paths/?(?P<path>.*))?$"
)
_REGISTRY = re.compile(
    r"^azureml://registries/(?P<registry>[^/]+)/(?P<kind>[^/]+)/(?P<name>[^/]+)(?P<rest>/.*)?$"
)
_ASSET = re.compile(r"^(?P<name>[A-Za-z0-9_][A-Za-z0-9_.-]*)(?::(?P<version>[^:@/]+)|@(?P<label>[A-Za-z]+))$")


@dataclass(frozen=True)
class LocalPath:
    path: Path


@dataclass(frozen=True)
class DatastorePath:
    datastore: str
    path: str

    @property
    def uri(self) -> str:
        return f"azureml://datastores/{self.datastore}/paths/{self.path}"


@dataclass(frozen=True)
class AssetRef:
    name: str
    version: str | None = None
    label: str | None = None  # "latest"

    def __str__(self) -> str:
        return f"{self.name}:{self.version}" if self.version else f"{self.name}@{self.label}"


@dataclass(frozen=True)
class JobOutput:
    job: str
    output: str
    path: str = ""


@dataclass(frozen=True)
class RunArtifact:
    run_id: str
    path: str


@dataclass(frozen=True)
class WebUrl:
    url: str


@dataclass(frozen=True)
class FsspecUrl:
    url: str
    scheme: str


@dataclass(frozen=True)
class RegistryAsset:
    registry: str
    kind: str
    name: str
    rest: str


Reference = (
    LocalPath | DatastorePath | AssetRef | JobOutput | RunArtifact | WebUrl | FsspecUrl | RegistryAsset
)


def parse_reference(text: str, *, base_dir: Path | None = None, field: str = "path") -> Reference:
    """Classify a reference. Relative local paths are taken relative to ``base_dir`` (the YAML's folder)."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(f"{field}: a path or reference is required")
    text = text.strip()
    if text.startswith("azureml://"):
        return _parse_azureml_url(text, field)
    if text.startswith("runs:/"):
        run_id, _, path = text.removeprefix("runs:/").lstrip("/").partition("/")
        if not run_id:
            raise ValidationError(f"{field}: {text!r} must look like runs:/<run-id>/<artifact-path>")
        return RunArtifact(run_id=run_id, path=path)
    scheme, sep, _ = text.partition("://")
    if sep:
        scheme = scheme.lower()
        if scheme in ("http", "https"):
            return WebUrl(url=text)
        if scheme in FSSPEC_SCHEMES:
            if scheme == "file":
                return LocalPath(path=Path(text.removeprefix("file://")))
            return FsspecUrl(url=text, scheme=scheme)
        raise ValidationError(
            f"{field}: {text!r} has an unknown scheme {scheme!r} (use a local path, azureml://, "
            f"https://, runs:/ or one of {', '.join(FSSPEC_SCHEMES)})"
        )
    if text.startswith("azureml:"):
        return _parse_asset(text.removeprefix("azureml:"), text, field)
    if text.startswith("file:"):  # the cloud's "file:./component.yml": a local path
        text = text.removeprefix("file:")
    match = _ASSET.match(text)
    if match and not text.startswith((".", "/", "~")) and "/" not in text:
        # name:version or name@latest; a plain word with neither stays a local path.
        return _parse_asset(text, text, field)
    path = Path(text).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return LocalPath(path=path)


def _parse_asset(body: str, original: str, field: str) -> AssetRef:
    match = _ASSET.match(body)
    if not match:
        raise ValidationError(
            f"{field}: {original!r} is not an asset reference (use azureml:<name>:<version> or azureml:<name>@latest)"
        )
    label = match["label"]
    if label and label != "latest":
        raise ValidationError(f"{field}: {original!r}: the only label is 'latest' (got {label!r})")
    return AssetRef(name=match["name"], version=match["version"], label=label)


def _parse_azureml_url(text: str, field: str) -> Reference:
    if m := _DATASTORE.match(text):
        if posixpath.normpath(m["path"].replace("\\", "/").strip("/") or ".").split("/")[0] == "..":
            raise ValidationError(f"{field}: {text!r} leaves the datastore ('..' goes above its root)")
        return DatastorePath(datastore=m["ds"], path=m["path"].strip("/"))
    if m := _JOB_OUTPUT.match(text):
        return JobOutput(job=m["job"], output=m["output"], path=(m["path"] or "").strip("/"))
    if m := _REGISTRY.match(text):
        return RegistryAsset(registry=m["registry"], kind=m["kind"], name=m["name"], rest=m["rest"] or "")
    raise ValidationError(
        f"{field}: {text!r} is not a known azureml:// form (azureml://datastores/<ds>/paths/<path>, "
        "azureml://jobs/<job>/outputs/<output>, azureml://registries/<registry>/...)"
    )
