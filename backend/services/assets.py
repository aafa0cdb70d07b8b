"""Rules every versioned asset kind shares (data, environments, components; models next): versions
(SPEC section 1: explicit, or the next integer), their order, the description and tags that may change,
and archiving, which hides a version from lists and ``@latest`` but keeps it usable by its version."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session

from backend.errors import ValidationError
from backend.specs.job import check_tags

VERSION_MAX = 64


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


def update_metadata(
    session: Session, row: Any, *, description: str | None, tags: dict[str, str] | None
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
