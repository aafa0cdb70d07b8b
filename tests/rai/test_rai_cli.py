"""``studio rai create`` and ``studio rai show`` on the loan fixture reproduce its reference numbers.

The insight job runs for real: the agent, the sandbox, the curated environment, the MLflow registry."""

import json

import pytest

from studio.cli import main
from tests.rai.rai_setup import REFERENCE, register_fixture

pytestmark = pytest.mark.usefixtures("agent")
EXACT = 1e-6


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _create(capsys, refs, *extra: str) -> dict:
    code, out, err = run(
        capsys,
        "rai", "create", "--model", refs["model"], "--data", refs["test"], "--train-data", refs["train"],
        "--target", "approved", "--task", "classification",
        "--categorical", "employment_type,region,education", "--sensitive", "sex,age_band",
        "--treatment", "debt_ratio", "--stream", *extra,
    )  # fmt: skip
    assert code == 0, out[-3000:] + err[-2000:]
    assert "[rai 1/" in out  # progress lines in the job's log
    code, out, err = run(capsys, "rai", "list", "--output", "json")
    assert code == 0, err
    return json.loads(out)[0]


def test_insights_reproduce_the_fixtures_reference_numbers(capsys):
    refs = register_fixture("logreg")
    listed = _create(capsys, refs)
    assert listed["model"] == refs["model"] and listed["data"] == refs["test"] and listed["created"]
    code, out, err = run(capsys, "rai", "show", "--name", listed["name"], "--output", "json")
    assert code == 0, err
    shown = json.loads(out)
    expected = REFERENCE["models"]["logreg"]

    overall = shown["model_overview"]["overall"]
    for metric in ("accuracy", "precision", "recall", "f1", "roc_auc", "error_rate", "selection_rate"):
        assert overall[metric] == pytest.approx(expected["overall"][metric], abs=EXACT), metric
    for sf in ("sex", "age_band"):
        got, ref = shown["fairness"][sf], expected["fairness"][sf]
        for metric in (
            "demographic_parity_difference",
            "demographic_parity_ratio",
            "equalized_odds_difference",
            "equalized_odds_ratio",
        ):
            assert got[metric] == pytest.approx(ref[metric], abs=EXACT), (sf, metric)
        for group, values in ref["metric_frame"]["by_group"].items():
            for metric, value in values.items():
                assert got["by_group"][group][metric] == pytest.approx(value, abs=EXACT), (sf, group, metric)

    # The error tree: the noisy region is the first split; the importance ranking matches the reference.
    nodes = shown["error_analysis"]["nodes"]
    first = [n for n in nodes if n["depth"] == 1]
    east = next(n for n in first if "east" in json.dumps(n["filters"]))
    assert east["error_rate"] > max(n["error_rate"] for n in first if n is not east)
    # Error rates by region (per cohort of a categorical feature), exact.
    by_region = shown["model_overview"]["by_feature"]["region"]
    for region, ref in expected["error_rate_by_region"].items():
        assert by_region[region]["count"] == ref["count"]
        assert by_region[region]["error_rate"] == pytest.approx(ref["error_rate"], abs=EXACT), region
    # Permutation importance: the job runs the versions Studio runs, so the reference's call reproduces.
    importances = shown["feature_importance"]["global"]["features"]
    for feature, ref in expected["permutation_importance"]["all_features"].items():
        assert importances[feature]["mean"] == pytest.approx(ref["importance_mean"], abs=1e-6), feature
        assert importances[feature]["std"] == pytest.approx(ref["importance_std"], abs=1e-6), feature
    top5 = [f["feature"] for f in expected["permutation_importance"]["top5"]]
    assert shown["feature_importance"]["global"]["ranking"][:5] == top5
    assert shown["counterfactuals"]["rows"] and shown["causal"]["effects"]
    effect = shown["causal"]["effects"][0]
    assert effect["feature"] == "debt_ratio" and effect["ci_upper"] < 0
    assert set(shown["data_analysis"]["columns"]) >= {"income", "sex"}


def test_a_bad_request_is_one_line_and_creates_nothing(capsys):
    refs = register_fixture("logreg")
    capsys.readouterr()  # MLflow's own log lines while registering
    code, _, err = run(
        capsys, "rai", "create", "--model", refs["model"], "--data", refs["test"],
        "--target", "approvd", "--task", "classification",
    )  # fmt: skip
    assert code == 1 and "target_column" in err and "approved" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(
        capsys, "rai", "create", "--model", refs["model"], "--data", refs["test"],
        "--target", "approved", "--task", "clustering",
    )  # fmt: skip
    assert code == 1 and "task_type" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(
        capsys, "rai", "create", "--model", "nope:1", "--data", refs["test"], "--target", "approved",
        "--task", "classification",
    )  # fmt: skip
    assert code == 1 and "model" in err
    code, out, _ = run(capsys, "rai", "list", "--output", "json")
    assert json.loads(out) == []
