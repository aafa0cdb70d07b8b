"""Models: MLflow's model registry seen through Studio: list, register, and a version's card, lineage and
files. Deep links: ``?name=M`` opens a model's latest version, ``&version=V`` another one. The views are
in ``studio.ui.models``."""

from studio.ui import widgets
from studio.ui.models.detail import detail
from studio.ui.models.listing import listing

widgets.list_or_detail("Models", listing, detail, versioned=True)
