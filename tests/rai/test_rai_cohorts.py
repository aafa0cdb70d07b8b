"""cohorts: filters applied to a frame, one clear message per bad filter."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backend.runtime.rai import cohorts

FRAME = pd.DataFrame(
    {
        "debt_ratio": [0.1, 0.5, 0.6, np.nan, 0.45],
        "credit_history_years": [1.0, 2.0, 5.0, 1.0, 2.9],
        "region": ["east", "west", "east", None, "north"],
    }
)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([], [1, 1, 1, 1, 1]),
        ([{"column": "debt_ratio", "op": ">", "value": 0.45}], [0, 1, 1, 0, 0]),
        ([{"column": "debt_ratio", "op": ">=", "value": 0.45}], [0, 1, 1, 0, 1]),
        ([{"column": "debt_ratio", "op": "<", "value": 0.5}], [1, 0, 0, 0, 1]),
        ([{"column": "debt_ratio", "op": "<=", "value": 0.5}], [1, 1, 0, 0, 1]),
        ([{"column": "region", "op": "==", "value": "east"}], [1, 0, 1, 0, 0]),
        ([{"column": "region", "op": "!=", "value": "east"}], [0, 1, 0, 1, 1]),
        ([{"column": "region", "op": "in", "value": ["west", "north"]}], [0, 1, 0, 0, 1]),
        ([{"column": "region", "op": "not_in", "value": ["east"]}], [0, 1, 0, 1, 1]),
        ([{"column": "region", "op": "in", "value": [None]}], [0, 0, 0, 1, 0]),
        ([{"column": "credit_history_years", "op": "between", "value": [2, 5]}], [0, 1, 1, 0, 1]),
        (
            [
                {"column": "debt_ratio", "op": ">", "value": 0.45},
                {"column": "credit_history_years", "op": "<", "value": 3},
            ],
            [0, 1, 0, 0, 0],
        ),
    ],
)
def test_mask(filters, expected):
    result = cohorts.mask(FRAME, filters)
    assert result.dtype == bool
    assert result.tolist() == [bool(v) for v in expected]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ("debt_ratio > 1", "filters must be a list"),
        (["x"], "filter #1: must be an object with column, op and value"),
        ([{"column": "debt_ratio", "op": ">"}], "filter #1: missing field value"),
        (
            [{"column": "region", "op": "==", "value": "east"}, {"column": "income", "op": ">", "value": 1}],
            "filter #2: field column: unknown column 'income'; allowed: debt_ratio, credit_history_years, region",
        ),
        (
            [{"column": "region", "op": "like", "value": "e"}],
            "filter #1 (region): field op: unknown op 'like'; allowed: ==, !=",
        ),
        (
            [{"column": "region", "op": "in", "value": "east"}],
            "filter #1 (region in): field value: in needs a non-empty list",
        ),
        ([{"column": "region", "op": "not_in", "value": []}], "not_in needs a non-empty list"),
        (
            [{"column": "debt_ratio", "op": "between", "value": [0.5]}],
            "between needs a [low, high] list, got [0.5]",
        ),
        ([{"column": "debt_ratio", "op": "between", "value": [0.5, 0.1]}], "between needs low <= high"),
        (
            [{"column": "debt_ratio", "op": ">", "value": [1, 2]}],
            "> needs a single value, got [1, 2] (use in for a list)",
        ),
        ([{"column": "debt_ratio", "op": "<", "value": None}], "< needs a value to compare with"),
    ],
)
def test_validation_messages(filters, message):
    with pytest.raises(ValueError) as caught:
        cohorts.validate(filters, FRAME.columns)
    assert message in str(caught.value)


def test_validate_normalizes_lists():
    assert cohorts.validate([{"column": "region", "op": "in", "value": ("east",)}], ["region"]) == [
        {"column": "region", "op": "in", "value": ["east"]}
    ]
    assert cohorts.validate(None, ["region"]) == []


def test_comparing_text_with_a_number_is_a_filter_error():
    with pytest.raises(ValueError, match=r"filter #1 \(region >\): field value: 3 cannot be compared"):
        cohorts.mask(FRAME, [{"column": "region", "op": ">", "value": 3}])


def test_describe():
    assert cohorts.describe([]) == "all rows"
    assert (
        cohorts.describe(
            [
                {"column": "debt_ratio", "op": ">", "value": 0.45},
                {"column": "credit_history_years", "op": "<", "value": 3.0},
            ]
        )
        == "debt_ratio > 0.45 and credit_history_years < 3"
    )
    assert cohorts.describe([{"column": "region", "op": "not_in", "value": ["east", "west"]}]) == (
        "region not in ['east', 'west']"
    )
    assert cohorts.describe([{"column": "age", "op": "between", "value": [25, 45]}]) == "25 <= age <= 45"


def test_a_cohorts_error_tree_splits_on_the_columns_the_jobs_tree_did():
    from backend.runtime.rai import insights

    rng = np.random.default_rng(0)
    rows = pd.DataFrame({"a": rng.random(400), "b": rng.random(400), "y": rng.integers(0, 2, 400)})
    rows["_y_pred"] = rows["y"]
    rows["_error"] = (rows["b"] > 0.5).astype(int)  # only b explains the errors
    found = {
        "target_column": "y",
        "task_type": "classification",
        "features": ["a", "b"],
        "classes": [0, 1],
        "error_analysis": {"settings": {"max_depth": 2, "min_child_samples": 20, "features": ["a"]}},
    }
    tree = insights.error_analysis(insights.from_rows(found, rows))
    assert tree["settings"]["features"] == ["a"]
    assert {f["column"] for n in tree["nodes"] for f in n["filters"]} <= {"a"}
