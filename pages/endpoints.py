"""Endpoints: online endpoints and their deployments: list, traffic, Test, Consume, Logs, Monitoring.
Deep links: ``?name=E`` opens an endpoint, ``&tab=Test`` (``Consume``, ``Logs``, ``Monitoring``) one of
its tabs. The views are in ``studio.ui.endpoints``."""

from studio.ui import widgets
from studio.ui.endpoints.detail import detail
from studio.ui.endpoints.listing import listing

widgets.list_or_detail("Endpoints", listing, detail)
