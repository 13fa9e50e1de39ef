"""Refuse to run with a secret anyone can read in this repository, unless in a demo.

The admin token, the ARI and AMI passwords, the chat's token key, the Redis password (none at
all counts as a default: any local user could then write ``helpline:session:<hash>`` and be any
volunteer) and the configured volunteers' passwords are checked. ``[helpline] demo = true``
allows them, for a demo on a laptop or a test; a real helpline runs with the generated secrets
file.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from config.errors import ConfigError
from config.secrets import is_known_default, secrets_path
from config.settings import HelplineConfig


def default_secrets(cfg: HelplineConfig) -> list[str]:
    """The keys that hold a known default value (names only: a value is never shown)."""
    found: list[str] = []
    if cfg.http.admin_token is not None and is_known_default(cfg.http.admin_token):
        found.append("http.admin_token")
    if is_known_default(cfg.asterisk.ari_password):
        found.append("asterisk.ari_password")
    if is_known_default(cfg.asterisk.ami_password):
        found.append("asterisk.ami_password")
    try:
        redis_password = urlsplit(cfg.redis.url).password
    except ValueError:  # a malformed port: redis-py will say so; the password is what we check
        redis_password = None
    if not redis_password or is_known_default(redis_password):
        found.append("redis.url (no password)" if not redis_password else "redis.url")
    if cfg.chat.token_key is not None and is_known_default(cfg.chat.token_key):
        found.append("chat.token_key")
    for i, volunteer in enumerate(cfg.volunteers):
        if is_known_default(volunteer.password):
            found.append(f"volunteers[{i}].password")
    return found


def refuse_known_secrets(cfg: HelplineConfig) -> None:
    """Raise ConfigError naming every key with a known default, unless ``[helpline] demo``."""
    if cfg.helpline.demo:
        return
    found = default_secrets(cfg)
    if found:
        raise ConfigError(
            f"known default secrets: {', '.join(found)}. Run `make up` to generate real ones "
            f"into {secrets_path()}, or set `demo = true` in [helpline] for a demo only"
        )
