"""Writing the security log: one fail2ban-friendly line per failed authentication.

    2026-12-02T17:30:00Z helpline-security: failed SIP auth account=vol-1 from=192.0.2.7 ...

The writer is a plain ``logging`` logger (``helpline-security``), so any layer can report a
failure with one call and the composition root decides where the lines go
(``attach_file``). Every field is reduced to a fixed vocabulary or a parsed IP address before
it is written: no text a remote party chose can reach the file, so no newline can forge a
line and no caller number can be recorded.
"""

from __future__ import annotations

import ipaddress
import logging
import logging.handlers
import re
import time
from pathlib import Path

LOGGER_NAME = "helpline-security"
"""Not a package name: the listener's own operational logs (``security.ami``) stay out."""

TAG = "helpline-security:"
"""What follows the time stamp on every line; the fail2ban filter anchors on it."""

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
"""UTC, second precision; fail2ban's ``%z`` reads the ``Z``."""

UNKNOWN = "unknown"
"""The account of a failure that names no volunteer account (an unknown name, a number)."""

CARRIER = "carrier"
"""The account of a failure from a trunk address: never banned, never named (see filter)."""

INVALID = "invalid"
"""The account of an API login whose id is not even shaped like a volunteer id."""

ACCOUNT_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,47}")
"""A volunteer id (config ``Identifier``): the only account text ever written."""

_logger = logging.getLogger(LOGGER_NAME)


def address_of(text: str | None) -> str:
    """A remote address as plain IP text, or ``unknown`` when ``text`` is not one.

    Accepts a bare address (aiohttp's ``request.remote``) or AMI's ``IPV4/UDP/192.0.2.7/5060``.
    """
    if not text:
        return UNKNOWN
    candidates = [text]
    parts = text.split("/")
    if len(parts) == 4:  # AMI: family/transport/address/port
        candidates.insert(0, parts[2])
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate.strip("[]")))
        except ValueError:
            continue
    return UNKNOWN


def failed_sip_auth(account: str, address: str, event: str, service: str = "SIP") -> None:
    """Record a failed authentication Asterisk reported.

    ``account`` must already be a known volunteer account or ``UNKNOWN``/``CARRIER``
    (``security.ami.describe`` decides); ``event`` is Asterisk's event name.
    """
    what = {"SIP": "SIP auth", "AMI": "AMI login"}.get(service, "auth")
    _write(what, _account(account), address_of(address), _word(event))


def failed_login(account: str, address: str | None) -> None:
    """Record a refused API login (unknown id, disabled account or wrong password alike).

    ``account`` is what the client typed: written only when it is shaped like a volunteer id.
    """
    _write("API login", _account(account), address_of(address), None)


def phone_replaced(account: str, address: str | None) -> None:
    """A new registration took a volunteer's phone over (Asterisk let it replace the one that
    was registered). Not a failure, so not a fail2ban line: an alert for staff to check that
    the volunteer moved to another phone themselves."""
    _logger.warning("phone replaced account=%s from=%s", _account(account), address_of(address))


def _account(account: str) -> str:
    return account if ACCOUNT_ID.fullmatch(account) else INVALID


def _word(text: str) -> str:
    return text if re.fullmatch(r"[A-Za-z]{1,40}", text) else UNKNOWN


def _write(what: str, account: str, address: str, event: str | None) -> None:
    suffix = f" event={event}" if event else ""
    _logger.warning("failed %s account=%s from=%s%s", what, account, address, suffix)


def formatter() -> logging.Formatter:
    """``<UTC time> helpline-security: <message>``."""
    fmt = logging.Formatter(f"%(asctime)s {TAG} %(message)s", TIME_FORMAT)
    fmt.converter = time.gmtime
    return fmt


def attach_file(path: Path) -> logging.Handler:
    """Send the security lines to ``path`` (appended); the caller removes the handler with
    ``detach`` when it stops. WatchedFileHandler: logrotate may move the file under us."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.WatchedFileHandler(path, encoding="utf-8")
    handler.setFormatter(formatter())
    _logger.addHandler(handler)
    _logger.setLevel(logging.WARNING)
    return handler


def detach(handler: logging.Handler) -> None:
    _logger.removeHandler(handler)
    handler.close()
