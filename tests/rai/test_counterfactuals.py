"""Counterfactuals: every answer really reaches the goal and changes only what it may, within bounds."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from backend.runtime.rai.counterfactuals import counterfactuals

# Its module-scoped fixtures are made once: every test of the module on one xdist worker.
pytestmark = pytest.mark.xdist_group("test_counterfactuals")

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "rai"
REFERENCE = json.loads((FIXTURE / "reference.json").read_text())
FEATURES = REFERENCE["data"]["features"]
CATEGORICAL = REFERENCE["data"]["categorical_features"]


@pytest.fixture(scope="module")
def X():
    return pd.read_csv(FIXTURE / "test.csv")[FEATURES]


@pytest.fixture(scope="module", params=["model_logreg", "model_gbm"])
def model(request):
    return mlflow.sklearn.load_model(str(FIXTURE / request.param))


@pytest.fixture(scope="module")
def rejected(X, model):
    return [int(i) for i in np.flatnonzero(model.predict(X) == 0)[:5]]


def check(result, model, X, *, allowed, permitted=None, goal=None):
    """Re-predict every counterfactual and compare it with its original row, column by column."""
    permitted = permitted or {}
    for row in result["rows"]:
        original = X.iloc[row["index"]]
        distances = [cf["distance"] for cf in row["counterfactuals"]]
        assert distances == sorted(distances)
        frame = pd.DataFrame([cf["values"] for cf in row["counterfactuals"]], columns=X.columns).astype(
            X.dtypes
        )
        predictions = model.predict(frame) if len(frame) else []
        for cf, prediction in zip(row["counterfactuals"], predictions, strict=True):
            assert cf["prediction"] == prediction
            assert goal(prediction, row)
            changed = [c for c in X.columns if cf["values"][c] != original[c]]
            assert changed == cf["changed"] and changed
            assert set(changed) <= set(allowed)
            for column in changed:
                bounds = permitted.get(column)
                if bounds is None:
                    continue
                if column in CATEGORICAL:
                    assert cf["values"][column] in bounds
                else:
                    assert bounds[0] <= cf["values"][column] <= bounds[1]


def test_rejected_applicants_get_counterfactuals(X, model, rejected):
    result = counterfactuals(model, X, rejected, task="classification", total_CFs=10, categorical=CATEGORICAL)
    assert json.loads(json.dumps(result)) == result
    assert result["desired_class"] == "opposite"
    assert [row["index"] for row in result["rows"]] == rejected
    assert all(row["prediction"] == 0 and row["desired"] == 1 for row in result["rows"])
    assert all(1 <= len(row["counterfactuals"]) <= 10 for row in result["rows"])
    check(result, model, X, allowed=FEATURES, goal=lambda p, row: p == 1)


def test_only_allowed_features_change_within_the_permitted_range(X, model, rejected):
    allowed = ["income", "debt_ratio", "loan_amount", "education"]
    permitted = {
        "income": [5000, 80000],
        "loan_amount": [1000, 30000],
        "education": ["bachelor", "postgraduate"],
    }
    result = counterfactuals(
        model,
        X,
        rejected,
        task="classification",
        total_CFs=5,
        desired_class=1,
        features_to_vary=allowed,
        permitted_range=permitted,
    )
    assert result["features_to_vary"] == allowed
    assert any(row["counterfactuals"] for row in result["rows"])
    check(result, model, X, allowed=allowed, permitted=permitted, goal=lambda p, row: p == 1)


def test_same_inputs_same_answers(X, model, rejected):
    first = counterfactuals(model, X, rejected[:2], task="classification", random_state=3)
    again = counterfactuals(model, X, rejected[:2], task="classification", random_state=3)
    assert first == again


def test_regression_moves_the_prediction_into_the_range():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"a": rng.normal(size=300), "b": rng.integers(0, 10, size=300), "c": rng.normal(size=300)}
    )
    y = 3 * frame["a"] + frame["b"] - 0.5 * frame["c"]
    model = LinearRegression().fit(frame, y)
    result = counterfactuals(model, frame, [0, 1, 2], task="regression", desired_range=[8.0, 12.0])
    assert result["desired_range"] == [8.0, 12.0]
    assert all(row["counterfactuals"] for row in result["rows"])
    check(result, model, frame, allowed=["a", "b", "c"], goal=lambda p, row: 8.0 <= p <= 12.0)
    assert all(isinstance(cf["values"]["b"], int) for row in result["rows"] for cf in row["counterfactuals"])
    only_a = counterfactuals(
        model, frame, [0], task="regression", desired_range=[8.0, 12.0], features_to_vary="a"
    )
    assert only_a["features_to_vary"] == ["a"]
    check(only_a, model, frame, allowed=["a"], goal=lambda p, row: 8.0 <= p <= 12.0)


def test_multiclass_needs_a_named_class():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    labels = np.where(frame["a"] > 0.5, "high", np.where(frame["a"] < -0.5, "low", "mid"))
    model = LogisticRegression().fit(frame, labels)
    with pytest.raises(ValueError, match="binary"):
        counterfactuals(model, frame, [0], task="classification")
    row = int(np.flatnonzero(model.predict(frame) == "low")[0])
    result = counterfactuals(model, frame, [row], task="classification", desired_class="high", total_CFs=3)
    check(result, model, frame, allowed=["a", "b"], goal=lambda p, row: p == "high")
    assert result["rows"][0]["counterfactuals"]
