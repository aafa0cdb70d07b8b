"""The Responsible AI page (AppTest) on the loan fixture: the list and the New insights form, a queued
insight that is not ready, every tab of completed insights, cohorts carried across views, what-if,
reviews on the model's page, and a mitigation's trade-off."""

from __future__ import annotations

import pytest

from backend.services import open_session, rai, rai_review
from tests.job_fixtures import wait
from tests.rai.rai_setup import register_fixture

TABS = (
    "Overview",
    "Fairness",
    "Error analysis",
    "Explanations",
    "Counterfactuals",
    "Causal",
    "Data",
    "What-if",
    "Mitigation",
    "Scorecard & review",
)


def create_insights(refs: dict[str, str]) -> rai.InsightPublic:
    request = rai.InsightRequest(
        model=refs["model"],
        test_data=refs["test"],
        train_data=refs["train"],
        target_column="approved",
        task_type="classification",
        categorical_features=["employment_type", "region", "education"],
        sensitive_features=["sex", "age_band"],
        causal=rai.CausalSettings(treatment_features=["debt_ratio"]),
        error_analysis=rai.ErrorAnalysisSettings(filter_features=["debt_ratio", "credit_history_years"]),
    )
    with open_session() as s:
        return rai.create_insights(session=s, workspace="default", request=request)


def completed_insights() -> tuple[dict[str, str], rai.InsightPublic]:
    refs = register_fixture("logreg")
    insight = create_insights(refs)
    job = wait(insight.job, timeout_s=300)
    assert job.status == "Completed", job.failure_reason
    return refs, insight


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    return "\n".join(str(p) for p in parts)


@pytest.mark.usefixtures("tracking")
def test_the_form_prefilled_from_a_model_link_queues_insights_and_the_queued_ones_say_so(app):
    refs = register_fixture("logreg")
    at = app("responsible_ai.py", model=refs["model"])
    assert at.selectbox(key="rai_new_model").value == refs["model"].split(":")[0]
    at.selectbox(key="rai_new_test").set_value(refs["test"]).run()
    at.selectbox(key="rai_new_target").set_value("approved").run()
    at.multiselect(key="rai_new_sensitive").set_value(["sex"]).run()
    at.button(key="rai_new_create").click().run()
    assert not at.exception and not at.error
    with open_session() as s:
        [created] = rai.list_insights(session=s, workspace="default", model=refs["model"])
    assert created.config["sensitive_features"] == ["sex"] and created.status == "Queued"
    at = app("responsible_ai.py")
    assert created.name in list(at.dataframe[0].value["name"])
    at = app("responsible_ai.py", name=created.name)  # no agent: the job waits
    assert any("Not ready yet" in i.value for i in at.info)
    at = app("responsible_ai.py", name="no-such-insights")
    assert len(at.error) == 1 and "no-such-insights" in at.error[0].value


@pytest.mark.usefixtures("agent")
def test_every_tab_of_completed_insights_renders_and_a_cohort_is_carried_across(app):
    refs, insight = completed_insights()
    for tab in TABS:
        at = app("responsible_ai.py", name=insight.name, tab=tab)
        assert not at.exception, (tab, at.exception)
        assert not at.error, (tab, [e.value for e in at.error])
    at = app("responsible_ai.py", name=insight.name, tab="Fairness")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Demographic parity difference"] == "0.164"
    assert "0.336" in texts(at) and "0.500" in texts(at)

    # The highest-error leaf saved as a cohort: every view is recomputed for its rows.
    at = app("responsible_ai.py", name=insight.name, tab="Error analysis")
    leaves = at.dataframe[0].value
    assert "debt_ratio >" in leaves["cohort"][0] and "credit_history_years <= 2.85" in leaves["cohort"][0]
    assert leaves["error rate"][0] > 0.45
    at.text_input(key="rai_leaf_name").input("hot spot").run()
    at.button(key="rai_leaf_save").click().run()
    assert not at.exception
    with open_session() as s:
        saved = rai.get_insight(session=s, workspace="default", name=insight.name).cohorts
    assert [c["name"] for c in saved] == ["hot spot"]
    at = app("responsible_ai.py", name=insight.name, cohort="hot spot", tab="Overview")
    assert f"{leaves['rows'][0]:,} rows" in texts(at)
    assert at.selectbox(key="rai_cohort_pick").value == "hot spot"

    # What-if: the model answers for an edited row.
    at = app("responsible_ai.py", name=insight.name, tab="What-if")
    at.number_input(key="rai_wi_income_0").set_value(250000).run()
    at.button(key="rai_wi_predict").click().run()
    assert not at.exception and not at.error
    answer = {m.label: m for m in at.metric}
    assert answer["Prediction"].value == "1" and "was 0" in answer["Prediction"].delta
    assert float(answer["P(1)"].delta) > 0

    # A review from the Scorecard & review tab shows on the model's page.
    at = app("responsible_ai.py", name=insight.name, tab="Scorecard & review")
    at.text_input(key="rai_review_reviewer").input("ada").run()
    at.selectbox(key="rai_review_decision").set_value("needs_work").run()
    at.button(key="rai_review_save").click().run()
    assert not at.exception
    at.button(key="rai_sc_create").click().run()  # the scorecard job is queued with the targets
    assert not at.exception and not at.error
    with open_session() as s:
        [card] = rai.list_insights(session=s, workspace="default", kind="scorecard")
    assert card.config["Metrics"]["accuracy_score"] == {"threshold": ">=0.7"}
    assert card.config["Fairness"]["sensitive_features"] == ["sex", "age_band"]
    name, version = refs["model"].split(":")
    at = app("models.py", name=name, version=version)
    assert not at.exception
    assert "needs work" in texts(at) and "ada" in texts(at)


@pytest.mark.usefixtures("tracking")
def test_a_mitigations_tradeoff_is_drawn_and_a_candidate_registers_with_its_lineage(
    app, monkeypatch, tmp_path
):
    """The mitigation job's runtime lands separately; its artifact is stood in for at the service boundary."""
    refs = register_fixture("logreg")
    with open_session() as s:
        queued = rai_review.create_mitigation(
            session=s,
            workspace="default",
            request=rai_review.MitigationRequest(
                model=refs["model"],
                test_data=refs["test"],
                train_data=refs["train"],
                target_column="approved",
                sensitive_feature="sex",
            ),
        )
    tradeoff = {
        "disparity_metric": "demographic_parity_difference",
        "candidates": [
            {"index": 0, "name": "original", "accuracy": 0.745, "disparity": 0.164, "path": None},
            {
                "index": 1,
                "name": "threshold optimizer",
                "accuracy": 0.73,
                "disparity": 0.02,
                "path": "candidates/1",
            },
        ],
    }
    monkeypatch.setattr(rai_review, "read_tradeoff", lambda **_: tradeoff)
    monkeypatch.setattr("studio.ui.rai.common.status_line", lambda insight: True)
    registered = []
    monkeypatch.setattr(
        rai_review, "register_mitigated", lambda **kw: registered.append(kw) or _Version(refs["model"])
    )
    at = app("responsible_ai.py", name=queued.name)
    assert not at.exception
    assert list(at.dataframe[0].value["candidate"]) == ["original", "threshold optimizer"]
    at.button(key="rai_mit_register_1").click().run()
    assert not at.exception and registered[0]["candidate"] == 1 and registered[0]["name"] == queued.name


class _Version:
    def __init__(self, model: str):
        self.name, self.version = model.split(":")[0], "2"
