"""What every ``ml_client`` operations group shares: the workspace, and ``get``/``list`` of a versioned asset."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from studio.ml.constants import ListViewType

AssetT = TypeVar("AssetT")


class _Operations:
    def __init__(self, workspace: str):
        self._workspace = workspace

    def _call(self, fn: Callable[..., Any], /, **kwargs: Any) -> Any:
        """``fn(session=..., workspace=<this workspace>, **kwargs)``: a service call in a session of its own."""
        from backend.services import open_session

        with open_session() as s:
            return fn(session=s, workspace=self._workspace, **kwargs)


@dataclass(frozen=True)
class _AssetCalls:
    """A versioned asset kind's service calls, by the services' naming: ``get_<noun>``, ``list_<noun>s``,
    ``list_<noun>_versions``, ``archive_<noun>``, ``restore_<noun>`` in ``backend.services.<module>``
    (imported when a call needs it)."""

    module: str
    noun: str

    def __getattr__(self, verb: str) -> Callable[..., Any]:
        import importlib

        service = importlib.import_module(f"backend.services.{self.module}")
        name = {"list_names": f"list_{self.noun}s", "list_versions": f"list_{self.noun}_versions"}.get(
            verb, f"{verb}_{self.noun}"
        )
        return getattr(service, name)


class _AssetOperations(_Operations, Generic[AssetT]):
    """``get`` and ``list`` of a versioned asset kind (data, components, environments).

    Each kind says which service calls it makes (imported when a call needs them) and how a record and
    a listing's summary become entities.
    """

    _calls: _AssetCalls

    @staticmethod
    def _from_record(record: Any) -> AssetT:
        raise NotImplementedError

    @staticmethod
    def _from_summary(summary: Any) -> AssetT:
        raise NotImplementedError

    def archive(self, name: str, version: str | int | None = None) -> None:
        """Archive one version, or every version of ``name`` when none is given."""
        self._change_archived(self._calls.archive, name, version)

    def restore(self, name: str, version: str | int | None = None) -> None:
        """Restore one archived version, or every version of ``name`` when none is given."""
        self._change_archived(self._calls.restore, name, version)

    def _change_archived(self, call: Callable[..., Any], name: str, version: str | int | None) -> None:
        self._call(call, name=name, version=None if version is None else str(version))

    def get(self, name: str, version: str | int | None = None, label: str | None = None) -> AssetT:
        """A version, or the latest one (``label="latest"`` or neither given)."""
        version = None if version is None else str(version)
        return self._from_record(self._call(self._calls.get, name=name, version=version, label=label))

    def list(
        self, name: str | None = None, *, list_view_type: str = ListViewType.ACTIVE_ONLY
    ) -> list[AssetT]:
        """Every name (with its ``latest_version``), or with ``name`` every version of it, newest first."""
        from backend.services import open_session

        calls = self._calls
        with open_session() as s:
            if name:
                versions = calls.list_versions(session=s, workspace=self._workspace, name=name)
                return [
                    self._from_record(v)
                    for v in versions
                    if list_view_type == ListViewType.ALL
                    or v.archived == (list_view_type == ListViewType.ARCHIVED_ONLY)
                ]
            summaries = calls.list_names(
                session=s,
                workspace=self._workspace,
                include_archived=list_view_type != ListViewType.ACTIVE_ONLY,
            )
        if list_view_type == ListViewType.ARCHIVED_ONLY:
            # A summary that does not say whether it is archived (a component's) is kept.
            summaries = [x for x in summaries if getattr(x, "archived", True)]
        return [self._from_summary(x) for x in summaries]
