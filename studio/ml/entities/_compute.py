"""``Compute``: a compute target as the studio reports it (read-only here)."""

from __future__ import annotations

from typing import Any

from studio.ml.entities._base import _Entity


class Compute(
    _Entity, fields="name type size min_instances max_instances idle_time_before_scale_down description tags"
):
    """A compute target (read-only here): serverless, a compute instance or a cluster."""

    def __init__(self, fields: dict[str, Any], *, state: str | None = None, current_nodes: int = 0):
        self._fields = dict(fields)
        self.state = state
        self.current_nodes = current_nodes


def compute_from_record(record: Any) -> Compute:
    return Compute(
        {
            "name": record.name,
            "type": record.type,
            "size": record.size,
            "min_instances": record.min_instances,
            "max_instances": record.max_instances,
            "idle_time_before_scale_down": record.idle_time_before_scale_down,
            "description": record.description,
            "tags": dict(record.tags or {}),
        },
        state=record.state,
        current_nodes=record.current_nodes,
    )


__all__ = ["Compute", "compute_from_record"]
