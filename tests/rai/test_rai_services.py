"""Cohorts and what-if on computed insights: a saved cohort's views are recomputed from the stored rows
(the planted error cohort's error rate, exactly), and the what-if panel's predictions come from a
sandboxed process that loads the model (never Studio's interpreter)."""

import pytest

from backend.errors import NotFoundError, ValidationError
from tests.job_fixtures import wait
from tests.rai.rai_setup import REFERENCE, register_fixture

pytestmark = pytest.mark.usefixtures("agent")


@pytest.fixture
def insights():
    from backend.services import open_session, rai

    refs = register_fixture("logreg")
    request = rai.InsightRequest(
        model=refs["model"],
        test_data=refs["test"],
        target_column="approved",
        task_type="classification",
        sensitive_features=["sex", "age_band"],
        parts=["model_overview", "fairness", "error_analysis", "data_analysis"],
    )
    with open_session() as s:
        found = rai.create_insights(session=s, workspace="default", request=request)
    with open_session() as s, pytest.raises(NotFoundError, match="not ready"):  # queued: nothing to read yet
        rai.read_insights(session=s, workspace="default", name=found.name)
    assert wait(found.job, timeout_s=300).status == "Completed"
    return found.name


def test_a_saved_cohort_carries_into_the_views_with_the_reference_numbers(insights):
    from backend.services import open_session, rai

    planted = REFERENCE["planted"]["c_error_cohort"]["filter"]
    expected = REFERENCE["models"]["logreg"]["cohort_error"]["in_cohort"]
    with open_session() as s:
        saved = rai.save_cohort(
            session=s, workspace="default", name=insights, cohort="risky", filters=planted
        )
        assert [c["name"] for c in saved] == ["risky"]
        with pytest.raises(ValidationError, match="debt_ratoi"):
            rai.save_cohort(
                session=s,
                workspace="default",
                name=insights,
                cohort="typo",
                filters=[{"column": "debt_ratoi", "op": ">", "value": 0.45}],
            )
    with open_session() as s:
        assert [
            c["name"] for c in rai.get_insight(session=s, workspace="default", name=insights).cohorts
        ] == ["risky"]
        view = rai.cohort_view(session=s, workspace="default", name=insights, filters=planted)
    assert view["rows"] == expected["count"] and "debt_ratio > 0.45" in view["description"]
    assert view["model_overview"]["overall"]["error_rate"] == pytest.approx(expected["error_rate"], abs=1e-6)
    assert set(view["fairness"]) == {"sex", "age_band"}
    assert view["error_analysis"]["nodes"][0]["size"] == expected["count"]
    with open_session() as s:
        everything = rai.cohort_view(session=s, workspace="default", name=insights, filters=[])
    assert everything["rows"] == REFERENCE["data"]["n_test"]


def test_what_if_predicts_in_a_sandboxed_process(insights):
    from backend.services import open_session, rai, rai_review

    with open_session() as s:
        rows = rai.read_rows(session=s, workspace="default", name=insights)
    row = rows.iloc[0][REFERENCE["data"]["features"]].to_dict()
    richer = {**row, "income": row["income"] * 4, "debt_ratio": 0.05}
    with open_session() as s:
        answer = rai_review.what_if(session=s, workspace="default", name=insights, rows=[row, richer])
    assert answer["predictions"][0] == rows.iloc[0]["_y_pred"]
    assert answer["probabilities"][0][1] == pytest.approx(rows.iloc[0]["_proba"], abs=1e-9)
    assert answer["probabilities"][1][1] > answer["probabilities"][0][1]  # more income, less debt: likelier
    with open_session() as s, pytest.raises(ValidationError, match="could not predict"):
        rai_review.what_if(session=s, workspace="default", name=insights, rows=[{"income": "lots"}])
