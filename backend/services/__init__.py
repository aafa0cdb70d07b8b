"""Business rules. Pages, the CLI and the SDK call these and nothing below them.

Every service takes keyword-only arguments with the session first and returns plain
pydantic models, never table rows. ``open_session()`` gives a unit of work.
"""

from backend.db import register_seed
from backend.db import session_scope as open_session
from backend.errors import (
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


def _seed_default_workspace(session) -> None:
    from backend.services.workspaces import ensure_default_workspace

    ensure_default_workspace(session=session)


# Every process that uses a service has the ``default`` workspace from its first unit of work on.
register_seed(_seed_default_workspace)
