"""Samplers: ``random`` (plain or Sobol), ``grid`` and ``bayesian`` (Optuna ask/tell).

A sampler is rebuilt from the sweep's record whenever the controller needs it (after an agent restart
too): ``ask(index, history)`` gives trial ``index``'s values from its seed, its position and, for the
bayesian sampler, the finished trials so far. Random and grid samples depend only on the index, so a
resumed sweep repeats exactly what it would have done.
"""

from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from backend.errors import ValidationError
from backend.sweep.space import Distribution


@dataclass(frozen=True)
class Finished:
    """A finished trial as the bayesian sampler learns from it."""

    params: dict[str, Any]
    value: float | None  # None: it never logged the primary metric


class Sampler(ABC):
    def __init__(self, space: list[Distribution], *, seed: int, goal: str = "maximize"):
        self.space = space
        self.seed = seed
        self.goal = goal

    @property
    def total(self) -> int | None:
        """How many distinct trials there are (a grid's size), or None when unbounded."""
        return None

    @abstractmethod
    def ask(self, index: int, history: list[Finished] | None = None) -> dict[str, Any] | None:
        """Values for trial ``index`` (0-based), or None once the space is exhausted."""


class RandomSampler(Sampler):
    def __init__(self, space, *, seed, goal="maximize", rule: str = "random"):
        super().__init__(space, seed=seed, goal=goal)
        if rule not in ("random", "sobol"):
            raise ValidationError(f"sampling_algorithm.rule: {rule!r} is not known (use random or sobol)")
        self.rule = rule

    def _unit(self, index: int) -> np.ndarray:
        if self.rule == "sobol":
            from scipy.stats import qmc

            engine = qmc.Sobol(d=len(self.space), scramble=True, seed=self.seed)
            if index:
                engine.fast_forward(index)
            return engine.random(1)[0]
        return np.random.default_rng([self.seed, index]).random(len(self.space))

    def ask(self, index, history=None):
        draws = self._unit(index)
        return {d.name: _plain(d.from_unit(float(u))) for d, u in zip(self.space, draws, strict=True)}


class GridSampler(Sampler):
    """Every combination of the choices once, in order."""

    @property
    def total(self) -> int:
        return math.prod(len(d.args["values"]) for d in self.space)

    def ask(self, index, history=None):
        if index >= self.total:
            return None
        combo = next(
            itertools.islice(itertools.product(*(d.args["values"] for d in self.space)), index, None)
        )
        return {d.name: value for d, value in zip(self.space, combo, strict=True)}


class BayesianSampler(Sampler):
    """Optuna's TPE (a model-based sampler) fed with the finished trials' primary metric."""

    def _distributions(self):
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        out = {}
        for d in self.space:
            a = d.args
            if d.type == "choice":
                out[d.name] = CategoricalDistribution(a["values"])
            elif d.type == "uniform":
                out[d.name] = FloatDistribution(a["min_value"], a["max_value"])
            else:  # quniform keeps its quantisation: values on the grid of q
                q = a["q"]
                low, high = math.ceil(a["min_value"] / q) * q, math.floor(a["max_value"] / q) * q
                if float(q).is_integer() and float(low).is_integer():
                    out[d.name] = IntDistribution(int(low), int(high), step=int(q))
                else:
                    steps = round((high - low) / q)
                    out[d.name] = FloatDistribution(low, low + steps * q, step=q)
        return out

    def ask(self, index, history=None):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        distributions = self._distributions()
        sampler = optuna.samplers.TPESampler(seed=self.seed + index, n_startup_trials=5)
        direction = "maximize" if self.goal == "maximize" else "minimize"
        study = optuna.create_study(direction=direction, sampler=sampler)
        for done in history or []:
            if done.value is None or not all(k in done.params for k in distributions):
                continue
            try:
                study.add_trial(
                    optuna.trial.create_trial(
                        params={k: done.params[k] for k in distributions},
                        distributions=distributions,
                        value=float(done.value),
                    )
                )
            except ValueError:
                continue  # a value outside the current space (edited sweep): nothing to learn from it
        trial = study.ask(distributions)
        return {k: _plain(v) for k, v in trial.params.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def make_sampler(
    algorithm: str, space: list[Distribution], *, seed: int, goal: str, rule: str = "random"
) -> Sampler:
    if algorithm == "random":
        return RandomSampler(space, seed=seed, goal=goal, rule=rule)
    if algorithm == "grid":
        return GridSampler(space, seed=seed, goal=goal)
    if algorithm == "bayesian":
        return BayesianSampler(space, seed=seed, goal=goal)
    raise ValidationError(f"sampling_algorithm: {algorithm!r} is not known (use random, grid or bayesian)")
