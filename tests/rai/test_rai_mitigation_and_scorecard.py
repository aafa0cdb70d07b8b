"""Mitigation and review through the CLI, for real: Fairlearn's ThresholdOptimizer lowers the fixture's
demographic parity difference by sex, the chosen candidate becomes a new model version with its lineage
and a review record, and a scorecard job renders a PDF whose first page is looked at as an image."""

import json

import numpy as np
import pypdfium2
import pytest

from studio.cli import main
from tests.conftest import REPO
from tests.rai.rai_setup import FIXTURE, REFERENCE, register_fixture

pytestmark = pytest.mark.usefixtures("agent")
OUTPUT = REPO / "test-output" / "rai"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_mitigation_lowers_disparity_and_the_new_version_carries_lineage_and_review(capsys):
    from backend.services import models, open_session, rai_review

    refs = register_fixture("logreg")
    capsys.readouterr()
    code, out, err = run(
        capsys, "rai", "mitigate", "--model", refs["model"], "--data", refs["test"], "--train-data", refs["train"],
        "--target", "approved", "--sensitive", "sex", "--stream",
    )  # fmt: skip
    assert code == 0, out[-3000:] + err[-2000:]
    code, out, err = run(capsys, "rai", "list", "--output", "json")
    mitigation = json.loads(out)[0]
    assert mitigation["kind"] == "mitigation" and mitigation["status"] == "Completed"

    with open_session() as s:
        tradeoff = rai_review.read_tradeoff(session=s, workspace="default", name=mitigation["name"])
    original, exact = tradeoff["candidates"][0], tradeoff["candidates"][1]
    before, after = (
        REFERENCE["models"]["logreg"]["threshold_optimizer"]["before"],
        REFERENCE["models"]["logreg"]["threshold_optimizer"]["after"],
    )
    assert original["demographic_parity_difference"] == pytest.approx(
        before["demographic_parity_difference"], abs=1e-6
    )
    assert exact["accuracy"] == pytest.approx(after["accuracy"], abs=0.01)
    assert exact["demographic_parity_difference"] == pytest.approx(
        after["demographic_parity_difference"], abs=0.03
    )
    assert exact["demographic_parity_difference"] < original["demographic_parity_difference"] / 2
    assert len(tradeoff["candidates"]) >= 3  # a trade-off, not one point

    code, out, err = run(
        capsys, "rai", "register-mitigated", "--name", mitigation["name"], "--candidate", "1", "-o", "json"
    )
    assert code == 0, err
    registered = json.loads(out)
    name = refs["model"].split(":")[0]
    assert registered["name"] == name and registered["version"] == "2"
    with open_session() as s:
        version = models.get_model(session=s, workspace="default", name=name, version="2")
        lineage = rai_review.lineage_of(version)
    assert lineage["mitigated_from"] == refs["model"] and lineage["mitigation"] == mitigation["name"]
    assert version.job == mitigation["name"]  # the producing job is the mitigation job

    code, out, err = run(
        capsys, "rai", "review", "--model", f"{name}:2", "--reviewer", "Ada", "--decision", "approved_with_conditions",
        "--notes", "Disparity by sex within target; monitor the nonbinary group (120 rows).", "-o", "json",
    )  # fmt: skip
    assert code == 0, err
    with open_session() as s:
        reviews = rai_review.list_reviews(session=s, workspace="default", model=f"{name}:2")
    assert [(r.reviewer, r.decision) for r in reviews] == [("Ada", "approved_with_conditions")]
    code, _, err = run(
        capsys, "rai", "review", "--model", f"{name}:2", "--reviewer", "Ada", "--decision", "maybe"
    )
    assert code == 1 and "decision" in err and "approved" in err


def test_a_scorecard_job_renders_a_pdf_that_looks_like_one(capsys, tmp_path):
    from backend.services import open_session, rai

    refs = register_fixture("logreg")
    capsys.readouterr()
    code, out, err = run(
        capsys, "rai", "create", "--model", refs["model"], "--data", refs["test"], "--target", "approved",
        "--task", "classification", "--sensitive", "sex,age_band", "--stream",
    )  # fmt: skip
    assert code == 0, out[-2000:] + err[-2000:]
    insights = json.loads(run(capsys, "rai", "list", "-o", "json")[1])[0]["name"]
    config = tmp_path / "pdf_gen.json"
    config.write_text(
        (REPO / "tests" / "fixtures" / "rai_pipeline" / "scorecard_config" / "pdf_gen.json").read_text()
    )
    code, out, err = run(capsys, "rai", "scorecard", "--name", insights, "--config", str(config), "--stream")
    assert code == 0, out[-2000:] + err[-2000:]
    card = next(
        r for r in json.loads(run(capsys, "rai", "list", "-o", "json")[1]) if r["kind"] == "scorecard"
    )
    with open_session() as s:
        pdf = rai.read_artifact_file(session=s, workspace="default", name=card["name"], file="scorecard.pdf")
        html = rai.read_artifact_file(
            session=s, workspace="default", name=card["name"], file="scorecard.html"
        )
    (tmp_path / "card.pdf").write_bytes(pdf)
    document = pypdfium2.PdfDocument(str(tmp_path / "card.pdf"))
    try:
        pages = [document[i].render(scale=1.2).to_pil() for i in range(len(document))]
    finally:
        document.close()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(pages, 1):
        image.save(OUTPUT / f"scorecard_job_page{i}.png")
    pixels = np.asarray(pages[0].convert("L"))
    assert 0.005 < (pixels < 128).mean() < 0.5  # text and tables, not a blank or black page
    text = html.decode()
    assert "Loan approval" in text and "0.7445" in text  # the accuracy target with its value
    assert FIXTURE.exists()
