"""``WorkspaceConnection``: a language model benchmarks call, named as in ``azure.ai.ml.entities``.

The key is write-only: it is kept apart from the entity's fields, so it shows in no repr, ``_to_dict()``
or comparison, and an entity the studio returns never carries it (``api_key_set`` says whether one is
stored).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from studio.ml.entities._base import CreationContext, _Entity


class WorkspaceConnection(
    _Entity,
    fields="name type target model price_per_1k_input_tokens price_per_1k_output_tokens description tags",
):
    """``type`` is ``llama_cpp`` (a GGUF path or model package), ``openai`` (an http(s) URL) or
    ``online_endpoint`` (a Studio endpoint's name or scoring URL)."""

    def __init__(
        self,
        *,
        name: str | None = None,
        type: str | None = None,
        target: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        price_per_1k_input_tokens: float | None = None,
        price_per_1k_output_tokens: float | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
    ):
        self._fields = {
            "name": name,
            "type": type,
            "target": target,
            "model": model,
            "price_per_1k_input_tokens": price_per_1k_input_tokens,
            "price_per_1k_output_tokens": price_per_1k_output_tokens,
            "description": description,
            "tags": dict(tags or {}),
        }
        self._api_key = api_key
        self.api_key_set = api_key is not None
        self.creation_context: CreationContext | None = None
        self.updated_at: datetime | None = None

    @property
    def api_key(self) -> None:
        """Never readable here; a stored key stays in the studio."""
        return None

    @api_key.setter
    def api_key(self, value: str | None) -> None:
        self._api_key = value
        self.api_key_set = value is not None

    def _spec_dict(self) -> dict[str, Any]:
        """The YAML mapping the service validates, with the key (only for that call)."""
        data = self._to_dict()
        if self._api_key is not None:
            data["api_key"] = self._api_key
        return data


def connection_from_record(record: Any) -> WorkspaceConnection:
    connection = WorkspaceConnection(
        name=record.name,
        type=record.type,
        target=record.target,
        model=record.model,
        price_per_1k_input_tokens=record.price_per_1k_input_tokens,
        price_per_1k_output_tokens=record.price_per_1k_output_tokens,
        description=record.description,
        tags=record.tags,
    )
    connection.api_key_set = record.api_key_set
    connection.creation_context = CreationContext(created_at=record.created_at)
    connection.updated_at = record.updated_at
    return connection


__all__ = ["WorkspaceConnection", "connection_from_record"]
