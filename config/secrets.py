"""Secrets kept outside the configuration file, filled into its ``${NAME}`` placeholders.

The shipped example holds no secret: its admin token, ARI/AMI/Redis passwords and demo
passwords are ``${HELPLINE_...}`` placeholders. ``load_config`` fills each from the environment,
else from the secrets file (``$HELPLINE_SECRETS``, by default ``/etc/helpline/secrets.env``,
``NAME=value`` lines, mode 0600) that ``helpline up`` generates. A placeholder without a value
is an error, never left in place: the literal text would otherwise pass as a long secret.

``KNOWN_DEFAULTS`` are values that were ever shipped in this repository (the example, the
docker ``.env.example``); the app refuses them outside a demo (see :mod:`config.known_defaults`,
and the docker entrypoint, which uses the same list).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from config.errors import ConfigError

SECRETS_FILE = Path("/etc/helpline/secrets.env")
"""Where ``helpline up`` keeps generated secrets; outside the repository, so never committed."""

PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
"""``${NAME}``: nothing else is touched, so a ``$`` inside a filled-in value stays as it is."""

GENERATED_SUFFIXES = ("_PASSWORD", "_TOKEN", "_SECRET")
"""Placeholders ``helpline up`` may invent a random value for; others (addresses) it may not."""

KNOWN_DEFAULTS = frozenset(
    {
        "change-me",
        "change-me-ari-secret",
        "change-me-ami-secret",
        "change-me-admin-token-0123456789",
        "demo-password-anna",
        "demo-password-bram",
        "demo-password-sanne",
    }
)
"""Every secret value this repository ever shipped; anyone can read them on GitHub."""


def is_known_default(value: str) -> bool:
    """A shipped value, anything still saying change-me, or an unfilled placeholder."""
    return value in KNOWN_DEFAULTS or "change-me" in value or "${" in value


def secrets_path() -> Path:
    """The secrets file in use: ``$HELPLINE_SECRETS``, else ``SECRETS_FILE``."""
    env = os.environ.get("HELPLINE_SECRETS")
    return Path(env) if env else SECRETS_FILE


def placeholders(text: str) -> list[str]:
    """The placeholder names in ``text``, each once, in order of appearance."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text)))


def read_secrets(path: Path) -> dict[str, str]:
    """``NAME=value`` lines (``#`` comments and blank lines skipped); {} when there is no file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Z][A-Z0-9_]*", name.strip()):
            raise ConfigError(f"{path}: line {number} is not NAME=value")  # no value shown
        values[name.strip()] = value.strip()
    return values


def fill(text: str, values: Mapping[str, str], source: str, secrets_file: Path) -> str:
    """``text`` with every ``${NAME}`` replaced from ``values``; ConfigError naming a missing one.

    Values must not hold a double quote, backslash or line break: they go into TOML strings.
    """

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        value = values.get(name)
        if value is None:
            raise ConfigError(
                f"{source}: ${{{name}}} has no value: set it in the environment or in "
                f"{secrets_file} (`make up` generates the secrets there)"
            )
        if any(c in value for c in '"\\\n\r'):
            raise ConfigError(f"{source}: the value of ${{{name}}} holds a quote, \\ or newline")
        return value

    return PLACEHOLDER.sub(one, text)


def fill_from_environment(text: str, source: str) -> str:
    """``fill`` with the environment first, then the secrets file (read only when needed)."""
    if not PLACEHOLDER.search(text):
        return text
    path = secrets_path()
    values = {**read_secrets(path), **os.environ}
    return fill(text, values, source, path)
