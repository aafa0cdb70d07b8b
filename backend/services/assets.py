"""Rules every versioned asset kind shares (data, environments, components; models next): versions
(SPEC section 1: explicit, or the next integer), their order, the description and tags that may change,
and archiving, which hides a version from lists and ``@latest`` but keeps it usable by its version."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypedDict, TypeVar

from pydantic import BaseModel, Field
from sqlmodel import Session

from backend.errors import NotFoundError, ValidationError
from backend.specs.job import check_tags

VERSION_MAX = 64
V = TypeVar("V")


class MetadataChange(TypedDict, total=False):
    """What may change of a version once it exists (``update_X(..., **changes)``); None leaves it as is."""

    description: str | None
    tags: dict[str, str] | None


class AssetCreate(BaseModel):
    """What every versioned asset is created with; each kind adds its ``type`` (and more)."""

    name: str
    version: str | None = None
    path: str
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)


class AssetSummary(BaseModel):
    """A versioned asset in a list: its name, latest version and how many versions it has."""

    name: str
    latest_version: str
    type: str
    versions: int
    description: str
    tags: dict[str, str]
    updated_at: datetime
    archived: bool


def summarize(
    groups: dict[str, list[V]],
    *,
    include_archived: bool,
    archived: Callable[[V], bool],
    public: Callable[[V], Any],
    updated: Callable[[V], datetime],
) -> list[AssetSummary]:
    """One summary per name (``groups``: name -> its versions, oldest first): the latest version that is
    not archived (or, with ``include_archived``, the latest of all when every version is)."""
    out = []
    for name, versions in sorted(groups.items()):
        live = [v for v in versions if not archived(v)]
        if not live and not include_archived:
            continue
        latest = public((live or versions)[-1])
        out.append(
            AssetSummary(
                name=name,
                latest_version=latest.version,
                type=latest.type,
                versions=len(versions),
                description=latest.description,
                tags=dict(latest.tags or {}),
                updated_at=max(updated(v) for v in versions),
                archived=not live,
            )
        )
    return out


def pick_version(
    versions: Sequence[V],
    *,
    kind: str,
    name: str,
    version: str | None,
    label: str | None,
    version_of: Callable[[V], str],
    archived: Callable[[V], bool],
) -> V:
    """``version`` among ``versions`` (oldest first), or with none given the latest one that is not
    archived (``@latest``, the only label); ``kind`` and ``name`` name the asset in errors."""
    if version is not None:
        for found in versions:
            if version_of(found) == str(version).strip():
                return found
        known = ", ".join(version_of(v) for v in versions)
        raise NotFoundError(f"{kind} {name}:{version} does not exist (versions: {known})")
    if label not in (None, "latest"):
        raise ValidationError(f"label {label!r} is not known; the only label is 'latest'")
    live = [v for v in versions if not archived(v)]
    if not live:
        raise NotFoundError(f"{kind} {name!r} has no version that is not archived")
    return live[-1]


def next_version(existing: Iterable[str]) -> str:
    """The next integer after the highest integer version ('1' when there is none)."""
    numbers = [int(v) for v in existing if v.isdigit()]
    return str(max(numbers, default=0) + 1)


def check_version(version: str, *, field: str = "version") -> str:
    version = str(version).strip()
    if not version or len(version) > VERSION_MAX or any(c in version for c in ":@/ "):
        raise ValidationError(
            f"{field} {version!r} is not valid: up to {VERSION_MAX} characters, without ':', '@', '/' or spaces"
        )
    return version


def version_sort_key(version: str) -> tuple:
    """Versions in release order (``1.9`` before ``1.10``, integers numerically) after names that are not
    versions (``beta``), so the highest version sorts last."""
    from packaging.version import InvalidVersion, Version

    try:
        return (1, Version(version), version)
    except InvalidVersion:
        return (0, version)


def described(obj: Any) -> dict[str, Any]:
    """``description`` and ``tags`` of ``obj`` for its YAML, each only when it has one."""
    return {key: value for key in ("description", "tags") if (value := getattr(obj, key, None))}


def update_metadata(
    session: Session, row: Any, *, description: str | None = None, tags: dict[str, str] | None = None
) -> None:
    """Change what may change of an asset version (or a workspace, a datastore): its description and tags."""
    if description is not None:
        row.description = description
    if tags is not None:
        check_tags(tags)
        row.tags = dict(tags)
    if hasattr(row, "updated_at"):
        from backend.db.models import utcnow

        row.updated_at = utcnow()
    session.add(row)
    session.flush()


def set_archived(session: Session, rows: Iterable[Any], archived: bool) -> list[str]:
    """Archive (or restore) these versions; returns their versions."""
    done = []
    for row in rows:
        row.archived = archived
        session.add(row)
        done.append(row.version)
    session.flush()
    return done
