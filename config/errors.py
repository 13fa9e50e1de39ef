"""The one error tree of the ``config`` package."""

from __future__ import annotations


class ConfigError(Exception):
    """The configuration file is missing, unreadable or invalid; the message names the key."""
