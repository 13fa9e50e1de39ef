"""The live state bus's projection: the ACD core's state as numbered, scoped deltas.

Sans-IO: ``LiveView.observe`` is fed by the engine's writer; the web layer sends ``render``
of each delta to each browser and ``snapshot`` to a browser that (re)connects.
"""

from live.delta import Delta, Scope, render
from live.records import AgentView, ChannelFigures, ContactView, QueueFigures
from live.view import DEFAULT_TZ, LiveView

__all__ = [
    "DEFAULT_TZ",
    "AgentView",
    "ChannelFigures",
    "ContactView",
    "Delta",
    "LiveView",
    "QueueFigures",
    "Scope",
    "render",
]
