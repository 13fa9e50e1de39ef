"""``helpline registrations ...``: the anonymous wrap-up registrations.

``helpline registrations purge-notes`` deletes every note past its expiry now (the running app
does the same every hour); it prints how many. Exit codes: 0 ok, 2 for a bad config, 1 when
the database fails.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from sqlalchemy import Engine

from config.settings import HelplineConfig
from helpline.cli_support import run_with_database
from helpline.errors import CliUserError
from storage.registrations import RegistrationStore


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``registrations`` command group to the top-level parser."""
    parser = subparsers.add_parser("registrations", help="the anonymous wrap-up registrations")
    sub = parser.add_subparsers(dest="registrations_command", required=True)
    purge = sub.add_parser("purge-notes", help="delete the notes past their retention now")
    purge.set_defaults(func=_cmd_purge_notes)


def _cmd_purge_notes(args: argparse.Namespace) -> int:
    def body(cfg: HelplineConfig, engine: Engine) -> None:
        purged = RegistrationStore.from_config(engine, cfg).purge_notes(datetime.now(UTC))
        print(f"deleted the notes of {purged} registrations (past their retention)")

    return run_with_database("helpline registrations", args.config, (CliUserError,), body)
