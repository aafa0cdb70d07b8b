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


CONFUSION = ("tn", "fp", "fn", "tp")
COHORT = ("debt_ratio > 0.45", "credit_history_years < 3.0")  # the reference's planted error cohort


def _close(got: dict, ref: dict, where: str) -> None:
    for metric, value in ref.items():
        assert got[metric] == pytest.approx(value, abs=EXACT), (where, metric)


@pytest.mark.parametrize("model", ["logreg", "gbm"])
def test_insights_reproduce_the_fixtures_reference_numbers(capsys, model):
    """Every number of the reference that the insights cover, for both of the fixture's models."""
    refs = register_fixture(model)
    extra = ("--treatment", "debt_ratio") if model == "logreg" else ()  # causal once is enough
    listed = _create(capsys, refs, *extra)
    assert listed["model"] == refs["model"] and listed["data"] == refs["test"] and listed["created"]
    code, out, err = run(capsys, "rai", "show", "--name", listed["name"], "--output", "json")
    assert code == 0, err
    shown = json.loads(out)
    expected = REFERENCE["models"][model]

    overall = shown["model_overview"]["overall"]
    ref_overall = expected["overall"]
    for metric in ("accuracy", "precision", "recall", "f1", "roc_auc", "error_rate", "selection_rate"):
        assert overall[metric] == pytest.approx(ref_overall[metric], abs=EXACT), metric
    assert overall["count"] == ref_overall["n"]
    assert {k: overall["confusion_matrix"][k] for k in CONFUSION} == ref_overall["confusion_matrix"]

    for sf in ("sex", "age_band"):
        got, ref = shown["fairness"][sf], expected["fairness"][sf]
        for metric in (
            "demographic_parity_difference",
            "demographic_parity_ratio",
            "equalized_odds_difference",
            "equalized_odds_ratio",
        ):
            assert got[metric] == pytest.approx(ref[metric], abs=EXACT), (sf, metric)
        frame = ref["metric_frame"]
        _close(got["overall"], frame["overall"], f"{sf} overall")
        for group, values in frame["by_group"].items():
            _close(got["by_group"][group], values, f"{sf} {group}")
        _close(got["group_min"], frame["group_min"], f"{sf} group_min")
        _close(got["group_max"], frame["group_max"], f"{sf} group_max")
        _close(got["difference"], frame["difference_between_groups"], f"{sf} difference")
        _close(got["ratio"], frame["ratio_between_groups"], f"{sf} ratio")
        assert got["confusion_by_group"] == ref["confusion_by_group"], sf

    # Error rates and error counts by region (per cohort of a categorical feature), exact.
    by_region = shown["model_overview"]["by_feature"]["region"]
    for region, ref in expected["error_rate_by_region"].items():
        got = by_region[region]
        assert got["count"] == ref["count"]
        assert got["confusion_matrix"]["fp"] + got["confusion_matrix"]["fn"] == ref["errors"], region
        assert got["error_rate"] == pytest.approx(ref["error_rate"], abs=EXACT), region
    # The error tree: the noisy region is the first split.
    nodes = shown["error_analysis"]["nodes"]
    first = [n for n in nodes if n["depth"] == 1]
    east = next(n for n in first if "east" in json.dumps(n["filters"]))
    assert east["error_rate"] > max(n["error_rate"] for n in first if n is not east)

    # The planted error cohort through `studio rai show --where`: its rows, errors and error rate, and the
    # rest of the test set by difference.
    where = [arg for condition in COHORT for arg in ("--where", condition)]
    code, out, err = run(capsys, "rai", "show", "--name", listed["name"], *where, "--output", "json")
    assert code == 0, err
    cohort = json.loads(out)
    ref_in, ref_out = expected["cohort_error"]["in_cohort"], expected["cohort_error"]["outside_cohort"]
    inside = cohort["model_overview"]["overall"]
    in_errors = inside["confusion_matrix"]["fp"] + inside["confusion_matrix"]["fn"]
    assert (cohort["rows"], in_errors) == (ref_in["count"], ref_in["errors"])
    assert inside["error_rate"] == pytest.approx(ref_in["error_rate"], abs=EXACT)
    all_errors = overall["confusion_matrix"]["fp"] + overall["confusion_matrix"]["fn"]
    out_count, out_errors = overall["count"] - cohort["rows"], all_errors - in_errors
    assert (out_count, out_errors) == (ref_out["count"], ref_out["errors"])
    assert (in_errors / cohort["rows"]) / (out_errors / out_count) == pytest.approx(
        expected["cohort_error"]["error_rate_ratio_in_over_out"], abs=EXACT
    )

    if model != "logreg":  # the reference has importances for the logistic model only
        return
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


def test_a_bad_cohort_filter_is_one_line(capsys):
    code, _, err = run(capsys, "rai", "show", "--name", "whatever", "--where", "debt_ratio about 3")
    assert code != 0 and "--where: 'debt_ratio about 3' is not COLUMN OP VALUE" in err
    assert "Traceback" not in err


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
