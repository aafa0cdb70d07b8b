"""Engine, sessions and schema migrations."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)
from sqlmodel import Session, create_engine

from backend.errors import ConflictError, UnavailableError
from backend.settings import get_settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# How long a write waits for another process's write lock (SQLite retries within it). The agent never
# holds the lock across slow work, so a wait this long means something is wrong: say so in one line.
SQLITE_BUSY_TIMEOUT_MS = 5_000
BUSY_MESSAGE = (
    "the studio database is busy: another Studio process held its write lock for over "
    f"{SQLITE_BUSY_TIMEOUT_MS // 1000} s; try again"
)

_schema_lock = threading.Lock()
_schema_ready: set[str] = set()


def redact_url(url: str) -> str:
    """The URL as it may be shown to a person: never with its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


_engines: dict[tuple[str, str | None], Engine] = {}


def _engine_for(url: str, schema: str | None) -> Engine:
    key = (url, schema)
    if key not in _engines:
        _engines[key] = _make_engine(url, schema)
    return _engines[key]


def private_file(path: Path) -> None:
    """Create ``path`` readable by its owner only (mode 0600), or make it so; SQLite's ``-wal`` and
    ``-shm`` files take the database file's mode."""
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


def _make_engine(url: str, schema: str | None) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_file(Path(parsed.database))
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # WAL lets the UI read while the agent writes
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    connect_args = {"connect_timeout": 5}
    if schema:
        connect_args["options"] = f"-csearch_path={schema}"
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def get_engine() -> Engine:
    settings = get_settings()
    try:
        return _engine_for(settings.resolved_database_url, settings.database_schema)
    except (ArgumentError, ImportError) as exc:
        raise UnavailableError(
            f"STUDIO_DATABASE_URL {redact_url(settings.resolved_database_url)!r} is not a usable "
            f"database URL ({exc}); use sqlite:///path or postgresql://user@host:port/db"
        ) from None


def dispose_engines() -> None:
    """Close every pooled connection (tests switch databases between cases)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
    _schema_ready.clear()


def migrate(engine: Engine | None = None) -> None:
    """Apply every Alembic migration that the database lacks (one process at a time per database)."""
    from alembic import command
    from alembic.config import Config

    engine = engine or get_engine()
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with _migration_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # held until this transaction ends
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(current_schema()), 14)"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """On SQLite, an exclusive lock on a file beside the database while migrating: processes that
    start together on a new database migrate it once, one after the other, without a busy error."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    import fcntl
    import os

    lock = Path(f"{database}.migrate-lock")
    private_file(lock)
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def script_heads() -> frozenset[str]:
    """The head revisions of the migration scripts, read from their files without importing Alembic."""
    global _heads
    if _heads is None:
        import ast
        import re

        revisions: set[str] = set()
        parents: set[str] = set()
        for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
            source = script.read_text()
            found = re.search(r"^revision\b[^=\n]*=\s*(.+)$", source, re.MULTILINE)
            down = re.search(r"^down_revision\b[^=\n]*=\s*(.+)$", source, re.MULTILINE)
            if not found:
                continue
            revisions.add(ast.literal_eval(found.group(1).strip()))
            down_value = ast.literal_eval(down.group(1).strip()) if down else None
            if isinstance(down_value, str):
                parents.add(down_value)
            elif down_value:
                parents.update(down_value)
        _heads = frozenset(revisions - parents)
    return _heads


_heads: frozenset[str] | None = None


def database_revisions(conn: Connection) -> frozenset[str] | None:
    """The revisions the database is stamped with (None when it has no ``alembic_version`` table)."""
    try:
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except (OperationalError, ProgrammingError):
        conn.rollback()
        return None
    conn.rollback()
    return frozenset(rows)


_seeds: list[Callable[[Session], None]] = []


def register_seed(seed: Callable[[Session], None]) -> None:
    """Run ``seed(session)`` after migrating (once per process and database), e.g. to create the
    ``default`` workspace: rows above this layer's knowledge, registered by the services."""
    if seed not in _seeds:
        _seeds.append(seed)


def ensure_schema() -> None:
    """Make sure the schema is at the scripts' head, once per process, then run the registered seeds.
    A database already at the head costs one query: Alembic is imported only to upgrade one."""
    settings = get_settings()
    key = f"{settings.resolved_database_url}|{settings.database_schema}"
    if key in _schema_ready:
        return
    with _schema_lock:
        if key in _schema_ready:
            return
        engine = get_engine()
        try:
            with engine.connect() as conn:  # fail fast and clearly when the server is unreachable
                conn.execute(text("SELECT 1"))
                conn.rollback()
                current = database_revisions(conn)
        except (OperationalError, InterfaceError, ArgumentError) as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise UnavailableError(
                f"cannot reach the database at {redact_url(settings.resolved_database_url)} "
                f"(STUDIO_DATABASE_URL): {reason}"
            ) from None
        if current != script_heads():
            migrate(engine)
        for seed in _seeds:
            _run_seed(engine, seed)
        _schema_ready.add(key)


def _run_seed(engine: Engine, seed: Callable[[Session], None]) -> None:
    """Run ``seed`` in a unit of work; once more when another process, starting at the same moment,
    created the same rows first (its insert wins, this one finds them the second time)."""
    for attempt in (1, 2):
        with Session(engine, expire_on_commit=False, info={"system": True}) as session:
            try:
                seed(session)
                session.commit()
                return
            except (IntegrityError, ConflictError):
                session.rollback()
                if attempt == 2:
                    raise


def _is_busy(exc: OperationalError) -> bool:
    return "database is locked" in str(exc.orig or exc) or "database table is locked" in str(exc.orig or exc)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work: committed when the block ends, rolled back when it raises."""
    ensure_schema()
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except OperationalError as exc:
            session.rollback()
            if _is_busy(exc):
                raise UnavailableError(BUSY_MESSAGE) from None
            raise
        except BaseException:
            session.rollback()
            raise


# --- who changed what (team mode: backend.identity) ---------------------------------------------------------


def _audit_flush(session, _flush_context, _instances) -> None:
    """Every row a signed-in user's unit of work writes: checked against their role, then recorded."""
    from backend import identity
    from backend.db.models import AuditEvent

    user = identity.current()
    if user is None or session.info.get("system"):
        return
    changes = [("created", o) for o in session.new]
    changes += [("changed", o) for o in session.dirty if session.is_modified(o)]
    changes += [("deleted", o) for o in session.deleted]
    for action, row in changes:
        kind = getattr(row, "__tablename__", type(row).__name__.lower())
        if kind in identity.NOT_AUDITED:
            continue
        identity.check_change(kind)
        session.add(
            AuditEvent(
                user=user.name,
                role=user.role,
                action=action,
                kind=kind,
                name=str(getattr(row, "name", "") or "")[:255],
                workspace_id=getattr(row, "workspace_id", None) if kind != "workspace" else row.id,
            )
        )


def _audit_statement(state) -> None:
    """An UPDATE or DELETE statement run by a signed-in user (a status change, a bulk delete)."""
    from backend import identity
    from backend.db.models import AuditEvent

    user = identity.current()
    if user is None or state.session.info.get("system") or not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    kind = mapper.local_table.name if mapper is not None else "?"
    if kind in identity.NOT_AUDITED:
        return
    identity.check_change(kind)
    where = state.statement.whereclause
    try:
        detail = str(where.compile(compile_kwargs={"literal_binds": True})) if where is not None else ""
    except Exception:  # a value without a literal form: the statement's shape is enough
        detail = str(where)
    state.session.add(
        AuditEvent(
            user=user.name,
            role=user.role,
            action="deleted" if state.is_delete else "changed",
            kind=kind,
            detail=detail[:500],
        )
    )


def record_change(
    session, *, action: str, kind: str, name: str, workspace_id: int | None, detail: str = ""
) -> None:
    """Record a signed-in user's change that writes no row of this database (the model registry)."""
    from backend import identity
    from backend.db.models import AuditEvent

    user = identity.current()
    if user is not None:
        session.add(
            AuditEvent(
                user=user.name,
                role=user.role,
                action=action,
                kind=kind,
                name=name,
                workspace_id=workspace_id,
                detail=detail,
            )
        )


event.listen(Session, "before_flush", _audit_flush)
event.listen(Session, "do_orm_execute", _audit_statement)
