"""Responsible AI insights: the computations, shared by the insight jobs and Studio's services.

Jobs import this package as ``rai`` (``backend/runtime`` is on every job interpreter's path); Studio's
services import it as ``backend.runtime.rai`` to recompute views for a cohort from the stored rows
(no user code involved: only stored predictions). So modules here use relative imports only, never
import ``backend`` or ``studio``, and need nothing beyond numpy, pandas, scipy, scikit-learn, fairlearn,
matplotlib and fpdf2 (the curated base environment's packages). Functions take frames and arrays and
return plain JSON-ready dicts (floats, ints, strings, lists; no numpy scalars, no NaN: None instead).

Modules
- ``frames``: read a table (CSV, Parquet, JSON lines, an MLTable folder, a folder of such files) and a
  model (an MLflow model folder, a pickle/joblib file) as a ``Predictor`` (``features``, ``classes``,
  ``predict(df)``, ``predict_proba(df)``); ``jsonable`` for the dict outputs.
- ``cohorts``: filters (``[{"column", "op", "value"}]``, ops ``== != > >= < <= in not_in between``)
  applied to a frame, with one clear message for a bad filter.
- ``metrics``: ``model_overview`` (overall metrics) and ``fairness`` (Fairlearn ``MetricFrame`` by
  group and the disparity metrics) from ``y_true`` / ``y_pred`` / ``proba``.
- ``error_analysis``: the surrogate error tree and the error heat map, from features and per-row errors.
- ``importance``: global permutation importance and local Shapley values (permutation sampling).
- ``data_analysis``: distributions of features, target and predictions.
- ``counterfactuals``, ``causal``, ``mitigation``, ``scorecard``: the other parts.
- ``insights``: runs the parts for a model and data and writes the artifact; ``__main__`` is the job's
  command line (``python -m rai ...``).

The artifact (a folder, the output of an insight job)
- ``rai_insights.json``: ``{"format": 1, "title", "task_type", "model": {"id", "uri"}, "data": {"test",
  "train"}, "target_column", "features", "categorical_features", "sensitive_features", "extra_columns",
  "classes", "positive_label", "rows", "created", "parts": [names computed], "model_overview",
  "fairness", "error_analysis", "feature_importance", "counterfactuals", "causal", "data_analysis"}``
  (each part as its module returns it; a part not computed is absent).
- ``rows.parquet``: the test rows as read (features, target, extra columns) plus ``_y_pred``,
  ``_proba`` (probability of the positive label, binary classification) or ``_proba_<class>``
  (multiclass), and ``_error`` (1/0 misclassified; absolute error for regression). Pages recompute
  cohort views from it.
"""

# The parts of the insights, in the order a job computes them.
PARTS = (
    "model_overview",
    "fairness",
    "error_analysis",
    "feature_importance",
    "counterfactuals",
    "causal",
    "data_analysis",
)
