"""``backend/runtime/rai/insights``: every part of a regression analysis runs on a small model and data, and
a classification artifact written and read back keeps the cohort views computable without the model."""

import json

import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from backend.runtime.rai import PARTS, insights


@pytest.fixture(scope="module")
def regression(tmp_path_factory):
    rng = np.random.default_rng(5)
    n = 600
    frame = pd.DataFrame(
        {
            "yoe": rng.integers(0, 30, n),
            "repos": rng.integers(0, 50, n),
            "style": rng.choice(["tabs", "spaces"], n),
            "gender": rng.choice(["a", "b", "c"], n),  # not a model input: kept for grouping
        }
    )
    frame["score"] = (
        2 + 0.2 * frame["yoe"] + 0.05 * frame["repos"] + (frame["style"] == "tabs") + rng.normal(0, 1, n)
    )
    features = ["yoe", "repos", "style"]
    model = Pipeline(
        [
            ("prep", ColumnTransformer([("cat", OneHotEncoder(), ["style"])], remainder="passthrough")),
            ("ridge", Ridge()),
        ]
    ).fit(frame[features], frame["score"])
    folder = tmp_path_factory.mktemp("regression")
    mlflow.sklearn.save_model(
        model,
        folder / "model",
        signature=mlflow.models.infer_signature(frame[features], model.predict(frame[features])),
    )
    frame.to_csv(folder / "test.csv", index=False)
    return folder


def test_every_part_of_a_regression_analysis(regression, tmp_path):
    config = {
        "target_column": "score",
        "task_type": "regression",
        "categorical_features": ["style"],
        "counterfactuals": {"total_CFs": 3, "desired_range": [9, 12]},
        "causal": {"treatment_features": ["yoe"]},
        "feature_importance": {"local_rows": [0]},
    }
    analysis = insights.prepare(config, str(regression / "model"), str(regression / "test.csv"))
    found = insights.compute(analysis)
    assert found["parts"] == list(PARTS)
    assert found["features"] == ["yoe", "repos", "style"] and found["sensitive_features"] == [
        "gender",
        "style",
    ]
    assert found["model_overview"]["overall"]["r2"] > 0.5
    assert found["error_analysis"]["metric"] == "mean_absolute_error"
    effect = found["causal"]["effects"][0]
    assert effect["ci_lower"] < 0.2 < effect["ci_upper"]  # the planted effect of yoe
    for row in found["counterfactuals"]["rows"]:
        assert all(9 <= cf["prediction"] <= 12 for cf in row["counterfactuals"])
    out = insights.write(found, analysis.rows, tmp_path / "artifact")
    stored = json.loads((out / "rai_insights.json").read_text())
    rows = pd.read_parquet(out / "rows.parquet")
    again = insights.from_rows(stored, rows[rows["style"] == "tabs"])
    assert insights.COMPUTE["fairness"](again)["gender"]["by_group"]["a"]["count"] > 0
