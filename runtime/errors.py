"""The one error tree of the ``runtime`` package: the tools around the app on this host.

Everything the package raises is a ``RuntimeSetupError``: the chrooted Asterisk, the prompt
files (espeak-ng, sox) and the call simulator (sipp and our own HTTP API as a volunteer uses it).
An unknown prompt id or language is the ``ivr`` catalogue's ``UnknownPrompt`` and passes through
:func:`runtime.prompts.generate_prompts` unchanged: it is raised before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class RuntimeSetupError(Exception):
    """Base of every error the ``runtime`` package raises (not the builtin ``RuntimeError``)."""


# -- the Asterisk runtime (runtime.asterisk) ---------------------------------------------------


class AsteriskError(RuntimeSetupError):
    """Base of every error raised by the Asterisk runtime."""


class AsteriskSetupError(AsteriskError):
    """The Asterisk root cannot be built here (not root, no mmdebstrap, mirror unreachable)."""


class AsteriskStartError(AsteriskError):
    """Asterisk did not come up (or did not stop); the message carries the tail of its log."""


class AsteriskCliError(AsteriskError):
    """``asterisk -rx`` failed, usually because Asterisk is not running."""


# -- prompt files (runtime.prompts) ------------------------------------------------------------


class PromptError(RuntimeSetupError):
    """A prompt file problem."""


class MissingPrompt(PromptError):
    """Prompt files that a call may need do not exist; ``missing`` names them."""

    def __init__(self, missing: Sequence[Path]) -> None:
        self.missing = list(missing)
        shown = ", ".join(str(p) for p in self.missing[:10])
        more = f" and {len(self.missing) - 10} more" if len(self.missing) > 10 else ""
        super().__init__(
            f"{len(self.missing)} prompt file(s) missing: {shown}{more}"
            " (run 'helpline prompts generate', or record them)"
        )


class PromptGenerationError(PromptError):
    """espeak-ng or sox is missing or failed; the message says which prompt and why."""


# -- the helpline's own Redis (runtime.redis_server) -----------------------------------------


class RedisSetupError(RuntimeSetupError):
    """The helpline's own Redis did not start, or one answering there refuses our password."""


# -- the call simulator (runtime.simulate, runtime.phone_pool) ---------------------------------


class SimulationError(RuntimeSetupError):
    """Base of the errors of the simulation tools."""


class SippMissing(SimulationError):
    """sipp is not installed (Debian package ``sip-tester``)."""


class SippFailed(SimulationError):
    """A sipp process did not do what its scenario says (e.g. the REGISTER was refused)."""


class NoFreePorts(SimulationError):
    """Every port block tried was in use."""


class ApiError(SimulationError):
    """The helpline HTTP API refused a request (or did not answer)."""
