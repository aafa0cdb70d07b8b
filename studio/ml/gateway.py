"""What the agent's SDK gateway (``backend/agent/sdk_gateway.py``) runs for a notebook's kernel: one
``ml_client`` call, in the agent, as the instance's user. ``studio agent`` hands this function to the
gateway (the SDK is a layer above the agent)."""

from __future__ import annotations

from typing import Any


def dispatch(
    *, workspace: str, user: Any, group: str, method: str, args: list[Any], kwargs: dict[str, Any]
) -> Any:
    from backend.identity import acting_as
    from studio.ml import MLClient

    with acting_as(user):
        client = MLClient(workspace_name=workspace, _studio_user=user)
        target = getattr(client, group) if group else client
        call = getattr(target, method, None)
        if not callable(call):
            from backend.errors import ValidationError

            raise ValidationError(f"ml_client.{group + '.' if group else ''}{method} is not an SDK operation")
        result = call(*args, **kwargs)
        if type(result).__name__.endswith("Poller"):  # begin_*: done here, as the kernel cannot poll
            from studio.ml.operations._endpoint_operations import DonePoller

            return DonePoller(result.result())
        return result


__all__ = ["dispatch"]
