"""Database engine and schema migrations (SQLite by default, PostgreSQL in production).

Migrations ship inside the package and are run programmatically, so an installed helpline
upgrades its own database without an alembic.ini on disk.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from storage.errors import MigrationError, StorageError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Key for pg_advisory_xact_lock: two processes starting at once must not both migrate.
_MIGRATION_LOCK_KEY = zlib.crc32(b"helpline-migrations")


def _prepare_sqlite_path(database: str | None) -> None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; for a SQLite file, create its directory first.

    Bound parameters are hidden from error messages so a failing statement never echoes
    hashes into a log.
    """
    parsed = make_url(url)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite:
        _prepare_sqlite_path(parsed.database)
    else:
        kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("hide_parameters", True)
    engine = create_engine(parsed, **kwargs)
    if is_sqlite and parsed.database not in (None, "", ":memory:"):

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets the CLI write while the running app reads; wait instead of failing.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.close()

    return engine


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest migration revision shipped with this version."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise MigrationError("no migrations found in the package")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(target: str | Engine, revision: str = "head") -> None:
    """Upgrade the database at ``target`` (URL or engine) to ``revision``; idempotent."""
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
            command.upgrade(alembic_config(conn), revision)
    except StorageError:
        raise
    except Exception as exc:  # alembic/driver errors become ours, with the cause kept
        raise MigrationError(f"migration to {revision} failed: {exc}") from exc
    finally:
        if isinstance(target, str):
            engine.dispose()


def downgrade(target: str | Engine, revision: str) -> None:
    """Downgrade the database to ``revision`` (``"base"`` drops everything we created)."""
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), revision)
    finally:
        if isinstance(target, str):
            engine.dispose()
