"""``ml_client.responsible_ai``: Responsible AI insights, mitigations, scorecards and reviews.

The cloud builds RAI dashboards with pipelines of registry components (those run here unchanged through
``ml_client.jobs``); this group is Studio's shorter way to the same insights, the CLI's ``studio rai``.
"""

from __future__ import annotations

from typing import Any

from studio.ml.operations._base import _Operations


class ResponsibleAIOperations(_Operations):
    def create(
        self,
        *,
        model: str,
        test_data: str,
        target_column: str,
        task_type: str,
        train_data: str | None = None,
        sensitive_features: list[str] | None = None,
        categorical_features: list[str] | None = None,
        **settings: Any,
    ):
        """Queue insights for a model version (``name:version``) on a test data asset; returns the record
        (its ``name`` is the job's: ``ml_client.jobs.stream(name)`` follows it)."""
        from backend.services import rai

        request = rai.InsightRequest(
            model=model,
            test_data=test_data,
            train_data=train_data,
            target_column=target_column,
            task_type=task_type,
            sensitive_features=sensitive_features or [],
            categorical_features=categorical_features or [],
            **settings,
        )
        return self._call(rai.create_insights, request=request)

    def get(self, name: str):
        from backend.services import rai

        return self._call(rai.get_insight, name=name)

    def list(self, *, model: str | None = None):
        from backend.services import rai

        return self._call(rai.list_insights, model=model)

    def load(self, name: str) -> dict[str, Any]:
        """The computed insights (``model_overview``, ``fairness``, ``error_analysis``, ...) as a dict."""
        from backend.services import rai

        return self._call(rai.read_insights, name=name)

    def mitigate(self, **request: Any):
        from backend.services import rai_review

        return self._call(rai_review.create_mitigation, request=rai_review.MitigationRequest(**request))

    def register_mitigated(self, name: str, *, candidate: int, model_name: str | None = None):
        from backend.services import rai_review

        return self._call(
            rai_review.register_mitigated, name=name, candidate=candidate, model_name=model_name
        )

    def review(self, **review: Any):
        """Record a review: ``model`` (name:version), ``reviewer``, ``decision`` (approved,
        approved_with_conditions, needs_work, rejected), ``notes``, ``insight`` (the insights reviewed)."""
        from backend.services import rai_review

        return self._call(rai_review.add_review, **review)
