"""Single sign-on in a browser: a studio of its own whose ``secrets.toml`` names an OpenID Connect identity
provider (a real one on loopback, ``tests/oidc_provider.py``), signed in through Streamlit's ``st.login``.

- a member whose email the provider vouches for signs in with one click, with their role from the users file,
  and stays signed in across a reload (Streamlit's signed cookie);
- as a Data Scientist they may not create a compute: one clear refusal, nothing created;
- someone the provider vouches for who is not a member gets a clear message and no page;
- the Owner's audit log names the single sign-on user's action.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from backend.identity import acting_as
from backend.services import compute, open_session, users
from tests.browser.conftest import grid_cells_contain, make_token, shot, wait_for_app
from tests.conftest import RunningStudio, free_port, reset_caches
from tests.oidc_provider import OidcProvider

pytestmark = pytest.mark.browser


def _sso(browser, url: str, shots, label: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.shots = shots
    page.goto(url)
    wait_for_app(page)
    page.get_by_role("button", name="Sign in with single sign-on").wait_for()
    shot(page, f"{label}-sign-in")
    page.get_by_role("button", name="Sign in with single sign-on").click()
    page.wait_for_url(f"{url}/**", timeout=30_000)
    wait_for_app(page)
    return context, page


def test_members_sign_in_with_the_identity_provider_and_others_are_turned_away(
    browser, tmp_path, monkeypatch, output_dir
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
    with acting_as(owner):
        users.add_user("alice", "Data Scientist", None, email="Alice@Example.com")
    port = free_port()
    with OidcProvider(email="alice@example.com", name="Alice") as provider:
        (home / "secrets.toml").write_text(provider.secrets_toml(f"http://127.0.0.1:{port}/oauth2callback"))
        running = RunningStudio(home, "--ui-port", str(port))
        try:
            url = running.wait_ready()["ui_url"]
            assert url == f"http://127.0.0.1:{port}"

            # A member: one click, signed in as the member with that email, with their role.
            context, page = _sso(browser, url, output_dir, "01-alice")
            page.get_by_text("alice · Data Scientist").first.wait_for(timeout=30_000)
            shot(page, "02-alice-signed-in")
            page.reload()
            wait_for_app(page)
            page.get_by_text("alice · Data Scientist").first.wait_for(timeout=30_000)
            expect(page.get_by_role("heading", name="Sign in to Studio")).to_have_count(0)

            # Their role holds: a Data Scientist may not create a compute.
            page.goto(f"{url}/compute?ws=default")
            wait_for_app(page)
            # (the create form is open: the workspace has no compute yet)
            page.get_by_label("Name", exact=True).fill("alices-box")
            page.get_by_label("Name", exact=True).press("Enter")
            wait_for_app(page)
            page.get_by_role("button", name="Create", exact=True).click()
            wait_for_app(page)
            expect(page.get_by_text("alice (Data Scientist) may not change computes").first).to_be_visible()
            shot(page, "03-alice-refused")
            with open_session() as s:
                assert [c.name for c in compute.list_computes(session=s, workspace="default")] == [
                    "serverless"
                ]
            # A personal token, made on the Profile page: an action the audit log records.
            make_token(page, "laptop")
            context.close()

            # Someone the provider vouches for who is not a member: a clear message, no page.
            provider.email = "mallory@example.com"
            context, page = _sso(browser, url, output_dir, "04-mallory")
            expect(page.get_by_text("mallory@example.com signed in with the identity provider, but is not a member")).to_be_visible(timeout=30_000)  # fmt: skip
            expect(page.get_by_role("link", name="Jobs", exact=True)).to_have_count(0)
            shot(page, "05-mallory-not-a-member")
            context.close()

            # The Owner (a password) sees alice's action in the audit log.
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.shots = output_dir
            page.goto(f"{url}/audit?ws=default")
            wait_for_app(page)
            page.get_by_label("User name").fill("olivia")
            page.get_by_role("textbox", name="Password").fill("owner-pass-1")
            page.get_by_role("button", name="Sign in", exact=True).click()
            wait_for_app(page)
            page.get_by_text("olivia ·").first.wait_for()
            assert grid_cells_contain(page, "alice") and grid_cells_contain(page, "laptop")
            shot(page, "06-audit-log")
            context.close()
        finally:
            from backend.identity import set_current

            set_current(None)
            running.stop()
    # The client secret and the cookie secret are the secrets file's only: never in the studio's logs.
    logs = "".join(p.read_text(errors="replace") for p in (home / "logs").glob("*.log"))
    assert "studio-test-client-secret" not in logs
