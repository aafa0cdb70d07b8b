"""Signing in to the UI (team mode, ``backend.services.users``): a sign-in page before any page, the acting
user set for every run of a page (``backend.identity``), and who is signed in at the top of the sidebar.

Two ways in: a user name and password from the users file, or single sign-on with an OpenID Connect
identity provider through Streamlit's ``st.login``, configured in the ``[auth]`` section of a
``secrets.toml`` (``STUDIO_HOME/secrets.toml``, or Streamlit's own ``.streamlit/secrets.toml``). The provider
vouches for an email; the member with that ``email`` in the users file is who signs in, with their role.
Streamlit keeps that sign-in in a signed cookie, so it lasts across reloads and new tabs."""

from __future__ import annotations

import streamlit as st

from backend.errors import NotFoundError
from backend.identity import PermissionDenied, User, set_current, set_provider

USER_KEY = "studio_user"
ROLE_KEY = "studio_user_role"


def _from_session() -> User | None:
    """The signed-in user of the Streamlit session running now (widget callbacks run before the page)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    name, role = st.session_state.get(USER_KEY), st.session_state.get(ROLE_KEY)
    return User(name, role) if name and role else None


set_provider(_from_session)


def signed_in() -> User | None:
    """The signed-in user (None for a single-user studio), set for this run; without one in team mode, the
    sign-in form is the only page, and the run ends after it."""
    from backend.services import users

    if not users.team_mode():
        set_current(None)
        return None
    name = st.session_state.get(USER_KEY)
    user = None
    single_sign_on = bool(sso_providers()) and st.user.is_logged_in
    if single_sign_on:
        email = str(st.user.get("email") or "")
        user = users.user_for_email(email)
        if user is None:
            set_current(None)
            st.navigation(_sign_in_pages(lambda: _not_a_member(email)), position="hidden").run()
            st.stop()
    elif name:
        try:
            user = users.get_user(name)  # (its role as it is now)
        except NotFoundError:
            st.session_state.pop(USER_KEY, None)
    if user is None:
        set_current(None)
        st.navigation(_sign_in_pages(_sign_in_page), position="hidden").run()
        st.stop()
    st.session_state[USER_KEY] = user.name
    st.session_state[ROLE_KEY] = user.role
    set_current(user)
    with st.sidebar:
        cols = st.columns([3, 1])
        cols[0].caption(f":material/person: **{user.name}** · {user.role}")
        if cols[1].button("Sign out", key="sign_out", type="tertiary"):
            _sign_out()
    return user


def _sign_out() -> None:
    st.session_state.pop(USER_KEY, None)
    st.session_state.pop(ROLE_KEY, None)
    if st.user.is_logged_in:
        st.logout()  # (Streamlit's cookie; the identity provider's own session is the provider's)
    st.rerun()


def sso_providers() -> list[str | None]:
    """The identity providers of the ``[auth]`` secrets: None for the unnamed one (``client_id`` in
    ``[auth]`` itself), then each named ``[auth.<provider>]``. Empty when single sign-on is not set up."""
    from streamlit.runtime.secrets import secrets_singleton

    try:
        if not secrets_singleton.load_if_toml_exists():
            return []
        section = secrets_singleton.get("auth") or {}
    except Exception:  # an unreadable secrets file: Streamlit reports it on st.login
        return []
    found: list[str | None] = [None] if section.get("client_id") else []
    return found + [k for k, v in section.items() if hasattr(v, "get") and v.get("client_id")]


def _sign_in_pages(render) -> list:
    """``render`` under every page's address, so a deep link opens once its visitor signs in."""
    from pathlib import Path

    from studio.ui.shell import SECTIONS

    return [
        st.Page(render, title="Sign in", url_path=Path(file).stem, default=file == "home.py")
        for entries in SECTIONS.values()
        for file, _title, _icon in entries
    ]


def _not_a_member(email: str) -> None:
    st.title("Sign in to Studio")
    st.error(
        f"{email or 'Your account'} signed in with the identity provider, but is not a member of this studio. "
        "An Owner adds members: `studio user add NAME --role ROLE --email EMAIL --no-password`."
    )
    if st.button("Sign out", key="sso_sign_out"):
        _sign_out()


def _sign_in_page() -> None:
    from backend.services import users

    st.title("Sign in to Studio")
    for provider in sso_providers():
        label = "single sign-on" if provider is None else provider.replace("_", " ").title()
        if st.button(f"Sign in with {label}", type="primary", key=f"sso_{provider or 'default'}"):
            st.login(provider) if provider else st.login()
    with st.form("sign_in_form"):
        name = st.text_input("User name", key="sign_in_name")
        password = st.text_input("Password", type="password", key="sign_in_password")
        if st.form_submit_button("Sign in", type="primary", key="sign_in_submit"):
            try:
                user = users.sign_in(name.strip(), password)
            except PermissionDenied as exc:
                st.error(str(exc))
            else:
                st.session_state[USER_KEY] = user.name
                st.session_state[ROLE_KEY] = user.role
                st.rerun()
