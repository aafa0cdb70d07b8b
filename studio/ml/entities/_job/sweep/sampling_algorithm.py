"""Sampling algorithms: how a sweep picks its trials' values from the search space."""

from __future__ import annotations

from typing import Any

from studio.ml.entities._base import _Entity, _Field


class SamplingAlgorithm(_Entity):
    type = _Field()

    def _to_dict(self) -> Any:
        data = super()._to_dict()
        return data["type"] if list(data) == ["type"] else data  # the short form when nothing else is set


class RandomSamplingAlgorithm(SamplingAlgorithm, fields="seed rule logbase"):
    """``rule``: ``random`` (default) or ``sobol``; ``seed`` makes the draws repeatable."""

    def __init__(
        self, *, rule: str | None = None, seed: int | None = None, logbase: float | str | None = None
    ):
        self._fields = {"type": "random", "seed": seed, "rule": rule, "logbase": logbase}


class GridSamplingAlgorithm(SamplingAlgorithm):
    def __init__(self) -> None:
        self._fields = {"type": "grid"}


class BayesianSamplingAlgorithm(SamplingAlgorithm):
    def __init__(self) -> None:
        self._fields = {"type": "bayesian"}


__all__ = [
    "BayesianSamplingAlgorithm",
    "GridSamplingAlgorithm",
    "RandomSamplingAlgorithm",
    "SamplingAlgorithm",
]
