"""Scripting helpers for the warm-transfer tests: a partner directory entry and the ids."""

from __future__ import annotations

from session import commands as c
from session import events as e
from session.ids import LegRole, partner_leg_id
from session.transfer import PartnerDial, TransferMode
from tests.unit.session_helpers import CALLER, CID, HOLD, TALK, SessionScript

VT = PartnerDial(
    "veilig-thuis",
    "Veilig Thuis",
    "PJSIP/08002000@carrier-out",
    '"De Kindertelefoon" <116111>',
    30,
)


def partner(n: int = 1, mode: str = "consult", region: str | None = "utrecht") -> str:
    """The channel id of the n-th partner leg."""
    return partner_leg_id(CID, n, mode, VT.partner_id, region)


def request(
    mode: TransferMode = TransferMode.CONSULT,
    agent: str = "v1",
    region: str | None = "utrecht",
    music: bool = True,
) -> e.TransferRequested:
    return e.TransferRequested(agent, VT, mode, region, music)


def step(name: str, agent: str = "v1") -> e.TransferStep:
    return e.TransferStep(agent, name)


def dial(n: int = 1, mode: str = "consult", region: str | None = "utrecht") -> c.Originate:
    return c.Originate(
        CID,
        partner(n, mode, region),
        LegRole.PARTNER,
        VT.endpoint,
        VT.ring_timeout_s,
        CALLER,
        VT.caller_id,
        VT.variables,
    )


def to_hold(music: bool = True) -> list[c.Command]:
    return [
        c.CreateBridge(CID, HOLD, "holding"),
        c.RemoveFromBridge(CID, TALK, CALLER),
        c.AddToBridge(CID, HOLD, (CALLER,)),
        *([c.StartMoh(CID, True, HOLD)] if music else []),
    ]


def back_to_talk() -> list[c.Command]:
    return [
        c.RemoveFromBridge(CID, HOLD, CALLER),
        c.AddToBridge(CID, TALK, (CALLER,)),
        c.DeleteBridge(CID, HOLD),
    ]


def effects(out: list[c.Command]) -> list[c.Command]:
    """The commands without the live bus's ``TransferChanged``."""
    return [x for x in out if not isinstance(x, c.TransferChanged)]


def states(s: SessionScript) -> list[str]:
    """Every transfer state the script's session reported, in order."""
    return [x.view.state for x in s.log if isinstance(x, c.TransferChanged)]
