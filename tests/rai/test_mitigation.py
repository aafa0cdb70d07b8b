"""Fairlearn mitigation on the loan-approval fixture: reference numbers, the trade-off, saved candidates."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from mlflow.models import Model

from backend.runtime.rai.mitigation import SensitiveFeatureModel, mitigate, save_candidate, tradeoff

# Its module-scoped fixtures are made once: every test of the module on one xdist worker.
pytestmark = pytest.mark.xdist_group("test_mitigation")

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "rai"
REFERENCE = json.loads((FIXTURE / "reference.json").read_text())
FEATURES = REFERENCE["data"]["features"]
TARGET = REFERENCE["data"]["target"]


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(FIXTURE / "train.csv"), pd.read_csv(FIXTURE / "test.csv")


@pytest.fixture(scope="module")
def logreg():
    return mlflow.sklearn.load_model(str(FIXTURE / "model_logreg"))


@pytest.fixture(scope="module")
def threshold_candidates(data, logreg):
    train, test = data
    return mitigate(
        logreg,
        train[FEATURES],
        train[TARGET],
        train["sex"],
        test[FEATURES],
        test[TARGET],
        test["sex"],
        method="threshold_optimizer",
        constraint="demographic_parity",
    )


def test_threshold_optimizer_reproduces_the_reference(threshold_candidates, data):
    expected = REFERENCE["models"]["logreg"]["threshold_optimizer"]
    original, mitigated = threshold_candidates[0], threshold_candidates[1]
    assert original.name == "original"
    assert original.accuracy == pytest.approx(expected["before"]["accuracy"], abs=1e-9)
    assert original.disparity == pytest.approx(expected["before"]["demographic_parity_difference"], abs=1e-9)
    assert mitigated.params["tol"] is None
    assert mitigated.accuracy == pytest.approx(expected["after"]["accuracy"], abs=1e-9)
    assert mitigated.disparity == pytest.approx(expected["after"]["demographic_parity_difference"], abs=1e-9)
    assert mitigated.equalized_odds_difference == pytest.approx(
        expected["after"]["equalized_odds_difference"], abs=1e-9
    )
    assert mitigated.n_selected == expected["after"]["n_selected"]
    for group, rate in expected["after"]["selection_rate_by_group"].items():
        assert mitigated.selection_rate_by_group[group] == pytest.approx(rate, abs=1e-9)
    stored = pd.read_csv(FIXTURE / "predictions_test.csv")["logreg_threshold_optimizer_pred"]
    test = data[1]
    again = mitigated.predictor.predict(test[FEATURES], sensitive_features=test["sex"], random_state=13)
    assert np.array_equal(again, stored.to_numpy())


def test_every_candidate_reduces_demographic_parity(threshold_candidates):
    assert len(threshold_candidates) >= 4
    original = threshold_candidates[0].demographic_parity_difference
    for candidate in threshold_candidates[1:]:
        assert candidate.disparity_metric == "demographic_parity_difference"
        assert candidate.demographic_parity_difference <= original


def test_tradeoff_is_json_ready(threshold_candidates):
    chart = tradeoff(threshold_candidates)
    assert json.loads(json.dumps(chart)) == chart
    assert chart["disparity_metric"] == "demographic_parity_difference"
    assert [c["index"] for c in chart["candidates"]] == list(range(len(threshold_candidates)))
    assert "predictor" not in chart["candidates"][0]


def test_exponentiated_gradient_retrains_a_fairer_pipeline(data, logreg):
    train, test = data
    train = train.sample(4000, random_state=0)
    candidates = mitigate(
        logreg,
        train[FEATURES],
        train[TARGET],
        train["sex"],
        test[FEATURES],
        test[TARGET],
        test["sex"],
        method="exponentiated_gradient",
        constraint="demographic_parity",
        eps_values=(0.02,),
    )
    assert [c.name for c in candidates] == ["original", "exponentiated_gradient (eps=0.02)"]
    assert candidates[1].demographic_parity_difference < candidates[0].demographic_parity_difference / 2
    model = SensitiveFeatureModel(candidates[1].predictor, FEATURES, "sex")
    proba = model.predict_proba(test.head(50))
    assert proba.shape == (50, 2)
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_bad_requests_are_refused(data, logreg):
    train, test = data
    args = (logreg, train[FEATURES], train[TARGET], train["sex"], test[FEATURES], test[TARGET], test["sex"])
    with pytest.raises(ValueError, match="error_rate_parity"):
        mitigate(*args, method="threshold_optimizer", constraint="error_rate_parity")
    with pytest.raises(ValueError, match="unknown constraint"):
        mitigate(*args, constraint="parity")


def test_saved_candidate_reloads_and_predicts_the_same(threshold_candidates, data, tmp_path):
    test = data[1]
    candidate = threshold_candidates[1]
    path = save_candidate(
        candidate,
        tmp_path / "model",
        features=FEATURES,
        sensitive_feature="sex",
        input_example=test.head(5),
    )
    assert Model.load(str(path)).signature.inputs.input_names() == [*FEATURES, "sex"]
    loaded = mlflow.sklearn.load_model(str(path))
    frame = test[[*FEATURES, "sex"]]
    expected = candidate.predictor.predict(test[FEATURES], sensitive_features=test["sex"], random_state=13)
    assert np.array_equal(loaded.predict(frame), expected)
    assert loaded.predict_proba(frame.head(10)).shape == (10, 2)
    with pytest.raises(ValueError, match="sensitive column"):
        loaded.predict(test[FEATURES])
