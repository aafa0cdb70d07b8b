"""Version rules shared by every versioned asset (SPEC section 1)."""

from __future__ import annotations

from collections.abc import Iterable

from backend.errors import ValidationError

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
