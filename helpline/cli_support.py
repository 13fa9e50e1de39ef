"""What every ``helpline`` subcommand shares: loading the configuration or saying why not."""

from __future__ import annotations

import argparse
import sys

from helpline.config import ConfigError, HelplineConfig, load_config


def config_or_report(args: argparse.Namespace) -> HelplineConfig | None:
    """The configuration named by ``-c``; on error print one line and return ``None``."""
    try:
        return load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
