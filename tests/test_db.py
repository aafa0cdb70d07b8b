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


def test_the_database_files_are_readable_by_their_owner_only(studio_home):
    from backend.services import open_session, workspaces

    ensure_schema()
    with open_session() as s:  # a write, so the -wal and -shm files exist
        workspaces.create_workspace(session=s, data=workspaces.WorkspaceCreate(name="private"))
    for name in ("studio.db", "studio.db-wal", "studio.db-shm"):
        path = studio_home / name
        assert path.exists(), name
        assert path.stat().st_mode & 0o777 == 0o600, (name, oct(path.stat().st_mode))


def test_a_write_lock_held_too_long_elsewhere_is_one_line_and_changes_nothing(studio_home):
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    ensure_schema()
    blocker = sqlite3.connect(studio_home / "studio.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process's long write transaction
    try:
        result = subprocess.run(
            [sys.executable, "-m", "studio.cli", "workspace", "create", "blocked"],
            cwd=REPO,
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the studio database is busy"), result.stderr
    from backend.services import open_session, workspaces

    with open_session() as s:
        assert "blocked" not in [w.name for w in workspaces.list_workspaces(session=s)]


def _alembic_config():
    from alembic.config import Config

    from backend.db import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def test_the_scripts_head_is_read_without_alembic_and_matches_alembics():
    from alembic.script import ScriptDirectory

    from backend.db import script_heads

    assert script_heads() == frozenset(ScriptDirectory.from_config(_alembic_config()).get_heads())


@pytest.mark.usefixtures("database")
def test_a_database_at_an_older_revision_is_upgraded_on_first_use():
    """The quick check (one query) must never skip a migration the database lacks."""
    from alembic import command

    from backend.db import database_revisions, dispose_engines, script_heads

    engine = get_engine()
    with engine.begin() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")  # an older Studio made this database
    dispose_engines()  # a new process: nothing known about this database yet
    ensure_schema()
    with get_engine().connect() as conn:
        assert database_revisions(conn) == script_heads()
        assert conn.exec_driver_sql("select count(*) from benchmark_run").scalar() == 0  # table of 0008


def test_a_database_at_the_head_is_not_migrated_again(monkeypatch):
    import backend.db as db

    ensure_schema()
    db.dispose_engines()
    monkeypatch.setattr(db, "migrate", lambda *a, **k: pytest.fail("migrated a database already at head"))
    ensure_schema()
