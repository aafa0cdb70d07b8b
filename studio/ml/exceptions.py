"""Exceptions the SDK raises besides the service layer's (``backend.errors``)."""

from __future__ import annotations

from backend.errors import StudioError


class JobException(StudioError):
    """A streamed job ended without completing (Failed or Canceled), as ``azure.ai.ml`` raises it."""

    def __init__(self, message: str, *, name: str, status: str, failure_reason: str | None = None):
        super().__init__(message)
        self.name = name
        self.status = status
        self.failure_reason = failure_reason


__all__ = ["JobException"]
