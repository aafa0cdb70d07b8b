"""``MLClient``: the cloud SDK's entry point, bound to one studio workspace instead of a cloud one."""

from __future__ import annotations

from typing import Any

from studio.ml.operations import (
    BenchmarkOperations,
    ComponentOperations,
    ComputeOperations,
    ConnectionOperations,
    DataOperations,
    EnvironmentOperations,
    JobOperations,
    ModelOperations,
    OnlineDeploymentOperations,
    OnlineEndpointOperations,
    ResponsibleAIOperations,
)


class MLClient:
    """``MLClient(credential, subscription_id, resource_group_name, workspace_name)``.

    The cloud arguments are accepted so code ports unchanged, and ignored: the studio's database and
    STUDIO_HOME say where everything is. ``workspace_name`` defaults to STUDIO_WORKSPACE, else 'default'.
    In team mode (the studio has users) the client signs in with the personal token in ``STUDIO_TOKEN``,
    and its calls act with that user's role (in this thread).
    """

    def __init__(
        self,
        credential: Any = None,
        subscription_id: str | None = None,
        resource_group_name: str | None = None,
        workspace_name: str | None = None,
        **kwargs: Any,  # the cloud's other keyword arguments (cloud=..., registry_name=...): ignored
    ):
        from backend.settings import get_settings

        self.credential = credential
        self.subscription_id = subscription_id
        self.resource_group_name = resource_group_name
        self.workspace_name = workspace_name or get_settings().workspace
        from studio.ml import remote

        # a notebook's kernel: calls go to the agent
        if remote.socket_path() and "_studio_user" not in kwargs:
            self.user = None
            for group in remote.GROUPS:
                setattr(self, group, remote.RemoteOperations(self.workspace_name, group))
            return
        from backend.identity import set_current
        from backend.services import users

        if "_studio_user" in kwargs:  # the agent's SDK gateway, acting for an instance's user
            self.user = kwargs["_studio_user"]
        else:
            self.user = users.user_from_environment() if users.team_mode() else None
        set_current(self.user)
        self.jobs = JobOperations(self.workspace_name)
        self.data = DataOperations(self.workspace_name)
        self.environments = EnvironmentOperations(self.workspace_name)
        self.compute = ComputeOperations(self.workspace_name)
        self.components = ComponentOperations(self.workspace_name)
        self.online_endpoints = OnlineEndpointOperations(self.workspace_name)
        self.online_deployments = OnlineDeploymentOperations(self.workspace_name)
        self.models = ModelOperations(self.workspace_name)
        self.responsible_ai = ResponsibleAIOperations(self.workspace_name)
        self.benchmarks = BenchmarkOperations(self.workspace_name)
        self.connections = ConnectionOperations(self.workspace_name)

    @classmethod
    def from_config(
        cls, credential: Any = None, *, path: Any = None, file_name: str | None = None, **kwargs: Any
    ) -> MLClient:
        """Like the cloud's; the ``config.json`` it would read is ignored (the workspace comes from
        STUDIO_WORKSPACE, else 'default')."""
        return cls(credential)

    def create_or_update(self, entity: Any, **kwargs: Any) -> Any:
        """The cloud's shortcut: a job, data asset or component goes to ``jobs``, ``data`` or ``components``."""
        from studio.ml import remote

        if isinstance(self.jobs, remote.RemoteOperations):
            return remote.call(self.workspace_name, "", "create_or_update", (entity,), kwargs)
        from backend.errors import ValidationError
        from studio.ml.entities import CommandComponent, Data, Job, Model

        for kind, operations in (
            (Job, self.jobs),
            (Data, self.data),
            (CommandComponent, self.components),
            (Model, self.models),
        ):
            if isinstance(entity, kind):
                return operations.create_or_update(entity, **kwargs)
        raise ValidationError(
            f"create_or_update: a {type(entity).__name__} cannot be created here (jobs, Data, components, Model)"
        )

    def __repr__(self) -> str:
        return f"MLClient(workspace_name={self.workspace_name!r})"


__all__ = ["MLClient"]
