"""A cloud-style Responsible AI pipeline runs unchanged: a training step that reads MLTable, saves an MLflow
model, registers it from a local folder with ``MlflowClient`` and writes ``model_info.json``; then the
registry components (constructor, explanation, causal, counterfactual, error analysis, gather, score card)
from ``azureml://registries/azureml/components/...``. Its dashboard is recorded as insights."""

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.job_fixtures import wait

pytestmark = pytest.mark.usefixtures("agent")
PIPELINE = REPO / "tests" / "fixtures" / "rai_pipeline"


def test_the_clouds_rai_pipeline_runs_unchanged_and_its_insights_are_recorded(tmp_path):
    from backend.services import compute, job_files, jobs, models, open_session, rai

    folder = tmp_path / "rai_pipeline"
    shutil.copytree(PIPELINE, folder)
    with open_session() as s:  # the compute the cloud file names, as a user would create it first
        (tmp_path / "cluster.yml").write_text("name: cpu-cluster\ntype: amlcompute\nmax_instances: 2\n")
        compute.create_compute_from_file(session=s, workspace="default", path=tmp_path / "cluster.yml")
        pipeline = job_files.create_job_from_file(
            session=s, workspace="default", file=folder / "pipeline.yml"
        )
    done = wait(pipeline.name, timeout_s=900)
    with open_session() as s:
        steps = {
            j.display_name: j for j in jobs.list_jobs(session=s, workspace="default", parent=pipeline.name)
        }
    failed = {n: j.failure_reason for n, j in steps.items() if j.status != "Completed"}
    assert done.status == "Completed", failed or done.failure_reason

    with open_session() as s:
        found = rai.list_insights(session=s, workspace="default")
        assert len(found) == 1, found
        insight = found[0]
        # The model the training step registered from a local folder is in the registry, readable.
        model = models.resolve_model_reference(
            session=s, workspace="default", reference=f"azureml:{insight.model}"
        )
        assert model.name.startswith("loan_model_") and (Path(model.local_path) / "MLmodel").exists()
        shown = rai.read_insights(session=s, workspace="default", name=insight.name)
        assert insight.data.endswith(":1") or "LocalUpload" in insight.data
        assert shown["title"] == "Loan Analysis" and shown["dashboard"] is True
        assert set(shown["parts"]) >= {
            "model_overview", "fairness", "data_analysis", "feature_importance", "causal", "counterfactuals",
            "error_analysis",
        }  # fmt: skip
        assert shown["rows"] == 500 and 0.6 < shown["model_overview"]["overall"]["accuracy"] < 0.9
        assert "sex" in shown["fairness"]  # a column the model does not take, kept for grouping
        assert [e["feature"] for e in shown["causal"]["effects"]][:1] == ["debt_ratio"]
        scorecard = [s_ for s_ in steps.values() if "score" in s_.display_name]
        assert scorecard, sorted(steps)
        uri = scorecard[0].outputs["scorecard"]["uri"]
        pdf = rai._open(s, "default", uri, "scorecard.pdf")
        assert pdf.startswith(b"%PDF")
        assert "Loan approval" in rai._open(s, "default", uri, "scorecard.html").decode()

    # The pipeline's insights open on the Responsible AI page, every view that needs no extra setting.
    from streamlit.testing.v1 import AppTest

    for tab in (
        "Overview",
        "Fairness",
        "Error analysis",
        "Explanations",
        "Counterfactuals",
        "Causal",
        "Data",
    ):
        at = AppTest.from_file(str(REPO / "studio" / "app.py"), default_timeout=60)
        at.query_params.update({"name": insight.name, "tab": tab})
        at.run()
        at.switch_page("../pages/responsible_ai.py").run()
        assert not at.exception, (tab, at.exception)
        assert not at.error, (tab, [e.value for e in at.error])
        if tab == "Overview":
            shown_text = "\n".join(str(m.value) for m in [*at.markdown, *at.caption])
            assert "Loan Analysis" in shown_text or insight.name in shown_text
