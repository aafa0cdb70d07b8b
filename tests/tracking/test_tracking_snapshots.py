"""A cursor left unread keeps a read transaction open on its connection (a lock writers wait for, or in WAL
mode an old snapshot); the tracking server's workers close such cursors when a connection goes back to the
pool (``studio.tracking_store.close_cursors``)."""

from __future__ import annotations

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool, QueuePool

from studio.tracking_store import close_cursors, remember_cursor, sqlite_pragmas


def test_a_pooled_connection_sees_what_others_committed_after_a_result_was_left_unread(tmp_path):
    event.listen(Engine, "connect", sqlite_pragmas)
    event.listen(Engine, "after_cursor_execute", remember_cursor)
    event.listen(Pool, "checkin", close_cursors)
    engine = create_engine(
        f"sqlite:///{tmp_path / 'store.db'}", poolclass=QueuePool, pool_size=1, max_overflow=0
    )
    writer = create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE models (id INTEGER)"))
            conn.execute(text("INSERT INTO models VALUES (1), (2), (3)"))
        with engine.connect() as conn:
            left = conn.execute(text("SELECT id FROM models"))
            left.fetchone()  # read one row of three, and let go of the result (as a request may)
        with writer.begin() as conn:
            conn.execute(text("INSERT INTO models VALUES (4)"))
        with engine.connect() as conn:  # the same pooled connection (pool of one)
            assert conn.execute(text("SELECT count(*) FROM models")).scalar() == 4
    finally:
        event.remove(Engine, "connect", sqlite_pragmas)
        event.remove(Engine, "after_cursor_execute", remember_cursor)
        event.remove(Pool, "checkin", close_cursors)
        engine.dispose()
        writer.dispose()
