"""``ml_client.compute``: the compute targets (read-only here)."""

from __future__ import annotations

from studio.ml.entities import Compute, compute_from_record
from studio.ml.operations._base import _Operations


class ComputeOperations(_Operations):
    def get(self, name: str) -> Compute:
        from backend.services import compute, open_session

        with open_session() as s:
            return compute_from_record(compute.get_compute(session=s, workspace=self._workspace, name=name))

    def list(self) -> list[Compute]:
        from backend.services import compute, open_session

        with open_session() as s:
            return [
                compute_from_record(c) for c in compute.list_computes(session=s, workspace=self._workspace)
            ]


__all__ = ["ComputeOperations"]
