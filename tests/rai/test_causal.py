"""Double machine learning: known effects on synthetic data, and the debt ratio's effect on approvals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backend.runtime.rai.causal import causal_effects

# Its module-scoped fixtures are made once: every test of the module on one xdist worker.
pytestmark = pytest.mark.xdist_group("test_causal")

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "rai"
REFERENCE = json.loads((FIXTURE / "reference.json").read_text())
FEATURES = REFERENCE["data"]["features"]
TARGET = REFERENCE["data"]["target"]


@pytest.fixture(scope="module")
def confounded():
    """y = 2 t + 3 w + noise, and t itself grows with w: a naive slope of y on t is about 3.5."""
    rng = np.random.default_rng(42)
    n = 3000
    w = rng.normal(size=n)
    region = rng.choice(["north", "south", "east"], size=n, p=[0.5, 0.3, 0.2])
    t = w + rng.normal(size=n)
    y = 2 * t + 3 * w + np.where(region == "east", 1.5, 0.0) + rng.normal(size=n)
    return pd.DataFrame({"t": t, "w": w, "region": region, "y": y})


@pytest.fixture(scope="module")
def loans():
    return pd.read_csv(FIXTURE / "test.csv")[[*FEATURES, TARGET]]


def effect(result, feature, level=None):
    return next(e for e in result["effects"] if e["feature"] == feature and e["level"] == level)


def test_known_effect_is_recovered_and_the_naive_slope_is_biased(confounded):
    naive = np.polyfit(confounded["t"], confounded["y"], 1)[0]
    assert naive > 3.0
    result = causal_effects(confounded, target="y", treatment_features=["t"], task="regression")
    estimate = effect(result, "t")
    assert estimate["ci_lower"] <= 2.0 <= estimate["ci_upper"]
    assert estimate["ci_upper"] < naive
    assert estimate["unit"] == "per +1 of t"
    assert estimate["p_value"] < 1e-6
    assert result["nuisance_model"] == "linear"
    assert json.loads(json.dumps(result)) == result


def test_categorical_treatment_gets_one_effect_per_level_against_the_most_frequent(confounded):
    result = causal_effects(
        confounded, target="y", treatment_features=["region"], task="regression", alpha=0.01
    )
    assert [(e["level"], e["unit"]) for e in result["effects"]] == [
        ("east", "east vs north"),
        ("south", "south vs north"),
    ]
    east, south = effect(result, "region", "east"), effect(result, "region", "south")
    assert east["ci_lower"] <= 1.5 <= east["ci_upper"]
    assert south["ci_lower"] <= 0.0 <= south["ci_upper"]
    assert result["alpha"] == 0.01


def test_heterogeneity_by_category_and_by_quantile_bins(confounded):
    result = causal_effects(
        confounded,
        target="y",
        treatment_features=["t"],
        heterogeneity_features=["region", "w"],
        task="regression",
    )
    by = {h["by"]: h for h in result["heterogeneity"]}
    assert [g["group"] for g in by["region"]["groups"]] == ["east", "north", "south"]
    assert sum(g["count"] for g in by["region"]["groups"]) == len(confounded)
    assert len(by["w"]["groups"]) == 4
    for group in by["region"]["groups"] + by["w"]["groups"]:
        assert group["ci_lower"] <= 2.0 <= group["ci_upper"] or abs(group["point"] - 2.0) < 0.3


def test_automl_nuisance_is_accepted_in_any_case(confounded):
    small = confounded.head(600)
    result = causal_effects(
        small, target="y", treatment_features=["t"], task="regression", nuisance_model="AutoML"
    )
    assert result["nuisance_model"] == "automl"
    assert result["nuisance_models_chosen"]["t"]["outcome"] in {
        "ridge",
        "hist_gradient_boosting",
        "random_forest",
    }
    assert effect(result, "t")["ci_lower"] <= 2.0 <= effect(result, "t")["ci_upper"]
    with pytest.raises(ValueError, match="nuisance_model"):
        causal_effects(
            small, target="y", treatment_features=["t"], task="regression", nuisance_model="forest"
        )


def test_debt_ratio_lowers_approval_on_the_fixture(loans):
    result = causal_effects(
        loans,
        target=TARGET,
        treatment_features=["debt_ratio", "employment_type"],
        heterogeneity_features=["region"],
        categorical=REFERENCE["data"]["categorical_features"],
        task="classification",
    )
    debt = effect(result, "debt_ratio")
    assert debt["point"] < 0 and debt["ci_upper"] < 0
    assert {e["level"] for e in result["effects"] if e["feature"] == "employment_type"} == {
        "contract",
        "part_time",
        "self_employed",
    }
    assert json.loads(json.dumps(result)) == result
