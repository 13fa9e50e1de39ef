"""What every ``helpline`` subcommand shares: loading the configuration or saying why not."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from config.errors import ConfigError
from config.settings import HelplineConfig, load_config
from storage.db import make_engine, migrate
from storage.errors import StorageError


def config_or_report(args: argparse.Namespace) -> HelplineConfig | None:
    """The configuration named by ``-c``; on error print one line and return ``None``."""
    try:
        return load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


EXIT_OK = 0
EXIT_FAILURE = 1
"""The database (or something else outside the operator's control) failed."""
EXIT_USAGE = 2
"""The operator can fix it: bad config, unknown id, invalid value."""


def one_line(exc: BaseException) -> str:
    """The first line of an error: driver messages span several lines (SQL, hints)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def run_with_database(
    prog: str,
    config: str | None,
    user_errors: tuple[type[BaseException], ...],
    body: Callable[[HelplineConfig, Engine], None],
) -> int:
    """Load the config, migrate the database, run ``body`` and map errors to exit codes."""
    engine: Engine | None = None
    operator_errors: tuple[type[BaseException], ...] = (ConfigError, *user_errors)
    try:
        cfg = load_config(config)
        engine = make_engine(cfg.database.url)
        migrate(engine)
        body(cfg, engine)
    except operator_errors as exc:
        print(f"{prog}: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except (StorageError, SQLAlchemyError) as exc:
        print(f"{prog}: database error: {one_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        if engine is not None:
            engine.dispose()
    return EXIT_OK
