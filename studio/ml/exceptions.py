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


class HttpResponseError(StudioError):
    """A scoring request answered with a status that is not 2xx (``online_endpoints.invoke``), as
    ``azure.core.exceptions.HttpResponseError``: ``status_code`` and the answer's body as ``message``."""

    def __init__(self, message: str, *, status_code: int, body: str = ""):
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.body = body


__all__ = ["HttpResponseError", "JobException"]
