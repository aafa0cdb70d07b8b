"""Alembic environment: runs on the connection that ``backend.db.migrate`` hands over."""

from alembic import context
from sqlmodel import SQLModel

import backend.db.models  # noqa: F401  (registers the tables)

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    from backend.db import get_engine

    connection = get_engine().connect()

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
