"""Re-export of ``backend.errors`` for callers that think in services."""

from backend.errors import (  # noqa: F401
    ConflictError,
    NotFoundError,
    StudioError,
    UnavailableError,
    ValidationError,
)
