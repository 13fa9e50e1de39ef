"""What an ARI originate to a partner needs, so the partner sees the helpline and nothing else.

The partner's leg is an ARI originate of ``partner_endpoint(number)``
(``PJSIP/<number>@carrier-out``, rendered in pjsip.py) with ``callerId=partner_caller_id(cfg)``.
No channel variables are needed: ARI sets the originated channel's caller ID *and* connected
line from ``callerId`` with presentation allowed, and chan_pjsip builds the INVITE's From from
that connected line (tests/integration/test_partner_dial_out.py checks the INVITE a partner
receives, with and without ``originator``).

``callerId`` is not optional. Without it the From would be built from whatever the dial copies
from the ``originator``'s caller: nothing for the child (anonymised before our app saw it), but
a volunteer's phone if the volunteer's channel were the originator. A ``from_user`` on the
endpoint would pin the number but drops the display name, so the originate carries it.

The carrier-out endpoint sends no PAI, RPID or Diversion and no connected-line updates, so
nothing else names anyone.
"""

from __future__ import annotations

from config.settings import HelplineConfig
from dialplan.pjsip import CARRIER_OUT, partner_endpoint

__all__ = ["CARRIER_OUT", "partner_caller_id", "partner_endpoint"]

# Characters that would end or confuse the quoted display name of "Name" <number>.
_NAME_DROP = frozenset('"<>\\')


def partner_caller_id(cfg: HelplineConfig) -> str:
    """ARI ``callerId`` for a partner's leg: ``"De Kindertelefoon" <116111>``.

    The number is ``[transfer] caller_id`` (default: the first line's first number); the name
    is ``[helpline] name``, without quotes, angle brackets or control characters.
    """
    name = "".join(
        ch for ch in cfg.helpline.name if ch not in _NAME_DROP and ch.isprintable()
    ).strip()
    number = cfg.transfer_caller_id()
    return f'"{name}" <{number}>' if name else f"<{number}>"
