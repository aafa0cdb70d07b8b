"""Team mode: users with hashed passwords, roles checked on every change, tokens, and the audit log."""

from __future__ import annotations

import pytest

from backend.identity import PermissionDenied, User, acting_as
from backend.services import audit, compute, datastores, jobs, open_session, users, workspaces
from backend.services.compute import ComputeForm

JOB = "command: echo hi\nenvironment: azureml:AzureML-sklearn-1.5@latest\n"


@pytest.fixture
def team(team):
    """The shared team (tests/conftest.py) and a Contributor, ``carl``."""
    with acting_as(team["olivia"]):
        users.add_user("carl", "Contributor", "carl-pass-1")
    return {u.name: u for u in users.list_users()}


def _submit(tmp_path, text=JOB):
    from backend.services import job_files

    (tmp_path / "job.yml").write_text(text)
    with open_session() as s:
        return job_files.create_job_from_file(session=s, workspace="default", file=tmp_path / "job.yml")


def test_passwords_are_hashed_and_a_wrong_one_is_the_same_refusal_as_an_unknown_name(team, studio_home):
    text = (studio_home / "users.toml").read_text()
    assert "owner-pass-1" not in text and "scrypt$" in text
    assert (studio_home / "users.toml").stat().st_mode & 0o077 == 0
    assert users.sign_in("dana", "dana-pass-1") == User("dana", "Data Scientist")
    for name, password in (("dana", "wrong-pass"), ("nobody", "dana-pass-1")):
        with pytest.raises(PermissionDenied, match=r"^wrong user name or password$"):
            users.sign_in(name, password)
    assert users.team_mode()


def test_single_sign_on_members_are_found_by_email_and_have_no_password_to_guess(team, studio_home):
    from backend.errors import ValidationError

    with acting_as(team["olivia"]):
        users.add_user("alice", "Data Scientist", None, email="Alice@Example.com")
        for args, message in (
            (("bob", "Reader", None), "give their --email"),
            (("bob", "Reader", None, "not-an-email"), "is not an email address"),
            (("bob", "Reader", None, "alice@example.COM"), "is user 'alice''s already"),
        ):
            with pytest.raises(ValidationError, match=message):
                users.add_user(*args[:3], email=args[3] if len(args) > 3 else None)
    assert users.user_for_email("alice@example.com") == User("alice", "Data Scientist")
    assert users.user_for_email("mallory@example.com") is None and users.user_for_email("") is None
    # A single sign-on member has no password: no password signs them in, not even an empty one.
    for password in ("", "anything-1"):
        with pytest.raises(PermissionDenied, match=r"^wrong user name or password$"):
            users.sign_in("alice", password)
    rows = {m["name"]: m for m in users.members()}
    assert rows["alice"]["sign-in"] == "single sign-on" and rows["dana"]["sign-in"] == "password"
    assert (
        "password" not in (studio_home / "users.toml").read_text().split('[users."alice"]')[1].split("[")[0]
    )
    assert users.list_users()  # the file still reads back with every user
    assert {u.name for u in users.list_users()} == {"olivia", "dana", "rick", "carl", "alice"}


def test_a_reader_changes_nothing_and_a_data_scientist_no_datastore_compute_or_workspace(team, tmp_path):
    with (
        acting_as(team["rick"]),
        pytest.raises(PermissionDenied, match=r"rick \(Reader\) may not change jobs"),
    ):
        _submit(tmp_path)
    with open_session() as s:
        assert jobs.list_jobs(session=s, workspace="default") == []
    with acting_as(team["dana"]):
        job = _submit(tmp_path)  # a Data Scientist submits jobs
        denied = pytest.raises(PermissionDenied, match=r"dana \(Data Scientist\) may not change computes")
        with denied, open_session() as s:
            compute.create_compute_from_form(
                session=s, workspace="default", form=ComputeForm(name="box", type="computeinstance")
            )
        with pytest.raises(PermissionDenied, match="may not change datastores"), open_session() as s:
            datastores.create_datastore(
                session=s,
                workspace="default",
                spec=datastores.LocalDatastoreSpec(name="mine", type="local", path="/tmp/mine"),
            )
        with pytest.raises(PermissionDenied, match="may not change workspaces"), open_session() as s:
            workspaces.create_workspace(session=s, data=workspaces.WorkspaceCreate(name="dana-ws"))
        with pytest.raises(PermissionDenied, match=r"dana \(Data Scientist\) may not manage members"):
            users.add_user("eve", "Reader", "eve-pass-12")
    with (
        acting_as(team["carl"]),
        pytest.raises(PermissionDenied, match="Contributors may not manage members"),
    ):
        users.set_role("dana", "Owner")
    with acting_as(team["carl"]), open_session() as s:  # a Contributor creates computes
        compute.create_compute_from_form(
            session=s, workspace="default", form=ComputeForm(name="box", type="computeinstance")
        )
    with open_session() as s:
        assert [c.name for c in compute.list_computes(session=s, workspace="default")] == [
            "serverless",
            "box",
        ]
        log = audit.page_events(session=s)
    actions = {(e.user, e.action, e.kind, e.name) for e in log.events}
    assert ("dana", "created", "job", job.name) in actions
    assert ("carl", "created", "compute", "box") in actions
    assert not any(e.user == "rick" for e in log.events)  # refused: nothing happened, nothing recorded
    with open_session() as s:
        only_dana = audit.page_events(session=s, user="dana")
    assert {e.user for e in only_dana.events} == {"dana"} and only_dana.total >= 1


def test_a_cancel_is_a_change_the_reader_may_not_make_and_the_log_records_who_canceled(team, tmp_path):
    with acting_as(team["dana"]):
        job = _submit(tmp_path)
    with acting_as(team["rick"]), pytest.raises(PermissionDenied), open_session() as s:
        jobs.cancel_job(session=s, workspace="default", name=job.name)
    with acting_as(team["dana"]), open_session() as s:
        jobs.cancel_job(session=s, workspace="default", name=job.name)
    with open_session() as s:
        assert jobs.get_job(session=s, workspace="default", name=job.name).status == "Canceled"
        changed = audit.page_events(session=s, user="dana", action="changed", kind="job")
    assert changed.total >= 1


def test_tokens_are_shown_once_stored_as_digests_and_revocable(team):
    with open_session() as s:
        token = users.create_token(session=s, user=team["dana"], name="laptop")
    assert token.startswith("stu_")
    with open_session() as s:
        assert users.resolve_token(session=s, token=token) == team["dana"]
        (listed,) = users.list_tokens(session=s, user=team["dana"])
        from backend.db.models import ApiToken

        assert token not in str(s.get(ApiToken, listed.id).model_dump())
        users.revoke_token(session=s, user=team["dana"], token_id=listed.id)
    with open_session() as s, pytest.raises(PermissionDenied, match="STUDIO_TOKEN is not a valid token"):
        users.resolve_token(session=s, token=token)


def test_the_sdk_signs_in_with_studio_token_and_acts_with_its_role(team, monkeypatch, tmp_path):
    from backend.identity import set_current
    from studio.ml import MLClient

    monkeypatch.delenv("STUDIO_TOKEN", raising=False)
    with pytest.raises(PermissionDenied, match="create a personal token on your Profile page"):
        MLClient()
    with open_session() as s:
        token = users.create_token(session=s, user=team["rick"], name="script")
    monkeypatch.setenv("STUDIO_TOKEN", token)
    try:
        client = MLClient()
        assert client.user == team["rick"]
        assert [w for w in client.compute.list()]  # reading is a Reader's right
        (tmp_path / "job.yml").write_text(JOB)
        from studio.ml import load_job

        with pytest.raises(PermissionDenied, match=r"rick \(Reader\) may not change jobs"):
            client.jobs.create_or_update(load_job(tmp_path / "job.yml"))
    finally:
        set_current(None)
