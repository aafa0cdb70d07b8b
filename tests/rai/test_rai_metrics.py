"""metrics: every reference.json number for both saved models, from their own predictions."""

from __future__ import annotations

import numpy as np
import pytest

from backend.runtime.rai import cohorts, metrics

# Its module-scoped fixtures are made once: every test of the module on one xdist worker.
pytestmark = pytest.mark.xdist_group("test_rai_metrics")

MODELS = ("logreg", "gbm")
SENSITIVE = ("sex", "age_band")
TOL = 1e-6


@pytest.fixture(scope="module")
def predicted(models, test_frame) -> dict:
    """Each model's labels and positive-class probabilities on test.csv (computed once)."""
    return {name: (m.predict(test_frame), m.predict_proba(test_frame)) for name, m in models.items()}


@pytest.mark.parametrize("name", MODELS)
def test_overall_matches_reference(name, predicted, test_frame, reference):
    y_pred, proba = predicted[name]
    overview = metrics.model_overview(test_frame["approved"], y_pred, proba, task="classification")
    expected = reference["models"][name]["overall"]
    assert overview["count"] == expected["n"]
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc", "error_rate", "selection_rate"):
        assert overview[key] == pytest.approx(expected[key], abs=TOL), key
    matrix = overview["confusion_matrix"]
    assert {k: matrix[k] for k in ("tn", "fp", "fn", "tp")} == expected["confusion_matrix"]
    assert matrix["labels"] == [0, 1]
    assert matrix["matrix"] == [[matrix["tn"], matrix["fp"]], [matrix["fn"], matrix["tp"]]]
    # A 1-D positive-class probability gives the same AUC as the n x 2 matrix.
    one_d = metrics.model_overview(test_frame["approved"], y_pred, proba[:, 1], task="classification")
    assert one_d["roc_auc"] == overview["roc_auc"]


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("sf", SENSITIVE)
def test_fairness_matches_reference(name, sf, predicted, test_frame, reference):
    result = metrics.fairness(
        test_frame["approved"], predicted[name][0], test_frame[sf], task="classification"
    )
    expected = reference["models"][name]["fairness"][sf]
    frame = expected["metric_frame"]
    assert result["feature"] == sf
    assert result["metrics"] == [
        "accuracy",
        "selection_rate",
        "false_positive_rate",
        "false_negative_rate",
        "count",
    ]
    _close(result["overall"], frame["overall"])
    assert set(result["by_group"]) == set(frame["by_group"])
    for group, values in frame["by_group"].items():
        _close(result["by_group"][group], values)
        assert result["by_group"][group]["count"] == values["count"]
    for ours, theirs in (
        ("group_min", "group_min"),
        ("group_max", "group_max"),
        ("difference", "difference_between_groups"),
        ("ratio", "ratio_between_groups"),
    ):
        _close(result[ours], frame[theirs])
    for key in metrics.DISPARITIES:
        assert result[key] == pytest.approx(expected[key], abs=TOL), key
    assert result["confusion_by_group"] == expected["confusion_by_group"]


def _close(ours: dict, theirs: dict) -> None:
    assert set(ours) == set(theirs)
    for key, value in theirs.items():
        assert ours[key] == pytest.approx(value, abs=TOL), key


@pytest.mark.parametrize("name", MODELS)
def test_error_rates_by_region_and_in_the_planted_cohort(name, predicted, test_frame, reference):
    y_pred = predicted[name][0]
    expected = reference["models"][name]
    for region, values in expected["error_rate_by_region"].items():
        _assert_error(
            cohorts.mask(test_frame, [{"column": "region", "op": "==", "value": region}]),
            y_pred,
            test_frame,
            values,
        )
    inside = cohorts.mask(test_frame, reference["planted"]["c_error_cohort"]["filter"])
    _assert_error(inside, y_pred, test_frame, expected["cohort_error"]["in_cohort"])
    _assert_error(~inside, y_pred, test_frame, expected["cohort_error"]["outside_cohort"])


def _assert_error(rows: np.ndarray, y_pred, test_frame, expected: dict) -> None:
    overview = metrics.model_overview(test_frame["approved"][rows], y_pred[rows], task="classification")
    assert overview["count"] == expected["count"]
    assert overview["confusion_matrix"]["fp"] + overview["confusion_matrix"]["fn"] == expected["errors"]
    assert overview["error_rate"] == pytest.approx(expected["error_rate"], abs=TOL)


def test_string_labels_and_a_chosen_positive_label():
    y_true = np.array(["no", "yes", "yes", "no", "yes"])
    y_pred = np.array(["no", "yes", "no", "yes", "yes"])
    overview = metrics.model_overview(y_true, y_pred, task="classification", positive_label="no")
    assert overview["positive_label"] == "no"
    assert overview["confusion_matrix"]["labels"] == ["yes", "no"]
    assert overview["selection_rate"] == pytest.approx(0.4)
    assert overview["roc_auc"] is None
    fair = metrics.fairness(y_true, y_pred, ["a", "a", "b", "b", "b"], task="classification")
    assert fair["by_group"]["a"]["selection_rate"] == pytest.approx(0.5)  # "yes" is the default positive
    assert fair["feature"] is None


def test_multiclass_uses_macro_averages():
    y_true = [0, 1, 2, 2, 1, 0]
    y_pred = [0, 2, 2, 2, 1, 1]
    overview = metrics.model_overview(y_true, y_pred, task="classification")
    assert overview["accuracy"] == pytest.approx(4 / 6)
    assert overview["recall"] == pytest.approx((0.5 + 0.5 + 1) / 3)
    assert overview["roc_auc"] is None and overview["selection_rate"] is None
    assert overview["confusion_matrix"]["matrix"] == [[1, 1, 0], [0, 1, 1], [0, 0, 2]]
    fair = metrics.fairness(y_true, y_pred, [1, 1, 1, 2, 2, 2], task="classification")
    assert fair["metrics"] == ["accuracy", "count"]
    assert set(fair["by_group"]) == {"1", "2"}
    assert fair["demographic_parity_difference"] is None and fair["confusion_by_group"] is None


def test_regression_overview_and_fairness_with_a_tiny_group():
    y_true = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    y_pred = np.array([1.5, 2.0, 2.0, 5.0, 9.0])
    overview = metrics.model_overview(y_true, y_pred, task="regression")
    assert overview["mae"] == pytest.approx(3.5 / 5)
    assert overview["rmse"] == pytest.approx(np.sqrt(overview["mse"]))
    assert overview["mean_target"] == pytest.approx(4.0)
    fair = metrics.fairness(y_true, y_pred, ["a", "a", "a", "a", "b"], task="regression")
    assert fair["metrics"] == ["mae", "rmse", "r2", "mean_prediction", "count"]
    assert fair["by_group"]["b"]["r2"] is None  # one row: R² undefined, reported as None
    assert fair["by_group"]["b"]["mean_prediction"] == pytest.approx(9.0)
    assert fair["equalized_odds_difference"] is None


def test_unknown_task_is_refused():
    with pytest.raises(ValueError, match="task must be"):
        metrics.model_overview([1], [1], task="ranking")
