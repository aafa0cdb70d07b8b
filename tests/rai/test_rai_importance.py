"""importance: permutation importance reproduces reference.json; Shapley values add up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backend.runtime.rai import frames, importance


def test_permutation_importance_matches_reference(models, test_frame, features, reference):
    expected = reference["models"]["logreg"]["permutation_importance"]
    result = importance.permutation(
        models["logreg"], test_frame[features], test_frame["approved"], task="classification"
    )
    assert (result["scoring"], result["n_repeats"], result["random_state"]) == ("accuracy", 5, 11)
    assert set(result["features"]) == set(features)
    for column, values in expected["all_features"].items():
        assert result["features"][column]["mean"] == pytest.approx(values["importance_mean"], abs=1e-9)
        assert result["features"][column]["std"] == pytest.approx(values["importance_std"], abs=1e-9)
        assert result["features"][column]["repeats"] == pytest.approx(
            expected["raw_importances"][column], abs=1e-9
        )
    assert result["ranking"][:5] == [row["feature"] for row in expected["top5"]]


def test_permutation_without_a_sklearn_estimator_wraps_predict(models, test_frame, features, reference):
    """A model that only predicts (a pyfunc, say) is scored through predict: same numbers."""
    logreg = models["logreg"]
    predict_only = frames.Predictor(logreg.model, features=features, method="test")
    assert predict_only.estimator is None
    result = importance.permutation(
        predict_only, test_frame, test_frame["approved"], task="classification", n_repeats=2
    )
    assert set(result["features"]) == set(features)  # only the model's columns are permuted
    expected = reference["models"]["logreg"]["permutation_importance"]["raw_importances"]["income"][:2]
    assert result["features"]["income"]["repeats"] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("name", ["logreg", "gbm"])
def test_local_shapley_values_add_up_and_are_quick(name, models, test_frame, predictions):
    predictor = models[name]
    result = importance.local(predictor, test_frame, [0, 1, 2, 3, 4], task="classification")
    assert result["method"].startswith("Shapley values by permutation sampling (Strumbelj & Kononenko 2014)")
    assert result["output"] == "predicted probability of class 1"
    assert [row["index"] for row in result["rows"]] == [0, 1, 2, 3, 4]
    for row in result["rows"]:
        assert row["prediction"] == pytest.approx(predictions[f"{name}_proba"][row["index"]], abs=1e-9)
        assert set(row["contributions"]) == set(predictor.features)
        assert row["base_value"] + sum(row["contributions"].values()) == pytest.approx(
            row["prediction"], abs=1e-6
        )
    # Row 0 (income 22400, the lowest incomes approve least): income pulls its probability down most.
    first = result["rows"][0]["contributions"]
    assert min(first, key=first.get) == "income"


def test_local_matches_exact_shapley_values_for_an_additive_model():
    """For f(x) = sum of per-feature terms, the Shapley value of a feature is its term minus its mean."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=50), "b": rng.normal(size=50), "c": rng.normal(size=50)})

    class Additive:
        def predict(self, df):
            return 2 * df["a"].to_numpy() - df["b"].to_numpy() ** 2 + 0.5 * df["c"].to_numpy()

    predictor = frames.Predictor(Additive(), features=["a", "b", "c"], method="test")
    row = importance.local(predictor, frame, [7], task="regression", n_permutations=100)["rows"][0]
    x = frame.iloc[7]
    assert row["contributions"]["a"] == pytest.approx(2 * (x["a"] - frame["a"].mean()), abs=1e-9)
    assert row["contributions"]["b"] == pytest.approx(-(x["b"] ** 2 - (frame["b"] ** 2).mean()), abs=1e-9)
    assert row["prediction"] == pytest.approx(Additive().predict(frame.iloc[[7]])[0])


def test_local_target_class_must_be_known(models, test_frame):
    with pytest.raises(ValueError, match="target_class 'yes' is not one of"):
        importance.local(models["logreg"], test_frame, [0], task="classification", target_class="yes")
    result = importance.local(
        models["logreg"], test_frame, [0], task="classification", target_class=0, n_permutations=20
    )
    row = result["rows"][0]
    assert result["output"] == "predicted probability of class 0"
    assert row["prediction"] == pytest.approx(models["logreg"].predict_proba(test_frame.iloc[[0]])[0, 0])
