"""The engine: the one writer that feeds every input to the sans-IO machines.

ARI events (through a router), HTTP requests, deadlines and the outcomes of effects all go
through one queue, drained by one task (``engine.writer.Engine``). It awaits nothing but the
write-ahead journal; effects are handed to effectors (``engine.lanes``) that run them in
order per contact, concurrently across contacts, and report back as one more input.
"""

from engine.errors import EngineError, EngineStopped
from engine.inputs import AcdRequest, EffectOutcome, Request, Tick
from engine.lanes import Lanes
from engine.protocols import ChatEffector, Effector, Journal, RecordSink, Router, Session
from engine.writer import Engine

__all__ = [
    "AcdRequest",
    "ChatEffector",
    "EffectOutcome",
    "Effector",
    "Engine",
    "EngineError",
    "EngineStopped",
    "Journal",
    "Lanes",
    "RecordSink",
    "Request",
    "Router",
    "Session",
    "Tick",
]
