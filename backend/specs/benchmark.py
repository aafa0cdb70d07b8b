"""A model benchmark's YAML (SPEC section 15): which models answer which dataset, judged how.

    name: qa-small
    dataset: azureml:qa-short:1          # JSON lines: question, context?, ground_truth, choices?
    models: [smollm2, gemma]             # connection names (type: tabular: model versions)
    judge: my-judge                      # optional connection
    metrics: [accuracy, f1, coherence, fluency, groundedness, similarity]
    max_items: 20
    temperature: 0
    max_tokens: 64

``type: tabular`` benchmarks registered classifiers or regressors on a test data asset instead:
``models`` are ``azureml:<name>:<version>``, ``target_column`` and ``task`` say what to score, and
``price_per_1k_predictions`` prices them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from backend.specs import SpecModel
from backend.specs.job import AnyCase, Tags

LLM_METRICS = ("accuracy", "f1", "coherence", "fluency", "groundedness", "similarity")
TABULAR_METRICS = ("accuracy", "f1", "roc_auc", "rmse", "mae", "r2")
MAX_ITEMS = 1_000_000  # items a benchmark may score (its dataset is read into memory)


class BenchmarkSpec(SpecModel):
    name: str | None = None
    type: Annotated[Literal["llm", "tabular"], AnyCase] = "llm"
    dataset: str
    models: list[str] = Field(min_length=1)
    judge: str | None = None
    metrics: list[str] | None = None
    max_items: int | None = Field(default=None, ge=1, le=MAX_ITEMS)
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int = Field(default=64, ge=1, le=4096)
    system_prompt: str | None = None
    target_column: str | None = None  # tabular
    task: Literal["classification", "regression"] | None = None  # tabular
    price_per_1k_predictions: dict[str, float] = Field(default_factory=dict)  # tabular: model -> price
    compute: str | None = None
    experiment_name: str | None = None
    description: str = ""
    tags: Tags = Field(default_factory=dict)

    @field_validator("models")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        repeated = sorted({m for m in value if value.count(m) > 1})
        if repeated:
            raise ValueError(f"{repeated[0]!r} is named twice")
        return value

    @model_validator(mode="after")
    def _fits_its_type(self) -> BenchmarkSpec:
        known = LLM_METRICS if self.type == "llm" else TABULAR_METRICS
        unknown = [m for m in self.metrics or [] if m not in known]
        if unknown:
            raise ValueError(
                f"metrics: {unknown[0]!r} is not a {self.type} metric (metrics: {', '.join(known)})"
            )
        if self.type == "tabular":
            if not self.target_column or not self.task:
                raise ValueError(
                    "a tabular benchmark needs target_column and task (classification or regression)"
                )
            if self.judge:
                raise ValueError("judge: a tabular benchmark has no judge")
        return self

    @property
    def chosen_metrics(self) -> list[str]:
        if self.metrics:
            return list(self.metrics)
        if self.type == "llm":
            return list(LLM_METRICS)
        return ["accuracy", "f1", "roc_auc"] if self.task == "classification" else ["rmse", "mae", "r2"]
