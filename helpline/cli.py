"""The ``helpline`` console script.

Each subcommand lives in its own module that exposes ``register(subparsers)``; this module only
wires them together, so adding a subcommand never touches the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules that contribute subcommands. A module that is missing (a capability not built yet)
# is skipped so the CLI still works.
_SUBCOMMAND_MODULES = (
    "helpline.cli_asterisk",
    "helpline.cli_volunteer",
    "helpline.cli_config",
    "helpline.cli_run",
    "helpline.cli_simulate",
    "helpline.cli_hours",
    "helpline.cli_prompts",
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
    for name in _SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
