"""Pipelines: the list of pipeline jobs, a pipeline as a live DAG (click a step to see it), and a
point-and-click composer that wires registered components into the cloud's pipeline YAML. The views live
in ``studio.ui.pipelines``.

Deep links: ``?pipeline=<name>`` (``&step=<step>`` opens a step), ``?compose=1`` (the composer;
``&component=name:version`` starts it with that component as the first step).
"""

from __future__ import annotations

import streamlit as st

from studio.ui.pipelines.composer import composer
from studio.ui.pipelines.listing import listing
from studio.ui.pipelines.view import pipeline_view

st.title("Pipelines")
params = st.query_params
if params.get("pipeline"):
    pipeline_view(params["pipeline"])
elif params.get("compose"):
    composer(params.get("component"))
else:
    listing()
