"""The one error tree of ``softphone``: the browser phone's edge (its SIP credentials).

The web layer never sees these: the composition root maps them to the web's own errors
(``helpline.sip_edge``), as it does for the engine's.
"""

from __future__ import annotations


class SoftphoneError(Exception):
    """Base of every error the ``softphone`` package raises."""


class NotServing(SoftphoneError):
    """This process does not talk to Asterisk (it stands by for the lease): no credential can
    be pushed from here now."""


class AsteriskConfigFailed(SoftphoneError):
    """Asterisk did not take a change of its dynamic configuration (unreachable, or refused:
    e.g. ``sorcery.conf`` maps no writable wizard for auth objects)."""
