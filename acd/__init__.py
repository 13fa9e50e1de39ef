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
    NotConnected,
    StaleOffer,
    UnknownAgent,
    UnknownContact,
    UnknownStrategy,
)
from acd.events import (
    SURGE_SKILL,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReachability,
    AgentReady,
    Channel,
    ContactArrived,
    ContactEnded,
    ContactHandedOver,
    ContactReturned,
    Event,
    OfferAccepted,
    OfferFailed,
    OfferFailure,
    SurgeSwitched,
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
    "ContactHandedOver",
    "ContactReturned",
    "ContactState",
    "DuplicateContact",
    "Event",
    "IllegalTransition",
    "InvalidEvent",
    "NotConnected",
    "OfferAccepted",
    "OfferContact",
    "OfferFailed",
    "OfferFailure",
    "Outcome",
    "OverflowContact",
    "RoutingStrategy",
    "StaleOffer",
    "SURGE_SKILL",
    "SurgeSwitched",
    "UnknownAgent",
    "UnknownContact",
    "UnknownStrategy",
    "WithdrawOffer",
    "WrapUpEnded",
    "register_strategy",
    "strategy_by_name",
]
