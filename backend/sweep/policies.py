"""Early-termination policies as pure functions of the trials' primary-metric histories (SPEC section 8).

Interval *n* of a trial is the *n*-th value of the primary metric it logged (1-based). A policy is
evaluated at interval *n* when ``n >= delay_evaluation`` and ``n % evaluation_interval == 0`` (an
interval of 0 counts as 1). Finished trials are never canceled but count as peers. Every call re-checks
every interval a running trial has reached, on all values reported so far, so a trial that ran ahead of
its peers is still judged once they catch up; the first interval at which the rule holds is the one
reported.
"""

from __future__ import annotations

import math
import statistics
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from backend.errors import ValidationError

GOALS = ("maximize", "minimize")


@dataclass(frozen=True)
class TrialCurve:
    name: str
    values: list[float]  # values[n - 1] is interval n
    running: bool
    order: int = 0  # submission order, for deterministic tie-breaks

    def reached(self, n: int) -> bool:
        return len(self.values) >= n


@dataclass(frozen=True)
class Termination:
    trial: str
    policy: str
    interval: int
    reason: str
    numbers: dict[str, float] = field(default_factory=dict)


def _better(a: float, b: float, goal: str) -> bool:
    return a > b if goal == "maximize" else a < b


class Policy(ABC):
    name: str = ""

    def __init__(self, *, evaluation_interval: int = 1, delay_evaluation: int = 0):
        if evaluation_interval < 0 or delay_evaluation < 0:
            raise ValidationError(
                "early_termination: evaluation_interval and delay_evaluation must be 0 or more"
            )
        self.evaluation_interval = evaluation_interval or 1
        self.delay_evaluation = delay_evaluation

    def evaluated_at(self, n: int) -> bool:
        return n >= self.delay_evaluation and n % self.evaluation_interval == 0

    def decide(self, trials: list[TrialCurve], goal: str) -> list[Termination]:
        """Which running trials to cancel now, each with the interval and numbers that decided it."""
        if goal not in GOALS:
            raise ValidationError(f"objective.goal: {goal!r} is not known (use maximize or minimize)")
        decided: dict[str, Termination] = {}
        longest = max((len(t.values) for t in trials), default=0)
        for n in range(1, longest + 1):
            if not self.evaluated_at(n):
                continue
            peers = [t for t in trials if t.reached(n)]
            candidates = [t for t in peers if t.running and t.name not in decided]
            if candidates:
                for termination in self.check(n, peers, candidates, goal):
                    decided.setdefault(termination.trial, termination)
        return list(decided.values())

    @abstractmethod
    def check(
        self, n: int, peers: list[TrialCurve], candidates: list[TrialCurve], goal: str
    ) -> list[Termination]:
        """The candidates the rule cancels at interval ``n``, given every peer that reached it."""


class BanditPolicy(Policy):
    name = "bandit"

    def __init__(self, *, slack_factor: float | None = None, slack_amount: float | None = None, **kwargs):
        super().__init__(**kwargs)
        if (slack_factor is None) == (slack_amount is None):
            raise ValidationError(
                "early_termination: a bandit policy takes exactly one of slack_factor, slack_amount"
            )
        if (slack_factor is not None and slack_factor < 0) or (slack_amount is not None and slack_amount < 0):
            raise ValidationError("early_termination: slack_factor / slack_amount must be 0 or more")
        self.slack_factor, self.slack_amount = slack_factor, slack_amount

    def threshold(self, best: float, goal: str) -> float:
        if self.slack_factor is not None:
            return best / (1 + self.slack_factor) if goal == "maximize" else best * (1 + self.slack_factor)
        return best - self.slack_amount if goal == "maximize" else best + self.slack_amount

    def check(self, n, peers, candidates, goal):
        values = [t.values[n - 1] for t in peers]
        best = max(values) if goal == "maximize" else min(values)
        limit = self.threshold(best, goal)
        slack = (
            f"slack_factor {self.slack_factor}"
            if self.slack_factor is not None
            else f"slack_amount {self.slack_amount}"
        )
        out = []
        for t in candidates:
            v = t.values[n - 1]
            if _better(limit, v, goal):  # strictly outside the slack
                word = "below" if goal == "maximize" else "above"
                out.append(
                    Termination(
                        t.name,
                        self.name,
                        n,
                        f"bandit policy at interval {n}: {v:g} is {word} {limit:g} (best {best:g} with {slack})",
                        {"value": v, "best": best, "threshold": limit},
                    )
                )
        return out


class MedianStoppingPolicy(Policy):
    name = "median_stopping"

    def check(self, n, peers, candidates, goal):
        averages = [statistics.fmean(t.values[:n]) for t in peers]
        median = statistics.median(averages)
        out = []
        for t in candidates:
            window = t.values[:n]
            best = max(window) if goal == "maximize" else min(window)
            if _better(median, best, goal):
                word = "below" if goal == "maximize" else "above"
                out.append(
                    Termination(
                        t.name,
                        self.name,
                        n,
                        f"median stopping policy at interval {n}: best value {best:g} is {word} the median "
                        f"{median:g} of the running averages of {len(peers)} trials",
                        {"best": best, "median": median, "peers": len(peers)},
                    )
                )
        return out


class TruncationSelectionPolicy(Policy):
    name = "truncation_selection"

    def __init__(self, *, truncation_percentage: int, exclude_finished_jobs: bool = False, **kwargs):
        super().__init__(**kwargs)
        if not 1 <= truncation_percentage <= 99:
            raise ValidationError(
                f"early_termination.truncation_percentage: must be 1 to 99 (got {truncation_percentage})"
            )
        self.percentage, self.exclude_finished = truncation_percentage, exclude_finished_jobs

    def check(self, n, peers, candidates, goal):
        ranked = [t for t in peers if t.running or not self.exclude_finished]
        cut = math.floor(len(ranked) * self.percentage / 100)
        if cut == 0:
            return []
        # Worst first; among equal values the later trial goes first (earlier work is kept).
        sign = 1 if goal == "maximize" else -1
        running = sorted(
            (t for t in ranked if t.running and t in candidates),
            key=lambda t: (sign * t.values[n - 1], -t.order),
        )
        out = []
        for rank, t in enumerate(running[:cut], start=1):
            out.append(
                Termination(
                    t.name,
                    self.name,
                    n,
                    f"truncation selection policy at interval {n}: {t.values[n - 1]:g} is among the worst "
                    f"{self.percentage}% ({cut} of {len(ranked)} trials)",
                    {"value": t.values[n - 1], "rank_from_worst": rank, "cut": cut, "ranked": len(ranked)},
                )
            )
        return out


def make_policy(spec: dict | None) -> Policy | None:
    """A policy from the YAML ``early_termination`` mapping (None when absent)."""
    if not spec:
        return None
    spec = dict(spec)
    kind = str(spec.pop("type", "")).lower()
    common = {
        "evaluation_interval": int(spec.pop("evaluation_interval", 1) or 0),
        "delay_evaluation": int(spec.pop("delay_evaluation", 0) or 0),
    }
    classes = {
        "bandit": BanditPolicy,
        "median_stopping": MedianStoppingPolicy,
        "truncation_selection": TruncationSelectionPolicy,
    }
    if kind not in classes:
        raise ValidationError(f"early_termination.type: {kind!r} is not known (use {', '.join(classes)})")
    try:
        return classes[kind](**common, **spec)
    except TypeError as exc:
        raise ValidationError(f"early_termination: {kind} policy: {exc}".replace("__init__() ", "")) from None


def compute_saved(canceled: list[tuple[float, int]], completed_intervals: list[int]) -> float:
    """Seconds saved by early termination: each canceled trial's (run time, intervals reached), projected
    at its own pace to the median interval count of the completed trials."""
    if not completed_intervals:
        return 0.0
    target = statistics.median(completed_intervals)
    saved = 0.0
    for runtime, reached in canceled:
        if reached > 0 and target > reached:
            saved += runtime / reached * (target - reached)
    return saved
