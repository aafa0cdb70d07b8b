import sqlite3

import pytest

from backend.db import ensure_schema, get_engine, redact_url
from backend.errors import UnavailableError
from backend.settings import get_settings


def test_sqlite_runs_in_wal_mode_in_studio_home(studio_home):
    ensure_schema()
    db = studio_home / "studio.db"
    assert db.exists()
    with get_engine().connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    tables = {r[0] for r in sqlite3.connect(db).execute("select name from sqlite_master where type='table'")}
    assert {"workspace", "datastore", "alembic_version"} <= tables


def test_migrations_are_applied_once_and_are_idempotent(studio_home):
    from backend.db import migrate

    ensure_schema()
    migrate()  # a second run finds nothing to do
    with get_engine().connect() as conn:
        assert conn.exec_driver_sql("select count(*) from alembic_version").scalar() == 1


def test_a_bad_url_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("STUDIO_DATABASE_URL", "notadb://x")
    get_settings.cache_clear()
    with pytest.raises(UnavailableError, match="not a usable database URL"):
        ensure_schema()


def test_passwords_are_never_shown():
    assert redact_url("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"
