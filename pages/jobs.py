"""Jobs: list, create (code, environment, compute, data), inspect (overview, metrics, live logs, outputs,
child jobs), cancel, clone and archive, and compare runs visually. The views live in ``studio.ui.jobs``.

Deep links: ``?job=<name>`` (a job), ``?compare=a,b,c`` or ``?experiment=X`` (the comparison view),
``?create=1`` (the form; ``&clone=<name>`` prefills it from a job).
"""

from __future__ import annotations

import streamlit as st

from studio.ui.jobs.compare import compare_view
from studio.ui.jobs.create import create_view
from studio.ui.jobs.detail import detail
from studio.ui.jobs.listing import listing

st.title("Jobs")
params = st.query_params
if params.get("job"):
    detail(params["job"])
elif params.get("compare"):
    compare_view([n.strip() for n in params["compare"].split(",") if n.strip()], None)
elif params.get("experiment"):
    compare_view(None, params["experiment"])
elif params.get("create"):
    create_view(params.get("clone"))
else:
    listing()
