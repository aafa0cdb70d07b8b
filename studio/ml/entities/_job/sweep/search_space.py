"""Search-space distributions: each is its YAML mapping (``{type: uniform, min_value: .., max_value: ..}``)."""

from __future__ import annotations

from typing import Any

from studio.ml.entities._base import _Entity, _Field


class SweepDistribution(_Entity):
    """A search-space entry; ``_to_dict()`` is its YAML mapping (``{type: uniform, min_value: .., ...}``)."""

    type = _Field()

    def __init__(self, type: str, **args: Any):
        self._fields = {"type": type, **args}


class Choice(SweepDistribution):
    values = _Field()

    def __init__(self, values: list[Any] | tuple[Any, ...] | None = None):
        super().__init__("choice", values=None if values is None else list(values))


class Randint(SweepDistribution):
    """An integer in [0, upper)."""

    upper = _Field()

    def __init__(self, upper: int | None = None):
        super().__init__("randint", upper=upper)


class _Bounded(SweepDistribution):
    """A distribution between ``min_value`` and ``max_value``; its YAML ``type`` is ``_TYPE``."""

    _TYPE = ""
    min_value = _Field()
    max_value = _Field()

    def __init__(self, min_value: float | None = None, max_value: float | None = None):
        super().__init__(self._TYPE, min_value=min_value, max_value=max_value)


class _Gaussian(SweepDistribution):
    """A distribution around ``mu`` with spread ``sigma``; its YAML ``type`` is ``_TYPE``."""

    _TYPE = ""
    mu = _Field()
    sigma = _Field()

    def __init__(self, mu: float | None = None, sigma: float | None = None):
        super().__init__(self._TYPE, mu=mu, sigma=sigma)


class _QBounded(SweepDistribution, fields="min_value max_value q"):
    """``_Bounded`` with values rounded to multiples of ``q``."""

    _TYPE = ""

    def __init__(
        self, min_value: float | None = None, max_value: float | None = None, q: float | None = None
    ):
        super().__init__(self._TYPE, min_value=min_value, max_value=max_value, q=q)


class _QGaussian(SweepDistribution, fields="mu sigma q"):
    """``_Gaussian`` with values rounded to multiples of ``q``."""

    _TYPE = ""

    def __init__(self, mu: float | None = None, sigma: float | None = None, q: float | None = None):
        super().__init__(self._TYPE, mu=mu, sigma=sigma, q=q)


class Uniform(_Bounded):
    _TYPE = "uniform"


class LogUniform(_Bounded):
    """exp(uniform(min_value, max_value))."""

    _TYPE = "loguniform"


class Normal(_Gaussian):
    _TYPE = "normal"


class LogNormal(_Gaussian):
    _TYPE = "lognormal"


class QUniform(_QBounded):
    _TYPE = "quniform"


class QLogUniform(_QBounded):
    _TYPE = "qloguniform"


class QNormal(_QGaussian):
    _TYPE = "qnormal"


class QLogNormal(_QGaussian):
    _TYPE = "qlognormal"


__all__ = [
    "Choice",
    "LogNormal",
    "LogUniform",
    "Normal",
    "QLogNormal",
    "QLogUniform",
    "QNormal",
    "QUniform",
    "Randint",
    "SweepDistribution",
    "Uniform",
]
