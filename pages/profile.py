"""Profile: who you are signed in as, your personal tokens for the CLI and the SDK, and (for an Owner) the
studio's members."""

import pandas as pd
import streamlit as st

from backend import identity
from backend.services import users
from studio.ui import shell, widgets

st.header("Profile")
me = identity.current()
if me is None:
    st.info(
        "Studio is single-user: nobody signs in. To share it with a team, add an Owner "
        "(`studio user add NAME --role Owner`); from then on everyone signs in, and the CLI and the SDK use a "
        "personal token made here.",
        icon=":material/person:",
    )
    st.stop()

st.write(f"Signed in as **{me.name}** · {me.role}")

st.subheader("Personal tokens")
st.caption(
    "For the CLI and the SDK: `export STUDIO_TOKEN=<token>`. A token acts with your role; it is shown once, "
    "and Studio keeps only its digest."
)
cols = st.columns([3, 1])
label = cols[0].text_input(
    "Token name", key="token_name", placeholder="laptop, CI, ...", label_visibility="collapsed"
)
if cols[1].button("Create token", key="token_create", type="primary", disabled=not label.strip()):
    made = widgets.load(users.create_token, user=me, name=label, success="Token created: copy it now")
    if made:
        st.session_state["token_made"] = made
if st.session_state.get("token_made"):
    st.code(st.session_state["token_made"], language=None)
    st.caption("Shown once: it is not kept, and this page forgets it when you leave.")
tokens = widgets.load(users.list_tokens, user=me) or []
if tokens:
    frame = pd.DataFrame([t.model_dump() for t in tokens])
    st.dataframe(frame, key="tokens_table", hide_index=True, width="stretch")
    active = [t for t in tokens if not t.revoked]
    if active:
        rc = st.columns([3, 1])
        chosen = rc[0].selectbox(
            "Revoke", active, format_func=lambda t: f"{t.name} (#{t.id})", key="token_revoke_pick",
            label_visibility="collapsed",
        )  # fmt: skip
        if rc[1].button("Revoke", key="token_revoke") and widgets.done(
            users.revoke_token, user=me, token_id=chosen.id, success=f"Revoked {chosen.name}"
        ):
            st.rerun()

if identity.allowed(me, "members"):
    st.subheader("Members")
    st.dataframe(
        pd.DataFrame(users.members()),
        key="members_table", hide_index=True, width="stretch",
    )  # fmt: skip
    with st.expander("Add a member"):
        name = st.text_input("User name", key="member_name")
        role = st.selectbox("Role", identity.ROLES, index=2, key="member_role")
        email = st.text_input(
            "Email at the identity provider (single sign-on)", key="member_email", help="Optional without it"
        )
        password = st.text_input(
            "First password", type="password", key="member_password", help="Optional with an email"
        )
        if st.button(
            "Add", key="member_add", type="primary", disabled=not name or not (password or email)
        ) and shell.attempt(
            lambda: users.add_user(name, role, password or None, email=email.strip() or None),
            success=f"Added {name}",
        ):
            st.rerun()
    with st.expander("Change a role or remove a member"):
        others = [u.name for u in users.list_users() if u.name != me.name]
        if others:
            who = st.selectbox("Member", others, key="member_pick")
            new_role = st.selectbox("New role", identity.ROLES, key="member_new_role")
            mc = st.columns(2)
            if mc[0].button("Set role", key="member_set_role") and shell.attempt(
                lambda: users.set_role(who, new_role), success=f"{who} is now {new_role}"
            ):
                st.rerun()
            if mc[1].button("Remove", key="member_remove") and shell.attempt(
                lambda: users.remove_user(who), success=f"Removed {who}"
            ):
                st.rerun()
