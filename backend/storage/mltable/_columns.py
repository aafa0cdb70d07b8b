"""Column steps: ``drop_columns``, ``keep_columns``, and the column selectors they (and conversions) use."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ._core import Fail, _Run, _visible
from ._options import _flag, _options, _text


@dataclass(frozen=True)
class _Selector:
    """Columns by name (missing names are ignored, as the reference does) or by regex."""

    names: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    invert: bool = False

    def pick(self, columns: Iterable[str]) -> list[str]:
        if self.pattern is None:
            return [name for name in columns if name in self.names]
        # A search, not a full match; ignore_case is accepted but the reference ignores it.
        return [name for name in columns if bool(self.pattern.search(name)) != self.invert]


def _validate_selector(value: Any, fail: Fail, *, names_only: bool = False) -> _Selector:
    if isinstance(value, str):
        return _Selector(names=(value,))
    if isinstance(value, list) and all(isinstance(name, str) for name in value):
        return _Selector(names=tuple(value))
    if isinstance(value, dict) and not names_only:
        spec = {"pattern": _text(required=True), "ignore_case": _flag(False), "invert": _flag(False)}
        options = _options(value, spec, lambda detail: fail(f"columns: {detail}"))
        try:
            pattern = re.compile(options["pattern"])
        except re.error as exc:
            raise fail(
                f"columns: pattern {options['pattern']!r} is not a valid regular expression ({exc})"
            ) from exc
        return _Selector(pattern=pattern, invert=options["invert"])
    allowed = "a column name or a list of names" + (
        "" if names_only else ", or {pattern, ignore_case, invert}"
    )
    raise fail(f"columns must be {allowed}, got {value!r}")


def _apply_drop_columns(table: pd.DataFrame, selector: _Selector, run: _Run) -> pd.DataFrame:
    return table.drop(columns=selector.pick(_visible(table)))


def _apply_keep_columns(table: pd.DataFrame, selector: _Selector, run: _Run) -> pd.DataFrame:
    kept = set(selector.pick(_visible(table)))
    return table[
        [name for name in table.columns if name in kept or name not in _visible(table)]
    ]  # table order
