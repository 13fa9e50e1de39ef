"""The contact session: one sans-IO machine per contact, owning its legs and bridges.

The ACD decides *who* takes a contact; the session decides *how* the parties are joined:
which legs exist (caller, volunteer, partner, supervisor), which bridge each is in, and what
the caller hears until someone answers (the IVR, driven from here). Events in, commands out,
time passed in; see ``session.machine.ContactSession``.
"""

from session.commands import (
    AddToBridge,
    Answer,
    CreateBridge,
    DeleteBridge,
    Hangup,
    Originate,
    Play,
    RecheckPhone,
    RemoveFromBridge,
    SessionClosed,
    StartMoh,
    StopMoh,
    StopPlayback,
    ToAcd,
    WriteRecord,
)
from session.errors import SessionError, UnknownLeg
from session.events import (
    AcdConnect,
    AcdFinished,
    AcdOffer,
    AcdOverflow,
    AcdWithdraw,
    CallerDigit,
    EffectFailed,
    LegAnswered,
    LegGone,
    PromptDone,
)
from session.ids import LegRole, hold_bridge_id, leg_id, parse_bridge_id, parse_leg_id
from session.machine import ContactSession, QueueNews
from session.states import LegState, SessionState

__all__ = [
    "AcdConnect",
    "AcdFinished",
    "AcdOffer",
    "AcdOverflow",
    "AcdWithdraw",
    "AddToBridge",
    "Answer",
    "CallerDigit",
    "ContactSession",
    "CreateBridge",
    "DeleteBridge",
    "EffectFailed",
    "Hangup",
    "LegAnswered",
    "LegGone",
    "LegRole",
    "LegState",
    "Originate",
    "Play",
    "PromptDone",
    "QueueNews",
    "RecheckPhone",
    "RemoveFromBridge",
    "SessionClosed",
    "SessionError",
    "SessionState",
    "StartMoh",
    "StopMoh",
    "StopPlayback",
    "ToAcd",
    "UnknownLeg",
    "WriteRecord",
    "hold_bridge_id",
    "leg_id",
    "parse_bridge_id",
    "parse_leg_id",
]
