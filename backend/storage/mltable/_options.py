"""Options of a transformation: each option's default and allowed values, and the check of a mapping."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ._core import Fail


@dataclass(frozen=True)
class _Option:
    default: Any
    expected: str  # how the allowed values read in an error message
    accepts: Callable[[Any], bool]
    required: bool = False


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _flag(default: bool) -> _Option:
    return _Option(default, "true or false", lambda value: isinstance(value, bool))


def _choice(default: str, allowed: Iterable[str]) -> _Option:
    allowed = tuple(allowed)
    return _Option(default, f"one of {', '.join(allowed)}", lambda value: value in allowed)


def _text(default: str | None = None, required: bool = False) -> _Option:
    return _Option(default, "a string", lambda value: isinstance(value, str), required)


def _whole(default: int | None = None, required: bool = False) -> _Option:
    return _Option(default, "a whole number", _is_int, required)


def _options(value: Any, spec: dict[str, _Option], fail: Fail) -> dict[str, Any]:
    """Check a step's option mapping against ``spec``; fill in the defaults."""
    if not isinstance(value, dict):
        raise fail(f"options must be a mapping (allowed keys: {', '.join(spec)}), got {value!r}")
    unknown = [key for key in value if key not in spec]
    if unknown:
        raise fail(f"unknown option '{unknown[0]}' (allowed: {', '.join(spec)})")
    result = {}
    for key, option in spec.items():
        if key not in value:
            if option.required:
                raise fail(f"option '{key}' is required ({option.expected})")
            result[key] = option.default
            continue
        result[key] = value[key]
        if not option.accepts(result[key]):
            raise fail(f"option '{key}' must be {option.expected}, got {result[key]!r}")
    return result
