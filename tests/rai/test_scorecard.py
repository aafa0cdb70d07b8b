"""The scorecard: thresholds, principles, and a PDF and HTML a person can read (page 1 is rendered)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pypdfium2
import pytest

from backend.runtime.rai.scorecard import check, evaluate, parse_threshold, render

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "rai"
REFERENCE = json.loads((FIXTURE / "reference.json").read_text())
OUTPUT = REPO / "test-output" / "rai"

CONFIG = {
    "Model": {
        "ModelName": "Loan approval <logreg>",
        "ModelType": "Classification",
        "ModelSummary": "Approves loans & flags <risky> ones — synthetic data, no real people.",
    },
    "Metrics": {
        "accuracy_score": {"threshold": ">=0.7"},
        "precision_score": {},
        "error_rate": {"threshold": "< 0.3"},
    },
    "FeatureImportance": {"top_n": 6},
    "DataExplorer": {"features": ["income", "age"]},
    "Fairness": {
        "metric": ["selection_rate", "demographic_parity_difference"],
        "sensitive_features": ["sex", "age_band"],
        "fairness_evaluation_kind": "difference",
        "threshold": "<= 0.1",
    },
    "Cohorts": ["high debt, short history"],
}


def fixture_insights() -> dict:
    """The insights the dashboard computes for the logistic model, rebuilt from reference.json."""
    model = REFERENCE["models"]["logreg"]
    fairness = {}
    for feature, stored in model["fairness"].items():
        frame = stored["metric_frame"]
        fairness[feature] = {
            "by_group": frame["by_group"],
            "difference": frame["difference_between_groups"],
            "ratio": frame["ratio_between_groups"],
            **{k: v for k, v in stored.items() if k.startswith(("demographic_", "equalized_"))},
        }
    importance = {
        f: {"mean": v["importance_mean"], "std": v["importance_std"]}
        for f, v in model["permutation_importance"]["all_features"].items()
    }
    cohort = model["cohort_error"]
    return {
        "title": "Loan approval: Responsible AI scorecard",
        "task_type": "classification",
        "model": {"id": "loan-logreg:1"},
        "target_column": "approved",
        "features": REFERENCE["data"]["features"],
        "sensitive_features": ["sex", "age_band"],
        "rows": 6000,
        "model_overview": {"overall": model["overall"]},
        "fairness": fairness,
        "feature_importance": {"global": {"features": importance}},
        "data_analysis": {"columns": {"income": {"mean": 52000.5, "min": 5000, "max": 259100}}},
        "cohorts": [
            {
                "name": "high debt, short history",
                "filters": REFERENCE["planted"]["c_error_cohort"]["filter"],
                "metrics": {
                    "error_rate": cohort["in_cohort"]["error_rate"],
                    "count": cohort["in_cohort"]["count"],
                },
            }
        ],
        "error_analysis": {"tree": []},
    }


def small_insights() -> dict:
    return {
        "title": "Tiny regression",
        "task_type": "regression",
        "model": {"id": "price:3"},
        "model_overview": {"overall": {"mae": 12.5, "mse": 300.0, "rmse": 17.3, "r2": 0.81}},
        "review": {
            "reviewer": "Ada",
            "date": "2026-01-05",
            "decision": "approved",
            "notes": "fine for pilot",
        },
    }


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        (">=0.7", 0.7445, True),
        ("<=0.1", 0.1641, False),
        ("<= 0.1", 0.1, True),
        (">0.5", 0.5, False),
        ("<2", 1.99, True),
        ("==1", 1.0, True),
        ("= 1", 0.9, False),
        (">= -0.5", -0.4, True),
        (">=1e-3", 0.01, True),
    ],
)
def test_thresholds(text, value, expected):
    assert check(value, text) is expected


def test_bad_thresholds_are_reported_not_raised():
    with pytest.raises(ValueError, match="operator"):
        parse_threshold("about 0.7")
    report = evaluate(
        {"model_overview": {"overall": {"accuracy": 0.8}}},
        {"Metrics": {"accuracy_score": {"threshold": "~0.7"}}},
    )
    assert report["metrics"][0]["passed"] is None and "operator" in report["metrics"][0]["error"]
    assert check(None, ">=0.7") is None and check(0.8, None) is None


def test_fixture_targets_and_principles():
    report = evaluate(fixture_insights(), CONFIG)
    metrics = {t["metric"]: t for t in report["metrics"]}
    assert metrics["accuracy_score"]["value"] == pytest.approx(0.7445)
    assert metrics["accuracy_score"]["passed"] is True
    assert metrics["precision_score"]["threshold"] is None and metrics["precision_score"]["passed"] is None
    assert metrics["error_rate"]["value"] == pytest.approx(0.2555) and metrics["error_rate"]["passed"] is True
    fairness = {(t["sensitive_feature"], t["metric"]): t for t in report["fairness"]}
    dpd = fairness[("sex", "demographic_parity_difference")]
    assert dpd["value"] == pytest.approx(0.1640905056412425) and dpd["passed"] is False
    assert fairness[("sex", "selection_rate")]["value"] == pytest.approx(0.1640905056412425)
    assert fairness[("age_band", "selection_rate")]["passed"] is False
    assert report["summary"] == {"targets": 6, "passed": 2, "failed": 4, "not_evaluated": 0}
    principles = {p["principle"]: p for p in report["principles"]}
    assert list(principles) == [
        "Fairness",
        "Reliability & safety",
        "Privacy & security",
        "Inclusiveness",
        "Transparency",
        "Accountability",
    ]
    assert principles["Fairness"]["status"] == "not met"
    assert principles["Reliability & safety"]["status"] == "met"
    assert principles["Inclusiveness"]["status"] == "needs review"
    assert any("nonbinary" in line for line in principles["Inclusiveness"]["evidence"])
    assert principles["Transparency"]["status"] == "met"
    assert principles["Privacy & security"]["status"] == "needs review"
    assert principles["Accountability"]["evidence"] == ["no review recorded"]
    top = [f["feature"] for f in report["feature_importance"]["features"]]
    assert top[:5] == [t["feature"] for t in REFERENCE["models"]["logreg"]["permutation_importance"]["top5"]]
    assert len(top) == 6
    assert json.loads(json.dumps(report)) == report


def test_regression_metrics_and_review_record():
    config = {
        "Model": {"ModelName": "Price", "ModelType": "Regression"},
        "Metrics": {"mean_absolute_error": {"threshold": "<=20"}, "r2_score": {"threshold": ">0.9"}},
    }
    report = evaluate(small_insights(), config)
    assert [(t["metric"], t["value"], t["passed"]) for t in report["metrics"]] == [
        ("mean_absolute_error", 12.5, True),
        ("r2_score", 0.81, False),
    ]
    principles = {p["principle"]: p for p in report["principles"]}
    assert principles["Accountability"]["status"] == "reviewed"
    assert "Ada" in principles["Accountability"]["evidence"][0]
    assert principles["Fairness"]["status"] == "not assessed"


def page_one(pdf_path: Path, png_path: Path) -> np.ndarray:
    document = pypdfium2.PdfDocument(str(pdf_path))
    try:
        image = document[0].render(scale=1.5).to_pil()
    finally:
        document.close()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    image.save(png_path)
    return np.asarray(image.convert("L"))


@pytest.mark.parametrize("name", ["fixture", "small"])
def test_render_writes_a_readable_pdf_and_a_self_contained_html(name, tmp_path):
    insights, config = (fixture_insights(), CONFIG) if name == "fixture" else (small_insights(), {})
    paths = render(insights, config, tmp_path / name)
    pdf = Path(paths["pdf"])
    assert pdf.name == "scorecard.pdf" and pdf.read_bytes().startswith(b"%PDF")
    pixels = page_one(pdf, OUTPUT / f"scorecard_{name}_page1.png")
    dark = (pixels < 128).mean()
    assert 0.005 < dark < 0.5
    assert pixels.std() > 10
    page = Path(paths["html"]).read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and 'src="http' not in page
    if name == "fixture":
        assert "&lt;risky&gt;" in page and "Loan approval &lt;logreg&gt;" in page
        assert "data:image/png;base64," in page
        assert "0.7445" in page and "0.1641" in page
        assert len(pypdfium2.PdfDocument(str(pdf))) >= 2
    else:
        assert "Tiny regression" in page and "Ada" in page
