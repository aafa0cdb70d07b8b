"""Team mode in a browser, with a studio of its own (its users file would change the shared one's):

- a Reader signs in and is refused a job submission with one clear line (nothing is created);
- a Data Scientist runs a job (from the CLI, with a personal token) that reads a blob datastore, sees its
  log in the browser, and never sees the datastore's key: not on its page, not in CLI output, not on an SDK
  object;
- the Owner's audit log lists both users' actions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from backend.identity import acting_as
from backend.services import datastores, jobs, open_session, users
from tests.azurite import Azurite
from tests.browser.conftest import grid_cells_contain, make_token, shot, wait_for_app
from tests.conftest import REPO, RunningStudio, reset_caches
from tests.job_fixtures import wait

pytestmark = pytest.mark.browser

JOB = """
command: cat ${{inputs.data}}
environment: azureml:AzureML-sklearn-1.5@latest
inputs:
  data:
    type: uri_file
    path: azureml://datastores/teamblob/paths/data/in.txt
"""


def _sign_in(browser, url: str, name: str, password: str, shots, label: str, path: str = ""):
    """A new browser session that signs in (on a deep link ``path``: it opens once signed in)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.shots = shots
    page.goto(url + path)
    wait_for_app(page)
    page.get_by_role("heading", name="Sign in to Studio").wait_for()
    page.get_by_label("User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    wait_for_app(page)
    page.get_by_text(f"{name} ·").first.wait_for()
    page.screenshot(path=str(shots / f"{label}-signed-in.png"), full_page=True)
    return context, page


def _studio(*argv: str, token: str, home) -> subprocess.CompletedProcess:
    env = {**os.environ, "STUDIO_HOME": str(home), "STUDIO_TOKEN": token}
    return subprocess.run(
        [sys.executable, "-m", "studio.cli", *argv],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_reader_is_refused_a_data_scientist_runs_a_blob_job_and_the_owner_audits_both(
    browser, azurite: Azurite, tmp_path, monkeypatch, output_dir
):
    from backend.db import ensure_schema
    from tests.conftest import STUDIO_ENV

    home = tmp_path / "home"
    for name in STUDIO_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STUDIO_HOME", str(home))
    reset_caches()
    ensure_schema()
    owner = users.add_user("olivia", "Owner", "owner-pass-1")
    container = azurite.new_container("team")
    with acting_as(owner):
        users.add_user("dana", "Data Scientist", "dana-pass-1")
        users.add_user("rick", "Reader", "rick-pass-1")
        with open_session() as s:
            spec = datastores.parse_datastore(
                {"name": "teamblob", "type": "azure_blob", "account_name": azurite.account,
                 "container_name": container, "endpoint": azurite.endpoint, "protocol": "http",
                 "credentials": {"account_key": azurite.account_key}},
                source="teamblob.yml",
            )  # fmt: skip
            datastores.create_datastore(session=s, workspace="default", spec=spec)
            datastores.upload_bytes(
                session=s, workspace="default", name="teamblob", path="data/in.txt", data=b"hello from blob\n"
            )
    with open_session() as s:
        dana_token = users.create_token(session=s, user=users.get_user("dana"), name="cli")
    running = RunningStudio(home)
    try:
        info = running.wait_ready()
        monkeypatch.setenv("STUDIO_MLFLOW_URI", info["mlflow_uri"])
        reset_caches()
        url = info["ui_url"]

        # The Reader: signed in, refused a submission in one line, and nothing is created.
        context, page = _sign_in(browser, url, "rick", "rick-pass-1", output_dir, "01-rick")
        page.get_by_role("link", name="Jobs", exact=True).click()
        wait_for_app(page)
        page.get_by_role("button", name="Create job").click()
        wait_for_app(page)
        command = page.get_by_role("textbox", name="Command")
        command.fill("echo hi")
        command.press("Control+Enter")
        wait_for_app(page)
        page.get_by_role("button", name="Submit").click()
        wait_for_app(page)
        expect(page.get_by_text("rick (Reader) may not change jobs: Readers only read")).to_be_visible()
        shot(page, "02-rick-refused")
        with open_session() as s:
            assert jobs.list_jobs(session=s, workspace="default") == []
        # A Reader may make a token for reading from the CLI: an action the audit log records.
        make_token(page, "reading")
        context.close()

        # The Data Scientist: a job that reads the blob datastore, submitted with a personal token.
        (tmp_path / "job.yml").write_text(JOB)
        created = _studio(
            "job",
            "create",
            "--file",
            str(tmp_path / "job.yml"),
            "--output",
            "json",
            token=dana_token,
            home=home,
        )
        assert created.returncode == 0, created.stderr
        name = json.loads(created.stdout)["name"]
        done = wait(name, timeout_s=180)
        assert done.status == "Completed", done.failure_reason
        shown = _studio(
            "datastore", "show", "--name", "teamblob", "--output", "json", token=dana_token, home=home
        )
        assert shown.returncode == 0 and azurite.account_key not in shown.stdout + shown.stderr
        context, page = _sign_in(
            browser, url, "dana", "dana-pass-1", output_dir, "03-dana", path=f"/jobs?ws=default&job={name}"
        )
        page.locator("[data-testid='stTab']", has_text="Logs").click()
        wait_for_app(page)
        expect(page.get_by_text("hello from blob").first).to_be_visible(timeout=30_000)
        shot(page, "04-dana-job-log")
        page.get_by_role("link", name="Datastores", exact=True).click()
        wait_for_app(page)
        assert grid_cells_contain(page, "teamblob")
        shot(page, "05-dana-datastores")
        assert azurite.account_key not in page.content()
        context.close()
        context, page = _sign_in(
            browser,
            url,
            "dana",
            "dana-pass-1",
            output_dir,
            "05-dana",
            path="/datastores?ws=default&name=teamblob",
        )
        page.get_by_role("heading", name="teamblob").wait_for()
        shot(page, "05-dana-datastore")
        assert azurite.account_key not in page.content()
        context.close()
        from studio.ml import MLClient

        monkeypatch.setenv("STUDIO_TOKEN", dana_token)
        client = MLClient()
        assert azurite.account_key not in repr(client.jobs.get(name)) + repr(vars(client.jobs.get(name)))

        # The Owner's audit log: both users' actions.
        context, page = _sign_in(browser, url, "olivia", "owner-pass-1", output_dir, "06-olivia")
        page.get_by_role("link", name="Audit log", exact=True).click()
        wait_for_app(page)
        assert grid_cells_contain(page, "dana") and grid_cells_contain(page, "rick")
        assert grid_cells_contain(page, name) and grid_cells_contain(page, "reading")
        shot(page, "07-audit-log")
        context.close()
    finally:
        from backend.identity import set_current

        set_current(None)
        running.stop()
