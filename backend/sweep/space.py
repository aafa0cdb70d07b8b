"""The ten search-space distributions of SPEC section 8, and the mapping of a uniform draw to a value.

Every sampler draws ``u`` in [0, 1) per parameter and maps it with ``Distribution.from_unit``, so
random sampling and Sobol sequences share one definition of each distribution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from backend.errors import ValidationError

TYPES = (
    "choice",
    "randint",
    "uniform",
    "loguniform",
    "normal",
    "lognormal",
    "quniform",
    "qloguniform",
    "qnormal",
    "qlognormal",
)
ARGUMENTS = {
    "choice": ("values",),
    "randint": ("upper",),
    "uniform": ("min_value", "max_value"),
    "loguniform": ("min_value", "max_value"),
    "normal": ("mu", "sigma"),
    "lognormal": ("mu", "sigma"),
    "quniform": ("min_value", "max_value", "q"),
    "qloguniform": ("min_value", "max_value", "q"),
    "qnormal": ("mu", "sigma", "q"),
    "qlognormal": ("mu", "sigma", "q"),
}
_STANDARD_NORMAL = NormalDist()
SUPPORTED_BY = {
    "random": set(TYPES),
    "grid": {"choice"},
    "bayesian": {"choice", "uniform", "quniform"},
}


def _quantize(value: float, q: float) -> float:
    out = round(value / q) * q
    # Keep integers integers when q is one (q: 1 on integer bounds gives whole numbers).
    return round(out) if float(q).is_integer() else round(out, 12)


@dataclass(frozen=True)
class Distribution:
    name: str
    type: str
    args: dict[str, Any]

    def from_unit(self, u: float) -> Any:
        """The value for a uniform draw ``u`` in [0, 1)."""
        a = self.args
        u = min(max(u, 1e-12), 1 - 1e-12)
        match self.type:
            case "choice":
                values = a["values"]
                return values[min(int(u * len(values)), len(values) - 1)]
            case "randint":
                return min(int(u * a["upper"]), a["upper"] - 1)
            case "uniform":
                return a["min_value"] + u * (a["max_value"] - a["min_value"])
            case "loguniform":
                return math.exp(a["min_value"] + u * (a["max_value"] - a["min_value"]))
            case "normal":
                return a["mu"] + a["sigma"] * _STANDARD_NORMAL.inv_cdf(u)
            case "lognormal":
                return math.exp(a["mu"] + a["sigma"] * _STANDARD_NORMAL.inv_cdf(u))
            case "quniform":
                return _quantize(a["min_value"] + u * (a["max_value"] - a["min_value"]), a["q"])
            case "qloguniform":
                return _quantize(math.exp(a["min_value"] + u * (a["max_value"] - a["min_value"])), a["q"])
            case "qnormal":
                return _quantize(a["mu"] + a["sigma"] * _STANDARD_NORMAL.inv_cdf(u), a["q"])
            case "qlognormal":
                return _quantize(math.exp(a["mu"] + a["sigma"] * _STANDARD_NORMAL.inv_cdf(u)), a["q"])
        raise AssertionError(self.type)

    def contains(self, value: Any) -> bool:
        """Whether a value could come from this distribution (used to check replayed trials)."""
        a = self.args
        if self.type == "choice":
            return value in a["values"]
        if self.type == "randint":
            return isinstance(value, int) and 0 <= value < a["upper"]
        if self.type in ("uniform", "quniform"):
            lo, hi = a["min_value"], a["max_value"]
            slack = a.get("q", 0)
            return lo - slack <= value <= hi + slack
        return True


def parse_space(raw: dict[str, Any], *, algorithm: str, field: str = "search_space") -> list[Distribution]:
    """Validate a YAML search space for an algorithm; an unsupported or malformed entry names the parameter."""
    if not isinstance(raw, dict) or not raw:
        raise ValidationError(f"{field}: at least one parameter is required")
    allowed = SUPPORTED_BY[algorithm]
    space = []
    for name, entry in raw.items():
        where = f"{field}.{name}"
        if not isinstance(entry, dict) or "type" not in entry:
            raise ValidationError(f"{where}: give a mapping with a 'type' (one of {', '.join(TYPES)})")
        kind = str(entry["type"]).lower()
        if kind not in TYPES:
            raise ValidationError(
                f"{where}.type: {entry['type']!r} is not a distribution (use one of {', '.join(TYPES)})"
            )
        if kind not in allowed:
            raise ValidationError(
                f"{where}: the {algorithm} sampling algorithm does not support '{kind}' "
                f"(it supports {', '.join(sorted(allowed))})"
            )
        args = {k: v for k, v in entry.items() if k != "type"}
        expected = ARGUMENTS[kind]
        unknown = set(args) - set(expected)
        missing = [k for k in expected if k not in args]
        if unknown:
            raise ValidationError(
                f"{where}: '{kind}' takes {', '.join(expected)}, not {', '.join(sorted(unknown))}"
            )
        if missing:
            raise ValidationError(f"{where}: '{kind}' needs {', '.join(missing)}")
        space.append(Distribution(name=name, type=kind, args=_check_args(where, kind, args)))
    return space


def _check_args(where: str, kind: str, args: dict[str, Any]) -> dict[str, Any]:
    if kind == "choice":
        values = args["values"]
        if not isinstance(values, list) or not values:
            raise ValidationError(f"{where}.values: give a non-empty list")
        return {"values": values}
    for key, value in args.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(f"{where}.{key}: must be a number (got {value!r})")
    if kind == "randint" and (not float(args["upper"]).is_integer() or args["upper"] < 1):
        raise ValidationError(f"{where}.upper: must be a whole number of at least 1 (got {args['upper']!r})")
    if "min_value" in args and args["min_value"] >= args["max_value"]:
        raise ValidationError(
            f"{where}: min_value must be below max_value (got {args['min_value']} and {args['max_value']})"
        )
    if "sigma" in args and args["sigma"] <= 0:
        raise ValidationError(f"{where}.sigma: must be above 0 (got {args['sigma']})")
    if "q" in args and args["q"] <= 0:
        raise ValidationError(f"{where}.q: must be above 0 (got {args['q']})")
    if kind == "randint":
        args = {"upper": int(args["upper"])}
    return args
