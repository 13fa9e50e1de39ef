"""The live state bus, assembled: the engine's steps -> the projection -> clients and Redis.

``LiveBus.attach`` loads the projection (``live.LiveView``) from the recovered core and
listens to the engine (``Engine.acd_observers``). Each step's deltas go, inside the writer and
without waiting, to the WebSocket hub (``web.live_hub``) and to the Redis Stream's buffer
(``storage.live_stream``), whose own task writes them out. Numbering continues from the
stream's last entry, so a new leader never reuses a number an old one published.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import acd
from acd import commands as cmd
from engine import Engine
from live import Delta, LiveView, Scope
from live.wallboard import DEFAULT_QUEUE_ALERT, Wallboard
from session.coaching_states import CoachingState, CoachingView
from session.transfer import TERMINAL, TransferState, TransferView
from web.live_hub import LiveHub

log = logging.getLogger(__name__)

SNAPSHOT_EVERY = 1000
"""Deltas between the supervisor-scope snapshots written beside the stream."""


class DeltaSink(Protocol):
    """Where deltas go besides the hub (``storage.live_stream.LiveStream`` is one)."""

    def publish(self, deltas: Sequence[dict[str, Any]]) -> None: ...

    def publish_snapshot(self, seq: int, state: dict[str, Any]) -> None: ...

    @property
    def needs_snapshot(self) -> bool:
        """Entries were dropped (Redis was away too long): readers need a newer snapshot."""
        ...


def delta_json(delta: Delta) -> dict[str, Any]:
    """A delta as stored in the stream: the change and who may see it."""
    return {
        "seq": delta.seq,
        "kind": delta.kind,
        "key": delta.key,
        "data": delta.data,
        "audience": sorted(delta.audience),
        "public": delta.public,
    }


class LiveBus:
    def __init__(
        self, view: LiveView, hub: LiveHub, sink: DeltaSink | None = None,
        *, snapshot_every: int = SNAPSHOT_EVERY,
    ) -> None:  # fmt: skip
        self.view = view
        self.hub = hub
        self.sink = sink
        self.snapshot_every = snapshot_every
        self._engine: Engine | None = None
        self._since_snapshot = 0

    def attach(self, engine: Engine) -> None:
        """Start from the engine's core as it is now (before the writer runs)."""
        self._engine = engine
        reset = self.view.load(engine.acd, engine.clock())
        self._publish([reset])
        self._snapshot()
        engine.acd_observers.append(self.on_step)
        engine.transfer_observers.append(self.on_transfer)
        engine.coaching_observers.append(self.on_coaching)
        engine.surge_observers.append(self.on_surge)

    def on_step(self, event: acd.Event | None, commands: list[cmd.Command]) -> None:
        engine = self._engine
        assert engine is not None
        deltas = self.view.observe(event, commands, engine.acd, engine.now())
        if deltas:
            self._publish(deltas)
            self._since_snapshot += len(deltas)
            lost = self.sink is not None and self.sink.needs_snapshot
            if lost or self._since_snapshot >= self.snapshot_every:
                self._snapshot()

    def on_transfer(self, transfer: TransferView) -> None:
        ended = TransferState(transfer.state) in TERMINAL
        deltas = [self.view.observe_transfer(transfer.to_json(), ended=ended)]
        deltas += self.view.refresh()  # the wallboard counts transfers in progress
        self._publish(deltas)
        self._since_snapshot += len(deltas)

    def publish(self, deltas: list[Delta]) -> None:
        """Deltas the view made outside the engine's steps (the wallboard's hours, Asterisk
        and alerts: ``helpline.wallboard``); on the event loop, like the steps."""
        if deltas:
            self._publish(deltas)
            self._since_snapshot += len(deltas)

    def on_coaching(self, coaching: CoachingView) -> None:
        ended = coaching.state == CoachingState.ENDED.value
        self._publish([self.view.observe_coaching(coaching.to_json(), ended=ended)])
        self._since_snapshot += 1

    def on_surge(self, on: bool) -> None:
        self._publish([self.view.observe_surge(on)])
        self._since_snapshot += 1

    def _publish(self, deltas: list[Delta]) -> None:
        self.hub.broadcast(deltas)
        if self.sink is not None:
            self.sink.publish([delta_json(d) for d in deltas])

    def _snapshot(self) -> None:
        self._since_snapshot = 0
        if self.sink is not None:
            self.sink.publish_snapshot(self.view.seq, self.view.snapshot(Scope.supervisor()))


def start_live_bus(
    engine: Engine,
    tz: ZoneInfo,
    sink: DeltaSink | None = None,
    seq: int = 0,
    *,
    queue_alert: int = DEFAULT_QUEUE_ALERT,
) -> LiveBus:
    """A bus over ``engine``, numbering after ``seq``, with its hub; attached and loaded.
    ``queue_alert``: the wallboard's "queue over threshold" (``[wallboard] queue_alert``)."""

    def line_of(contact_id: str) -> str | None:
        # The contact's session knows the line dialled (read inside the writer's step).
        session = engine.session_of(contact_id)
        return session.line_id if session is not None else None

    view = LiveView(tz, seq=seq, line_of=line_of, wallboard=Wallboard(queue_alert))
    bus = LiveBus(view, LiveHub(view.snapshot), sink)
    bus.attach(engine)
    return bus
