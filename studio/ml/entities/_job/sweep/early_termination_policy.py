"""Early-termination policies: when a sweep cancels trials that are doing worse than the others."""

from __future__ import annotations

from typing import Any

from studio.ml.entities._base import _Entity, _Field


class EarlyTerminationPolicy(_Entity, fields="type evaluation_interval delay_evaluation"):
    def __init__(self, type: str, evaluation_interval: int, delay_evaluation: int, **fields: Any):
        self._fields = {
            "type": type,
            "evaluation_interval": evaluation_interval,
            "delay_evaluation": delay_evaluation,
            **fields,
        }

    def _to_dict(self) -> dict[str, Any]:
        data = super()._to_dict()
        # The cloud's SDK defaults evaluation_interval to 0, meaning "every interval"; a sweep file says 1.
        if not data.get("evaluation_interval"):
            data["evaluation_interval"] = 1
        return data


class BanditPolicy(EarlyTerminationPolicy):
    """Cancel a trial whose value is outside the slack of the best one (give slack_factor or slack_amount)."""

    slack_factor = _Field()
    slack_amount = _Field()

    def __init__(
        self,
        *,
        delay_evaluation: int = 0,
        evaluation_interval: int = 0,
        slack_amount: float | None = None,
        slack_factor: float | None = None,
    ):
        slacks = {"slack_factor": slack_factor, "slack_amount": slack_amount}
        super().__init__("bandit", evaluation_interval, delay_evaluation, **slacks)

    def _to_dict(self) -> dict[str, Any]:
        data = super()._to_dict()
        # The cloud defaults both slacks to 0: a 0 beside a non-zero one means "not given".
        factor, amount = data.pop("slack_factor", None), data.pop("slack_amount", None)
        if factor and amount:
            data.update(slack_factor=factor, slack_amount=amount)
        elif amount:
            data["slack_amount"] = amount
        else:
            data["slack_factor"] = factor or 0
        return data


class MedianStoppingPolicy(EarlyTerminationPolicy):
    """Cancel a trial whose best value is worse than the median of the running averages."""

    def __init__(self, *, delay_evaluation: int = 0, evaluation_interval: int = 1):
        super().__init__("median_stopping", evaluation_interval, delay_evaluation)


class TruncationSelectionPolicy(EarlyTerminationPolicy):
    """Cancel the worst ``truncation_percentage`` % of the running trials at each evaluation."""

    truncation_percentage = _Field()
    exclude_finished_jobs = _Field()

    def __init__(
        self,
        *,
        delay_evaluation: int = 0,
        evaluation_interval: int = 0,
        truncation_percentage: int = 0,
        exclude_finished_jobs: bool | None = None,
    ):
        super().__init__(
            "truncation_selection",
            evaluation_interval,
            delay_evaluation,
            truncation_percentage=truncation_percentage,
            exclude_finished_jobs=exclude_finished_jobs,
        )


__all__ = ["BanditPolicy", "EarlyTerminationPolicy", "MedianStoppingPolicy", "TruncationSelectionPolicy"]
