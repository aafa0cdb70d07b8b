"""error_analysis: the surrogate error tree and the heat map find the planted error hot spots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backend.runtime.rai import cohorts, error_analysis

# Its module-scoped fixtures are made once: every test of the module on one xdist worker.
pytestmark = pytest.mark.xdist_group("test_rai_error_analysis")

MODELS = ("logreg", "gbm")


@pytest.fixture(scope="module")
def errors(test_frame, predictions) -> dict[str, np.ndarray]:
    """Per-row misclassification (1/0) from the stored predictions of each model."""
    return {m: (predictions[f"{m}_pred"] != test_frame["approved"]).to_numpy(dtype=int) for m in MODELS}


def test_tree_nodes_are_cohorts(test_frame, features, errors):
    tree = error_analysis.error_tree(test_frame[features], errors["logreg"])
    nodes = tree["nodes"]
    assert tree["metric"] == "error_rate"
    assert tree["settings"]["categorical"] == ["education", "employment_type", "region"]
    root = nodes[0]
    assert (root["id"], root["parent"], root["depth"], root["filters"], root["size"]) == (
        0,
        None,
        0,
        [],
        6000,
    )
    assert root["errors"] == int(errors["logreg"].sum())
    assert root["share_of_errors"] == pytest.approx(1.0)
    by_id = {n["id"]: n for n in nodes}
    for node in nodes[1:]:
        # Each node's filters select exactly its rows, in the cohorts format.
        inside = cohorts.mask(test_frame, node["filters"])
        assert inside.sum() == node["size"]
        assert errors["logreg"][inside].sum() == node["errors"]
        assert node["error_rate"] == pytest.approx(node["errors"] / node["size"])
        assert node["depth"] == by_id[node["parent"]]["depth"] + 1 <= 3
        assert node["condition"]
    leaves = [n for n in nodes if n["leaf"]]
    assert sum(n["size"] for n in leaves) == 6000


@pytest.mark.parametrize("model", MODELS)
def test_tree_finds_the_noisy_region(model, test_frame, features, errors, reference):
    noisy = reference["planted"]["b_noisy_region"]["region"]
    nodes = error_analysis.error_tree(test_frame[features], errors[model])["nodes"]
    worst = max((n for n in nodes if n["depth"] == 1), key=lambda n: n["error_rate"])
    assert worst["filters"] == [{"column": "region", "op": "in", "value": [noisy]}]
    assert worst["condition"] == f"region in ['{noisy}']"
    assert worst["error_rate"] >= nodes[0]["error_rate"] + 0.1


@pytest.mark.parametrize("model", MODELS)
def test_tree_finds_the_planted_error_cohort(model, test_frame, errors, reference):
    planted = reference["planted"]["c_error_cohort"]["filter"]
    columns = {f["column"] for f in planted}
    tree = error_analysis.error_tree(test_frame, errors[model], filter_features=sorted(columns))
    overall = tree["nodes"][0]["error_rate"]
    hot = [
        n
        for n in tree["nodes"]
        if n["depth"] <= 3 and {f["column"] for f in n["filters"]} == columns and n["error_rate"] >= 0.4
    ]
    assert hot, "no node on debt_ratio and credit_history_years with an error rate >= 0.4"
    best = max(hot, key=lambda n: n["error_rate"])
    assert best["error_rate"] > overall + 0.15
    # Its cohort lies in the planted corner: high debt ratio, short credit history.
    limits = {(f["column"], f["op"]): f["value"] for f in best["filters"]}
    assert limits[("debt_ratio", ">")] >= 0.45
    assert limits[("credit_history_years", "<=")] <= 3.0


def test_threshold_is_rounded_in_the_condition_only(test_frame, errors):
    nodes = error_analysis.error_tree(test_frame[["debt_ratio"]], errors["logreg"], max_depth=1)["nodes"]
    value = nodes[1]["filters"][0]["value"]
    assert nodes[1]["condition"] == f"debt_ratio <= {float(f'{value:.4g}')}"
    assert value != float(f"{value:.4g}")


def test_regression_errors_and_missing_categories():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.uniform(0, 1, 400), "c": rng.choice(["a", "b", None], 400)})
    errors = np.where(frame["c"].isna(), 5.0, 0.5) + rng.uniform(0, 0.1, 400)
    tree = error_analysis.error_tree(frame, errors, max_depth=1, min_child_samples=5)
    assert tree["metric"] == "mean_absolute_error"
    worse = max(tree["nodes"][1:], key=lambda n: n["error_rate"])
    assert worse["filters"] == [{"column": "c", "op": "in", "value": [None]}]
    assert cohorts.mask(frame, worse["filters"]).sum() == worse["size"]
    assert isinstance(worse["errors"], float)


def test_tree_on_100k_rows_is_fast(test_frame, features, errors):
    big = pd.concat([test_frame[features]] * 17, ignore_index=True)
    error_analysis.error_tree(big, np.tile(errors["gbm"], 17), max_depth=4)


@pytest.mark.parametrize("model", MODELS)
def test_heatmap_hot_cell_is_the_planted_corner(model, test_frame, errors):
    """Deciles: the planted cohort (3% of rows) needs cells small enough not to drown in."""
    heat = error_analysis.error_heatmap(
        test_frame, errors[model], ["debt_ratio", "credit_history_years"], bins=10
    )
    rates = np.array(heat["error_rate"], dtype=float)
    assert rates.shape == (len(heat["y"]), len(heat["x"])) == (10, 10)
    row, col = np.unravel_index(np.nanargmax(rates), rates.shape)
    assert row == 0, heat["y"][row]  # the shortest credit histories
    low_edge = float(heat["x"][col].strip("[(").split(",")[0])
    assert low_edge >= 0.4, heat["x"][col]  # high debt ratios
    assert np.sum(heat["count"]) == 6000
    assert np.sum(heat["errors"]) == errors[model].sum()


def test_heatmap_one_column_and_categories(test_frame, errors):
    heat = error_analysis.error_heatmap(test_frame, errors["logreg"], ["region"])
    assert heat["y"] is None
    assert heat["x"] == ["central", "east", "north", "south", "west"]
    assert len(heat["count"]) == 1
    assert heat["count"][0] == [1054, 1060, 1320, 1313, 1253]
    assert max(heat["error_rate"][0]) == heat["error_rate"][0][1]


def test_heatmap_missing_values_and_empty_cells():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, np.nan], "c": ["a", "a", "b", "b", "b"]})
    heat = error_analysis.error_heatmap(frame, [1, 0, 0, 1, 1], ["x", "c"], bins=2)
    assert heat["x"] == ["[1, 2.5]", "(2.5, 4]", "(missing)"]
    assert heat["count"] == [[2, 0, 0], [0, 2, 1]]
    assert heat["error_rate"][0][1] is None
    with pytest.raises(ValueError, match="one or two columns"):
        error_analysis.error_heatmap(frame, [0] * 5, ["x", "c", "x"])
