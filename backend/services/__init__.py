"""Business rules. Pages, the CLI and the SDK call these and nothing below them.

Every service takes keyword-only arguments with the session first and returns plain
pydantic models, never table rows. ``open_session()`` gives a unit of work.
"""

from backend.db import session_scope as open_session
from backend.services.errors import (
    ConflictError,
    NotFoundError,
    StudioError,
    UnavailableError,
    ValidationError,
)

__all__ = [
    "ConflictError",
    "NotFoundError",
    "StudioError",
    "UnavailableError",
    "ValidationError",
    "open_session",
]
