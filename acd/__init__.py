"""The ACD core: a sans-IO automatic call distributor.

Events in, commands out, time passed in. No I/O, no clock, no threads: see ``acd.core.Acd``.
"""

from acd.commands import (
    AgentStateChanged,
    Command,
    ConnectContact,
    ContactFinished,
    OfferContact,
    OverflowContact,
    WithdrawOffer,
)
from acd.core import Acd
from acd.errors import (
    AcdError,
    DuplicateContact,
    IllegalTransition,
    InvalidEvent,
    StaleOffer,
    UnknownAgent,
    UnknownContact,
    UnknownStrategy,
)
from acd.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReachability,
    AgentReady,
    Channel,
    ContactArrived,
    ContactEnded,
    Event,
    OfferAccepted,
    OfferFailed,
    OfferFailure,
    WrapUpEnded,
)
from acd.settings import AcdSettings
from acd.states import AgentState, ContactState, Outcome
from acd.strategy import RoutingStrategy, register_strategy, strategy_by_name

__all__ = [
    "Acd",
    "AcdError",
    "AcdSettings",
    "AgentLoggedIn",
    "AgentLoggedOut",
    "AgentPaused",
    "AgentReachability",
    "AgentReady",
    "AgentState",
    "AgentStateChanged",
    "Channel",
    "Command",
    "ConnectContact",
    "ContactArrived",
    "ContactEnded",
    "ContactFinished",
    "ContactState",
    "DuplicateContact",
    "Event",
    "IllegalTransition",
    "InvalidEvent",
    "OfferAccepted",
    "OfferContact",
    "OfferFailed",
    "OfferFailure",
    "Outcome",
    "OverflowContact",
    "RoutingStrategy",
    "StaleOffer",
    "UnknownAgent",
    "UnknownContact",
    "UnknownStrategy",
    "WithdrawOffer",
    "WrapUpEnded",
    "register_strategy",
    "strategy_by_name",
]
