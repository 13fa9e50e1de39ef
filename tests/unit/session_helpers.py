"""Scripting helpers for the contact session tests (in the manner of ``acd_helpers``).

A ``SessionScript`` drives one ``ContactSession`` with its real IVR at a fake ``now``, keeps
every command it returned, and exposes the session's recorded ``history`` of states.
"""

from __future__ import annotations

import uuid

import acd
from acd import ContactFinished, Outcome
from ivr import flow
from ivr.ivr_config import IvrSection, LineMenu
from session import commands as c
from session import events as e
from session.ids import LegRole, hold_bridge_id, leg_id, talk_bridge_id
from session.machine import ContactSession, Leg, QueueNews
from session.states import LegState, SessionState

CID = str(uuid.UUID(int=0x116111))
CALLER = "1733150000.42"
"""The caller's channel: Asterisk's id, never ours."""
LINE = "kindertelefoon"
SHOWN = '"Kindertelefoon" <116111>'
HOLD = hold_bridge_id(CID)
TALK = talk_bridge_id(CID)
MENU = LineMenu(options={"1": "nl", "2": "en"}, timeout_s=5.0)
S = SessionState


def vol(token: int) -> str:
    """The channel id of the volunteer leg of offer ``token``."""
    return leg_id(LegRole.VOLUNTEER, CID, token)


def ptn(n: int = 1) -> str:
    return leg_id(LegRole.PARTNER, CID, n)


def pb(n: int) -> str:
    """The n-th playback id of this contact's IVR."""
    return f"{CID}-p{n}"


def sound(*prompts: str) -> tuple[str, ...]:
    return tuple(f"sound:helpline/{p}" for p in prompts)


def done(outcome: Outcome = Outcome.ANSWERED, *, language: str | None = "nl") -> ContactFinished:
    """The ACD's account of this contact."""
    answered = 2.0 if outcome is Outcome.ANSWERED else None
    agent = "v1" if outcome is Outcome.ANSWERED else None
    return ContactFinished(
        CID, acd.Channel.PHONE, outcome, 0, language, 1.0, answered, 9.0, agent, None, None, None
    )


def originate(token: int, agent: str = "v1", ring_s: float = 4.0) -> c.Originate:
    timeout = int(ring_s + 0.999) + 5
    return c.Originate(CID, vol(token), LegRole.VOLUNTEER, f"PJSIP/{agent}", timeout, CALLER, SHOWN)


def enqueued(language: str = "nl", *, answer: bool = True) -> list[c.Command]:
    """What the session says when its IVR queues the caller: the ACD first (a free phone rings
    at once), then answer, holding bridge, caller in it; then music."""
    arrived = acd.ContactArrived(CID, acd.Channel.PHONE, language=language, priority=0)
    return [
        c.ToAcd(arrived),
        *([c.Answer(CID, CALLER)] if answer else []),
        c.CreateBridge(CID, HOLD, "holding"),
        c.AddToBridge(CID, HOLD, (CALLER,)),
        c.StartMoh(CID, True, HOLD),
    ]


def connected(token: int, *, playing: str | None = None) -> list[c.Command]:
    """What the session says when the ACD connects the volunteer of offer ``token``."""
    stop = [c.StopPlayback(CID, playing)] if playing else [c.StopMoh(CID, True, HOLD)]
    return [
        *stop,
        c.CreateBridge(CID, TALK, "mixing"),
        c.RemoveFromBridge(CID, HOLD, CALLER),
        c.AddToBridge(CID, TALK, (CALLER, vol(token))),
        c.DeleteBridge(CID, HOLD),
    ]


def cleaned_up(*legs: str, caller: bool) -> list[c.Command]:
    """The last words of a session: legs (and the caller) hung up, bridges gone, closed."""
    return [
        *(c.Hangup(CID, leg) for leg in legs),
        *([c.Hangup(CID, CALLER)] if caller else []),
        c.DeleteBridge(CID, HOLD),
        c.DeleteBridge(CID, TALK),
        c.SessionClosed(CID),
    ]


class SessionScript:
    """Drives one ``ContactSession`` and records every command it returned."""

    def __init__(self, *, welcome: bool = False, ivr: bool = True, **settings: object) -> None:
        section = IvrSection(welcome=welcome, **settings)  # type: ignore[arg-type]
        self.session = ContactSession(
            CID,
            LINE,
            "nl",
            CALLER,
            presented_as=SHOWN,
            ivr=flow.IvrCall(CID, section) if ivr else None,
        )
        self.log: list[c.Command] = []

    def begin(
        self, now: float = 0.0, *, open: bool = True, menu: LineMenu | None = None
    ) -> list[c.Command]:
        entered = flow.CallEntered("nl", open, menu)
        return self._record(self.session.begin(entered, now))

    def feed(self, event: e.Event, now: float = 1.0) -> list[c.Command]:
        return self._record(self.session.handle(event, now))

    def timer(self, now: float | None = None, news: QueueNews | None = None) -> list[c.Command]:
        if now is None:
            now = self.session.next_deadline()
            assert now is not None, "no deadline pending"
        return self._record(self.session.handle_timer(now, news))

    def _record(self, out: list[c.Command]) -> list[c.Command]:
        self.log.extend(out)
        return out

    @property
    def state(self) -> SessionState:
        return self.session.state

    @property
    def history(self) -> list[SessionState]:
        return self.session.history

    # -- getting to a state ------------------------------------------------------------

    def queued(self) -> SessionScript:
        self.begin()
        return self

    def ringing(self, token: int = 1, agent: str = "v1") -> SessionScript:
        self.queued()
        self.feed(e.AcdOffer(agent, token, 4.0), 2.0)
        return self

    def talking(self, token: int = 1, agent: str = "v1") -> SessionScript:
        self.ringing(token, agent)
        self.feed(e.LegAnswered(vol(token)), 3.0)
        self.feed(e.AcdConnect(agent), 3.0)
        return self

    def add_partner(self, n: int = 1) -> str:
        channel = ptn(n)
        self.session.add_recovered_leg(Leg(channel, LegRole.PARTNER, LegState.UP))
        return channel
