"""Sweeps: every sweep job of the workspace; one sweep's trials, charts and compute (live while it runs);
the early-termination what-if on a finished sweep; and the "Create sweep" wizard. The views live in
``studio.ui.sweeps``.

Deep links: ``?sweep=<name>`` (a sweep; ``&tab=Parallel coordinates`` etc. opens one of its tabs),
``?create=1`` (the wizard).
"""

from __future__ import annotations

import streamlit as st

from studio.ui.sweeps.create import create_view
from studio.ui.sweeps.detail import detail
from studio.ui.sweeps.listing import listing

st.title("Sweeps")
if st.query_params.get("sweep"):
    detail(st.query_params["sweep"])
elif st.query_params.get("create"):
    create_view()
else:
    listing()
