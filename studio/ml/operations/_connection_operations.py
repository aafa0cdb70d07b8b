"""``ml_client.connections``: create or update, get, list and delete connections (the key goes in only)."""

from __future__ import annotations

from studio.ml.entities import WorkspaceConnection, connection_from_record
from studio.ml.operations._base import _Operations


class ConnectionOperations(_Operations):
    def create_or_update(self, workspace_connection: WorkspaceConnection) -> WorkspaceConnection:
        """Create the connection, or update the one of that name (an update without a key keeps the
        stored one while the target stays the same)."""
        from backend.services import connections

        source = f"WorkspaceConnection(name={workspace_connection.name!r})"
        spec = connections.parse_connection(workspace_connection._spec_dict(), source=source)
        return connection_from_record(self._call(connections.create_connection, spec=spec, source=source))

    def get(self, name: str) -> WorkspaceConnection:
        from backend.services import connections

        return connection_from_record(self._call(connections.get_connection, name=name))

    def list(self, connection_type: str | None = None) -> list[WorkspaceConnection]:
        from backend.services import connections

        return [
            connection_from_record(r)
            for r in self._call(connections.list_connections)
            if connection_type is None or r.type == connection_type
        ]

    def delete(self, name: str) -> None:
        from backend.services import connections

        self._call(connections.delete_connection, name=name)


__all__ = ["ConnectionOperations"]
