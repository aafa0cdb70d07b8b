"""Team mode in the UI: a sign-in form before any page, a Reader refused a change with one message, a
Data Scientist's personal token, an Owner's members, and the audit log of who changed what."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from backend.identity import User
from backend.services import open_session, users
from tests.ui.conftest import APP


@pytest.fixture
def team(team):
    """The shared team (tests/conftest.py); its Owner."""
    return team["olivia"]


def _table_with(at: AppTest, column: str):
    """The shown table that has ``column`` (tables without selection carry no key in AppTest)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _signed_in(name: str, password: str, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Sign in to Studio"
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(password)
    at.button(key="sign_in_submit").click().run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(f"../pages/{page}").run()
        assert not at.exception, at.exception
    return at


def test_every_page_waits_for_a_sign_in_and_a_wrong_password_is_one_message(team):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["name"] = "x"
    at.run()
    assert at.title[0].value == "Sign in to Studio" and not at.dataframe
    at.text_input(key="sign_in_name").input("rick")
    at.text_input(key="sign_in_password").input("not-his")
    at.button(key="sign_in_submit").click().run()
    assert [e.value for e in at.error] == ["wrong user name or password"]
    at = _signed_in("rick", "rick-pass-1")
    assert any("rick" in c.value and "Reader" in c.value for c in at.sidebar.caption)


def test_a_reader_is_refused_a_change_with_one_message_and_nothing_is_created(team):
    at = _signed_in("rick", "rick-pass-1", "compute.py")
    at.selectbox(key="new_compute_type").set_value("computeinstance").run()
    at.text_input(key="new_compute_name").input("box").run()
    at.button(key="new_compute_create").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["rick (Reader) may not change computes: Readers only read"]
    from backend.services import compute

    with open_session() as s:
        assert [c.name for c in compute.list_computes(session=s, workspace="default")] == ["serverless"]


def test_a_data_scientist_makes_a_token_and_the_owner_sees_it_in_the_audit_log(team):
    at = _signed_in("dana", "dana-pass-1", "profile.py")
    assert not any("role" in t.value.columns for t in at.dataframe)  # members are an Owner's
    at.text_input(key="token_name").input("laptop").run()
    at.button(key="token_create").click().run()
    token = at.code[0].value
    with open_session() as s:
        assert users.resolve_token(session=s, token=token) == User("dana", "Data Scientist")
    owner = _signed_in("olivia", "owner-pass-1", "audit.py")
    table = _table_with(owner, "kind")
    assert ("dana", "created", "api_token", "laptop") in set(
        zip(table["user"], table["action"], table["kind"], table["name"], strict=True)
    )
    owner.selectbox(key="audit_user").set_value("olivia").run()
    assert "user" in owner.query_params and owner.query_params["user"] == "olivia"
    assert set(_table_with(owner, "kind")["user"]) == {"olivia"}


def test_an_owner_adds_a_member_and_changes_a_role_on_the_profile_page(team):
    at = _signed_in("olivia", "owner-pass-1", "profile.py")
    at.text_input(key="member_name").input("eve").run()
    at.text_input(key="member_password").input("eve-pass-12").run()
    at.button(key="member_add").click().run()
    assert not at.exception, at.exception
    assert users.get_user("eve") == User("eve", "Data Scientist")
    at.selectbox(key="member_pick").set_value("eve").run()
    at.selectbox(key="member_new_role").set_value("Reader").run()
    at.button(key="member_set_role").click().run()
    assert users.get_user("eve").role == "Reader"


def test_a_widget_callback_acts_as_the_signed_in_user_too(team, tmp_path):
    """Streamlit runs a button's callback before the page (and so before it sets its user): the callback
    still acts as the session's user, so a Reader's datastore form is refused as well."""
    at = _signed_in("rick", "rick-pass-1", "datastores.py")
    at.selectbox(key="new_ds_type").set_value("local").run()
    at.text_input(key="new_ds_name").input("mine").run()
    at.text_input(key="new_ds_path").input(str(tmp_path)).run()
    at.button(key="new_ds_create").click().run()
    assert not at.exception, at.exception
    shown = " ".join(e.value for e in at.error)
    assert "rick (Reader) may not change datastores" in shown
    from backend.services import datastores

    with open_session() as s:
        assert "mine" not in {d.name for d in datastores.list_datastores(session=s, workspace="default")}
