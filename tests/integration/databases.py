"""Throwaway SQL databases for the tests: the same body runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine

from storage import db

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@contextlib.contextmanager
def throwaway_postgres(prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL database on the machine's server; dropped afterwards. Yields its URL."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]
"""Parameters of a ``migrated`` fixture: the same test body on both databases."""


@contextlib.contextmanager
def migrated_backend(request: pytest.FixtureRequest, tmp_dir: Path) -> Iterator[Engine]:
    """The engine for ``request.param`` (a SQLite file in ``tmp_dir``, or ``pg_url``), migrated."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_dir}/helpline.db"
    else:
        url = request.getfixturevalue("pg_url")
    with migrated_engine(url) as engine:
        yield engine


@contextlib.contextmanager
def migrated_engine(url: str) -> Iterator[Engine]:
    """An engine on ``url`` with every migration applied; disposed afterwards."""
    engine = db.make_engine(url)
    db.migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()
