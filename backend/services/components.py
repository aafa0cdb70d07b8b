"""Components: versioned, reusable commands with a typed interface (SPEC section 9).

Registering snapshots the code (plus ``additional_includes``) to the artifact datastore, so a version
never changes. A local component file used by a pipeline or sweep is registered anonymously: its
version is its content hash, and using the same file twice registers it once.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from sqlmodel import Session, select

from backend.db.models import Component
from backend.errors import ConflictError, NotFoundError, ValidationError
from backend.services import rai_components
from backend.services.assets import check_version, next_version, set_archived, version_sort_key
from backend.services.lookup import get_workspace_row
from backend.specs import apply_overrides, parse_spec, read_yaml
from backend.specs.component import CommandComponentSpec
from backend.storage import uris


class ComponentPublic(BaseModel):
    name: str
    version: str
    display_name: str
    description: str
    tags: dict[str, str]
    is_deterministic: bool
    anonymous: bool
    archived: bool
    content_hash: str
    created_at: datetime
    spec: dict[str, Any]
    source_yaml: str

    @property
    def interface(self) -> list[dict[str, Any]]:
        """Inputs and outputs as rows: name, direction, type, default, optional, constraints."""
        rows = []
        for name, port in (self.spec.get("inputs") or {}).items():
            limits = ", ".join(f"{k} {port[k]}" for k in ("min", "max") if port.get(k) is not None)
            if port.get("enum"):
                limits = "one of " + ", ".join(map(str, port["enum"]))
            rows.append(
                {
                    "name": name,
                    "direction": "input",
                    "type": port.get("type"),
                    "default": port.get("default"),
                    "optional": bool(port.get("optional")),
                    "constraints": limits,
                    "description": port.get("description", ""),
                }
            )
        for name, port in (self.spec.get("outputs") or {}).items():
            rows.append(
                {
                    "name": name,
                    "direction": "output",
                    "type": (port or {}).get("type", "uri_folder"),
                    "default": None,
                    "optional": False,
                    "constraints": "",
                    "description": (port or {}).get("description", ""),
                }
            )
        return rows


class ComponentSummary(BaseModel):
    name: str
    latest_version: str
    versions: int
    display_name: str
    description: str
    updated_at: datetime


def _public(row: Component) -> ComponentPublic:
    return ComponentPublic.model_validate(row, from_attributes=True)


def _snapshot(
    session: Session, workspace: str, spec: CommandComponentSpec, base_dir: Path
) -> tuple[str | None, str]:
    """Upload code + additional_includes once per content; (code URI, content hash of the code)."""
    from backend.services.data_assets import content_hash
    from backend.services.datastores import get_filesystem

    if spec.code and spec.code.startswith("azureml"):
        return spec.code, hashlib.sha256(spec.code.encode()).hexdigest()[:32]
    with tempfile.TemporaryDirectory(prefix="studio-component-") as tmp:
        snap = Path(tmp) / "code"
        if spec.code:
            ref = uris.parse_reference(spec.code, base_dir=base_dir, field="code")
            if not isinstance(ref, uris.LocalPath) or not ref.path.exists():
                raise ValidationError(f"code: {spec.code!r} does not exist")
            if ref.path.is_dir():
                shutil.copytree(ref.path, snap, ignore=shutil.ignore_patterns("__pycache__", ".git"))
            else:
                snap.mkdir()
                shutil.copy2(ref.path, snap / ref.path.name)
        else:
            snap.mkdir()
        for include in spec.additional_includes:
            source = (base_dir / include).resolve()
            if not source.exists():
                raise ValidationError(f"additional_includes: {include!r} does not exist")
            target = snap / source.name
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                shutil.copy2(source, target)
        if not spec.code and not spec.additional_includes:
            return None, "no-code"
        digest = content_hash(snap)
        store = get_filesystem(session=session, workspace=workspace, name="workspaceartifactstore")
        dest = f"LocalUpload/{digest}/code"
        from backend.services.uploads import put_once

        put_once(session, store, snap, dest)
        return uris.DatastorePath("workspaceartifactstore", dest).uri, digest


ANONYMOUS_NAME = "azureml_anonymous"


def _rows(session: Session, workspace_id: int, name: str) -> list[Component]:
    rows = session.exec(
        select(Component).where(Component.workspace_id == workspace_id, Component.name == name)
    ).all()
    return sorted(rows, key=lambda r: version_sort_key(r.version))


def register_component(
    *,
    session: Session,
    workspace: str,
    spec: CommandComponentSpec,
    base_dir: Path,
    source_yaml: str = "",
    anonymous: bool = False,
) -> ComponentPublic:
    """Register a version (explicit, next integer, or the content hash for anonymous use)."""
    ws = get_workspace_row(session=session, name=workspace)
    if not spec.name:
        if not anonymous:
            raise ValidationError("name: a component needs a name")
        spec = spec.model_copy(update={"name": ANONYMOUS_NAME})  # as the cloud names unnamed components
    if isinstance(spec.environment, str):  # a named one must exist (an inline one is built when used)
        from backend.services.environments import resolve_environment

        try:
            resolve_environment(session=session, workspace=workspace, reference=spec.environment)
        except ValidationError as exc:
            raise ValidationError(f"field 'environment': {exc}") from None
    code_uri, code_hash = _snapshot(session, workspace, spec, base_dir)
    body = spec.model_dump(mode="json", exclude={"schema_"}, exclude_none=True)
    body["code"] = code_uri
    body.pop("additional_includes", None)
    content = hashlib.sha256(
        json.dumps({**body, "version": None, "code_hash": code_hash}, sort_keys=True, default=str).encode()
    ).hexdigest()[:32]
    existing = _rows(session, ws.id, spec.name)
    if anonymous:
        for row in existing:
            if row.content_hash == content:
                return _public(row)
        version = content
    elif spec.version:
        version = check_version(spec.version)
        if any(r.version == version for r in existing):
            raise ConflictError(f"component {spec.name}:{version} already exists (versions are immutable)")
    else:
        version = next_version(r.version for r in existing)
    body["version"] = version
    row = Component(
        workspace_id=ws.id,
        name=spec.name,
        version=version,
        display_name=spec.display_name or spec.name,
        description=spec.description,
        tags=dict(spec.tags),
        spec=body,
        source_yaml=source_yaml,
        content_hash=content,
        is_deterministic=spec.is_deterministic,
        anonymous=anonymous,
    )
    session.add(row)
    session.flush()
    return _public(row)


def load_component_file(file: Path, overrides: list[str] | None = None) -> tuple[CommandComponentSpec, str]:
    file = Path(file)
    data = apply_overrides(read_yaml(file), overrides, source=str(file))
    if data.get("type", "command") != "command":
        raise ValidationError(
            f"{file}: field 'type': {data.get('type')!r} components are not supported here "
            "(command components are)"
        )
    return parse_spec(CommandComponentSpec, data, source=str(file)), file.read_text()


def create_component_from_file(
    *, session: Session, workspace: str, file: Path, overrides: list[str] | None = None
) -> ComponentPublic:
    spec, text = load_component_file(file, overrides)
    try:
        return register_component(
            session=session,
            workspace=workspace,
            spec=spec,
            base_dir=Path(file).parent.resolve(),
            source_yaml=text,
        )
    except ValidationError as exc:
        raise ValidationError(f"{file}: {exc}") from None


def get_component(
    *, session: Session, workspace: str, name: str, version: str | None = None, label: str | None = None
) -> ComponentPublic:
    ws = get_workspace_row(session=session, name=workspace)
    rows = _rows(session, ws.id, name)
    if not rows:
        raise NotFoundError(f"component {name!r} does not exist in workspace {workspace!r}")
    if version is not None:
        for row in rows:
            if row.version == str(version):
                return _public(row)
        raise NotFoundError(
            f"component {name}:{version} does not exist "
            f"(versions: {', '.join(r.version for r in rows if not r.anonymous)})"
        )
    live = [r for r in rows if not r.archived and not r.anonymous] or [r for r in rows if not r.archived]
    if not live:
        raise NotFoundError(f"component {name!r} has no version that is not archived")
    return _public(live[-1])


def list_components(
    *, session: Session, workspace: str, include_archived: bool = False
) -> list[ComponentSummary]:
    ws = get_workspace_row(session=session, name=workspace)
    by_name: dict[str, list[Component]] = {}
    for row in session.exec(select(Component).where(Component.workspace_id == ws.id)).all():
        if row.anonymous or (row.archived and not include_archived):
            continue
        by_name.setdefault(row.name, []).append(row)
    out = []
    for name, rows in sorted(by_name.items()):
        rows.sort(key=lambda r: version_sort_key(r.version))
        latest = rows[-1]
        out.append(
            ComponentSummary(
                name=name,
                latest_version=latest.version,
                versions=len(rows),
                display_name=latest.display_name,
                description=latest.description,
                updated_at=max(r.created_at for r in rows),
            )
        )
    return out


def list_component_versions(*, session: Session, workspace: str, name: str) -> list[ComponentPublic]:
    ws = get_workspace_row(session=session, name=workspace)
    rows = [r for r in _rows(session, ws.id, name) if not r.anonymous]
    if not rows:
        raise NotFoundError(f"component {name!r} does not exist in workspace {workspace!r}")
    return [_public(r) for r in reversed(rows)]


def _set_archived(
    session: Session, workspace: str, name: str, version: str | None, archived: bool
) -> list[str]:
    ws = get_workspace_row(session=session, name=workspace)
    rows = [r for r in _rows(session, ws.id, name) if version is None or r.version == version]
    if not rows:
        raise NotFoundError(f"component {name}{':' + version if version else ''} does not exist")
    return set_archived(session, rows, archived)


def archive_component(
    *, session: Session, workspace: str, name: str, version: str | None = None
) -> list[str]:
    """Archive one version, or every version when none is given; returns the versions archived."""
    return _set_archived(session, workspace, name, version, True)


def restore_component(
    *, session: Session, workspace: str, name: str, version: str | None = None
) -> list[str]:
    return _set_archived(session, workspace, name, version, False)


def load_for_use(
    *, session: Session, workspace: str, reference: str | dict, base_dir: Path | None, field: str
) -> tuple[CommandComponentSpec, str]:
    """The component a pipeline step or sweep trial names: a local file (registered anonymously), a
    registered ``name:version`` / ``name@latest``, or an inline mapping; returns its spec (code is a
    snapshot URI) and its content hash (what step reuse compares)."""
    if isinstance(reference, dict):
        spec = parse_spec(
            CommandComponentSpec, {"name": reference.get("name", "inline"), **reference}, source=field
        )
        registered = register_component(
            session=session, workspace=workspace, spec=spec, base_dir=base_dir or Path.cwd(), anonymous=True
        )
        return _spec_of(registered), registered.content_hash
    builtin = rai_components.builtin_name(reference)
    if builtin is not None:  # the cloud's RAI registry components, built in
        return load_for_use(
            session=session,
            workspace=workspace,
            reference=rai_components.component_spec(*builtin),
            base_dir=base_dir,
            field=field,
        )
    ref = uris.parse_reference(reference, base_dir=base_dir, field=field)
    if isinstance(ref, uris.AssetRef):
        try:
            found = get_component(
                session=session, workspace=workspace, name=ref.name, version=ref.version, label=ref.label
            )
        except NotFoundError as exc:
            raise ValidationError(f"{field}: {reference!r}: {exc}") from None
        return _spec_of(found), found.content_hash
    if isinstance(ref, uris.LocalPath):
        if not ref.path.is_file():
            raise ValidationError(f"{field}: component file {str(ref.path)!r} does not exist")
        spec, text = load_component_file(ref.path)
        try:
            registered = register_component(
                session=session,
                workspace=workspace,
                spec=spec,
                base_dir=ref.path.parent.resolve(),
                source_yaml=text,
                anonymous=True,
            )
        except ValidationError as exc:
            raise ValidationError(f"{ref.path}: {exc}") from None
        return _spec_of(registered), registered.content_hash
    raise ValidationError(f"{field}: {reference!r} is not a component file or a registered component")


def _spec_of(component: ComponentPublic) -> CommandComponentSpec:
    return CommandComponentSpec.model_validate(dict(component.spec))


def component_yaml(component: ComponentPublic) -> str:
    if component.source_yaml:
        return component.source_yaml
    return yaml.safe_dump(component.spec, sort_keys=False)
