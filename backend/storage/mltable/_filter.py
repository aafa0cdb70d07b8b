"""``filter``: a small expression language, parsed with ast and evaluated over pandas columns.

Only whitelisted node types are ever evaluated; nothing goes through eval().
"""

from __future__ import annotations

import ast
import datetime as dt
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._core import Fail, _one_line, _raise_bad_rows, _Run, _visible
from ._values import _is_null

_COMPARISONS = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_ARITHMETIC = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.BinOp,
    ast.Compare, ast.Name, ast.Load, ast.Constant, ast.Call, ast.Attribute, *_COMPARISONS, *_ARITHMETIC,
)  # fmt: skip
_FILTER_CALLS = 'col("name"), datetime(y, m, d[, H, M, S]), .startswith("text")'


@dataclass(frozen=True)
class _Filter:
    source: str
    tree: ast.Expression


def _validate_filter(value: Any, fail: Fail) -> _Filter:
    if not isinstance(value, str) or not value.strip():
        raise fail(f"expects an expression string such as 'age > 30 and city == \"Oslo\"', got {value!r}")
    try:
        tree = ast.parse(value.strip(), mode="eval")
    except SyntaxError as exc:
        raise fail(f"expression {value!r} is not valid: {exc.msg} at column {exc.offset}") from exc
    # The reference's parser wants a space after not/and/or and has no empty string literal.
    keyword = re.search(r"\b(not|and|or)\(", value)
    if keyword:
        raise fail(f"expression {value!r}: put a space between '{keyword.group(1)}' and '('")
    # An attribute is only ever the method of a call: `name.startswith("x")`.
    methods = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise fail(f"expression {value!r} uses {type(node).__name__}, which filters do not support")
        if isinstance(node, ast.Constant) and node.value == "":
            raise fail(f"expression {value!r} compares with an empty string, which filters cannot express")
        if isinstance(node, ast.Call):
            _check_call(node, value, fail)
        if isinstance(node, ast.Attribute) and (node.attr != "startswith" or id(node) not in methods):
            raise fail(f"expression {value!r} uses '.{node.attr}' (allowed: {_FILTER_CALLS})")
    return _Filter(value, tree)


def _check_call(node: ast.Call, source: str, fail: Fail) -> None:
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "startswith":
        if len(node.args) != 1:
            raise fail(f"expression {source!r}: .startswith() takes one argument")
    elif isinstance(func, ast.Name) and func.id == "col":
        if (
            len(node.args) != 1
            or not isinstance(node.args[0], ast.Constant)
            or not isinstance(node.args[0].value, str)
        ):
            raise fail(f"expression {source!r}: col() takes one quoted column name")
    elif not (isinstance(func, ast.Name) and func.id == "datetime"):
        raise fail(f"expression {source!r} calls {ast.unparse(func)!r} (allowed: {_FILTER_CALLS})")
    if node.keywords:
        raise fail(f"expression {source!r} passes keyword arguments, which filters do not support")


def _apply_filter(table: pd.DataFrame, expression: _Filter, run: _Run) -> pd.DataFrame:
    _raise_bad_rows(table, run)
    try:
        result = _FilterEvaluator(table, run).logic(expression.tree.body)
    except (TypeError, ValueError, AttributeError, OverflowError, ZeroDivisionError) as exc:
        raise run.fail(
            f"expression {expression.source!r} could not be evaluated: {_one_line(str(exc))}"
        ) from exc
    # A null never matches, even under `not` or `!=`: null propagates and counts as false.
    return table[result.fillna(False).astype(bool).to_numpy()]


# How the reference orders values of different kinds (they are never equal).
_KIND_ORDER = ("bool", "number", "text", "datetime")


def _value_kind(value: Any) -> str:
    """bool, number, text, or another kind, of a column or a literal."""
    if isinstance(value, pd.Series):
        dtype = value.dtype
        if pd.api.types.is_bool_dtype(dtype):
            return "bool"
        if pd.api.types.is_numeric_dtype(dtype):
            return "number"
        if pd.api.types.is_datetime64_any_dtype(dtype):
            return "datetime"
        kinds = {_value_kind(item) for item in value.dropna()}
        return kinds.pop() if len(kinds) == 1 else "mixed" if kinds else "other"
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | float | np.integer | np.floating):
        return "number"
    if isinstance(value, dt.datetime | np.datetime64):
        return "datetime"
    return "text" if isinstance(value, str) else "other"


def _and(left: pd.Series, right: pd.Series) -> pd.Series:
    """The reference's ``and``: false if the left side is, null if the left side is null (even
    when the right side is false; ``or`` is the usual three-valued one), else the right side."""
    return right.mask(left.isna(), None).mask(left.fillna(True).eq(False), False).astype("boolean")


class _FilterEvaluator:
    """Evaluates a validated expression tree; columns are Series, literals stay scalars.

    Comparisons return nullable booleans that are null wherever an operand is null, and
    and/or/not use Kleene logic over them. A name that is no column is null, as in the reference.
    """

    def __init__(self, table: pd.DataFrame, run: _Run) -> None:
        self.table = table
        self.run = run

    def value(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.column(node.id)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.BinOp):
            return _ARITHMETIC[type(node.op)](
                self.number(self.value(node.left)), self.number(self.value(node.right))
            )
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -self.number(self.value(node.operand))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
            return +self.number(self.value(node.operand))
        return self.logic(node)

    def number(self, value: Any) -> Any:
        if isinstance(value, pd.Series) and isinstance(value.dtype, pd.BooleanDtype):
            return value.astype("Int64")
        return value

    def logic(self, node: ast.AST) -> pd.Series:
        if isinstance(node, ast.BoolOp):
            combine = _and if isinstance(node.op, ast.And) else operator.or_
            result = self.logic(node.values[0])
            for operand in node.values[1:]:
                result = combine(result, self.logic(operand))
            return result
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ~self.logic(node.operand)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        return self.as_logic(self.value(node))

    def compare(self, node: ast.Compare) -> pd.Series:
        # a < b < c means (a < b) < c here, not Python's a < b and b < c: the reference reads
        # comparisons left to right.
        left = self.value(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.value(right_node)
            compare = _COMPARISONS[type(op)]
            left_kind, right_kind = _value_kind(left), _value_kind(right)
            if "mixed" in (left_kind, right_kind):
                outcome = self.compare_values(compare, left, right)
            elif left_kind != right_kind and {left_kind, right_kind} <= set(_KIND_ORDER):
                # Values of different kinds are never equal and order by kind, as in the reference.
                outcome = compare(_KIND_ORDER.index(left_kind), _KIND_ORDER.index(right_kind))
            else:
                outcome = compare(left, right)
            left = self.as_logic(outcome).mask(self.nulls(left) | self.nulls(right))
        return left

    def compare_values(self, compare: Callable[[Any, Any], Any], left: Any, right: Any) -> pd.Series:
        """Value by value, for columns whose rows hold values of different kinds (JSON)."""
        lefts, rights = self.series(left), self.series(right)
        outcome = []
        for a, b in zip(lefts, rights, strict=True):
            if _is_null(a) or _is_null(b):
                outcome.append(None)
                continue
            kinds = (_value_kind(a), _value_kind(b))
            if kinds[0] != kinds[1] and set(kinds) <= set(_KIND_ORDER):
                outcome.append(compare(_KIND_ORDER.index(kinds[0]), _KIND_ORDER.index(kinds[1])))
            else:
                outcome.append(bool(compare(a, b)))
        return pd.Series(outcome, index=self.table.index, dtype="boolean")

    def call(self, node: ast.Call) -> Any:
        func = node.func
        if isinstance(func, ast.Attribute):
            text = self.series(self.value(func.value))
            if text.isna().any():
                raise self.run.fail(
                    f"{ast.unparse(func.value)}.startswith(...) met a null value; filter the nulls out first"
                )
            argument = self.value(node.args[0])
            return self.as_logic(text.str.startswith(argument))
        if func.id == "col":
            return self.column(node.args[0].value)
        return pd.Timestamp(dt.datetime(*[self.value(arg) for arg in node.args]))

    def column(self, name: str) -> pd.Series:
        if name not in _visible(self.table):
            return pd.Series(None, index=self.table.index, dtype=object)
        return self.table[name]

    def series(self, value: Any) -> pd.Series:
        if isinstance(value, pd.Series):
            return value
        return pd.Series([value] * len(self.table), index=self.table.index, dtype=object)

    def nulls(self, value: Any) -> pd.Series:
        if isinstance(value, pd.Series):
            return value.isna()
        return pd.Series(value is None, index=self.table.index)

    def as_logic(self, value: Any) -> pd.Series:
        if isinstance(value, pd.Series):
            return value.astype(object).where(value.notna(), None).astype("boolean")
        return pd.Series(bool(value), index=self.table.index, dtype="boolean")
