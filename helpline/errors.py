"""The one error tree of the ``helpline`` package: the composition root and the CLI.

The CLI maps these, and the errors of the packages it calls, to one line on stderr and an exit
code (``helpline.cli_support``); nothing here carries a traceback to the operator.
"""

from __future__ import annotations


class HelplineError(Exception):
    """Base of every error the ``helpline`` package raises."""


class CliUserError(HelplineError):
    """A problem the operator can fix; printed as one line, exit code 2."""


class SystemNotUp(HelplineError):
    """The app or Asterisk of the configuration is not running (``helpline simulate``)."""
