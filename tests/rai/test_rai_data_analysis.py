"""data_analysis: cheap, JSON-ready distributions of features, target and predictions."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from backend.runtime.rai import data_analysis


def test_describe_the_fixture(test_frame, features, predictions, reference):
    result = data_analysis.describe(
        test_frame,
        columns=features,
        target="approved",
        y_pred=predictions["logreg_pred"],
        categorical=reference["data"]["categorical_features"],
    )
    json.dumps(result, allow_nan=False)
    assert result["rows"] == 6000
    income = result["columns"]["income"]
    assert income["kind"] == "numeric" and (income["count"], income["missing"]) == (6000, 0)
    assert income["min"] == test_frame["income"].min() and income["max"] == test_frame["income"].max()
    assert income["mean"] == np.float64(test_frame["income"].mean())
    assert income["quantiles"]["0.5"] == test_frame["income"].median()
    assert len(income["histogram"]["edges"]) == 21 and sum(income["histogram"]["counts"]) == 6000
    assert result["columns"]["region"]["counts"] == reference["data"]["test_group_counts"]["region"]
    assert result["target"]["kind"] == "categorical"
    assert result["target"]["counts"] == reference["data"]["label_counts"]["test"]
    assert result["prediction"]["counts"] == {"0": 3489, "1": 2511}


def test_missing_values_regression_target_and_no_predictions():
    frame = pd.DataFrame({"x": [1.0, np.nan, 3.0], "c": ["a", None, "a"], "y": [0.5, 1.5, 2.5]})
    result = data_analysis.describe(frame, columns=["x", "c"], target="y", bins=2)
    assert result["columns"]["x"]["missing"] == 1 and result["columns"]["x"]["count"] == 2
    assert result["columns"]["c"] == {
        "kind": "categorical",
        "count": 2,
        "missing": 1,
        "counts": {"a": 2},
        "other": 0,
    }
    assert result["target"]["kind"] == "numeric"
    assert result["prediction"] is None


def test_describe_100k_rows_is_cheap(test_frame, features):
    big = pd.concat([test_frame] * 17, ignore_index=True)
    data_analysis.describe(big, columns=features, target="approved", y_pred=big["approved"].to_numpy())
