"""The ``helpline`` console script.

Each subcommand lives in its own module that exposes ``register(subparsers)``; this module only
wires them together, so adding a subcommand never touches the others.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from helpline import (
    cli_asterisk,
    cli_hours,
    cli_live,
    cli_prompts,
    cli_registrations,
    cli_report,
    cli_run,
    cli_simulate,
    cli_surge,
    cli_volunteer,
)

# Modules that contribute subcommands, imported plainly: a missing one is an error, not a
# silently absent command.
_SUBCOMMAND_MODULES = (
    cli_asterisk,
    cli_volunteer,
    cli_run,
    cli_simulate,
    cli_hours,
    cli_prompts,
    cli_live,
    cli_report,
    cli_registrations,
    cli_surge,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="helpline", description=__doc__.splitlines()[0])
    parser.add_argument(
        "-c",
        "--config",
        default=None,
        help="TOML configuration (default: $HELPLINE_CONFIG, else the shipped example)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in _SUBCOMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
