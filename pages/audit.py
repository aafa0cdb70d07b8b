"""Audit log: every change a signed-in user made, newest first, filtered by user, kind, action and workspace
(the database filters and pages). Deep links: ``?user=&kind=&action=&page=``."""

import pandas as pd
import streamlit as st

from backend.services import audit, users
from studio.ui import widgets

PAGE_SIZE = 50

st.header("Audit log")
if not users.team_mode():
    st.info(
        "Studio is single-user: changes are recorded once it has users (team mode: see the Profile page).",
        icon=":material/history:",
    )
    st.stop()

params = st.query_params
first = widgets.load(audit.page_events, limit=1)
if first is None:
    st.stop()
cols = st.columns(4)
user = cols[0].selectbox(
    "User",
    ["All users", *first.users],
    index=([None, *first.users].index(params.get("user")) if params.get("user") in first.users else 0),
    key="audit_user",
)
kind = cols[1].selectbox(
    "Kind",
    ["All kinds", *first.kinds],
    index=([None, *first.kinds].index(params.get("kind")) if params.get("kind") in first.kinds else 0),
    key="audit_kind",
)
action = cols[2].selectbox(
    "Action",
    ["All actions", *audit.ACTIONS],
    index=(
        [None, *audit.ACTIONS].index(params.get("action")) if params.get("action") in audit.ACTIONS else 0
    ),
    key="audit_action",
)
number = cols[3].number_input(
    "Page",
    min_value=1,
    value=int(params.get("page", "1")) if params.get("page", "1").isdigit() else 1,
    step=1,
    key="audit_page",
)
filters = {
    "user": None if user == "All users" else user,
    "kind": None if kind == "All kinds" else kind,
    "action": None if action == "All actions" else action,
}
for name, value in [*filters.items(), ("page", None if number == 1 else str(number))]:
    if value:
        st.query_params[name] = value
    elif name in st.query_params:
        del st.query_params[name]
page = widgets.load(audit.page_events, offset=(int(number) - 1) * PAGE_SIZE, limit=PAGE_SIZE, **filters)
if page is None:
    st.stop()
st.caption(
    f"{page.total:,} change{'s' if page.total != 1 else ''} · rows {page.first:,}-{page.last:,} · page {int(number)} of {page.pages}"
)
if page.events:
    frame = pd.DataFrame([e.model_dump() for e in page.events])
    st.dataframe(
        frame,
        key="audit_table",
        hide_index=True,
        width="stretch",
        column_config={"at": st.column_config.DatetimeColumn("at", format="YYYY-MM-DD HH:mm:ss")},
    )
else:
    st.info("No change matches these filters.")
