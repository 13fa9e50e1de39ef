"""Fan-out of the live state bus to WebSocket clients, each with a bounded queue.

The engine's writer calls :meth:`LiveHub.broadcast` inside its step with the deltas of the
projection (``live.LiveView``); it never waits: each client's messages go into its own
bounded queue and a task per connection sends them. A client whose queue is full (a stalled
browser, a tab in the background on a slow link) loses its queue and gets a fresh snapshot
when it reads again: memory stays bounded whatever one client does.

A reconnecting client names the last ``seq`` it saw. If the deltas after it are still in the
replay buffer (the newest ``replay`` deltas of this process) it gets just those; otherwise
(too old, or from before this process took over the queue) it gets a snapshot.

Rendering is per scope (``live.render``): a volunteer's client only ever receives its own
record, its own offers and contacts, and the queue figures. Each delta is turned into JSON
once per audience, not once per client.
"""

from __future__ import annotations

import asyncio
import collections
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from live import Delta, Scope, render

CLIENT_QUEUE = 512
"""Messages a client may have waiting before it is given a snapshot instead."""

REPLAY = 20_000
"""Deltas kept for reconnecting clients (a few minutes of a busy evening)."""


def _dumps(message: dict[str, object]) -> str:
    return json.dumps(message, separators=(",", ":"))


@dataclass(eq=False, slots=True)
class Subscription:
    """One connected client: its scope and its bounded queue of JSON texts."""

    scope: Scope
    limit: int
    queue: collections.deque[str] = field(default_factory=collections.deque)
    needs_snapshot: bool = True
    """Set at start (unless resumed) and after an overflow: the next read is a snapshot."""
    overflows: int = 0
    """How often this client fell behind (each cost it its queue)."""
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False

    def push(self, text: str) -> None:
        if self.needs_snapshot:
            return  # the snapshot it will get already holds this change
        if len(self.queue) >= self.limit:
            self.queue.clear()
            self.needs_snapshot = True
            self.overflows += 1
        else:
            self.queue.append(text)
        self.wake.set()


class LiveHub:
    """Keeps the connected clients and the replay buffer; all methods run on the loop."""

    def __init__(
        self,
        snapshot: Callable[[Scope], dict[str, object]],
        *,
        client_queue: int | None = None,
        replay: int = REPLAY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._snapshot = snapshot
        self._client_queue = CLIENT_QUEUE if client_queue is None else client_queue
        self._replay: collections.deque[Delta] = collections.deque(maxlen=replay)
        self._clock = clock
        self._supervisors: set[Subscription] = set()
        self._volunteers: dict[str, set[Subscription]] = {}
        self.seq = 0
        """The newest seq broadcast (or the snapshot's, before any delta)."""
        self.first_seq = 0
        """Deltas after this one are in the replay buffer (resets drop everything older)."""

    @property
    def clients(self) -> int:
        return len(self._supervisors) + sum(len(s) for s in self._volunteers.values())

    def max_queued(self) -> int:
        """The longest client queue now (bounded by the client queue size)."""
        return max((len(sub.queue) for sub in self._all()), default=0)

    def overflows(self) -> int:
        """How often connected clients fell behind and were given a snapshot instead."""
        return sum(sub.overflows for sub in self._all())

    def start_at(self, seq: int) -> None:
        """The projection was (re)loaded at ``seq``: nothing older can be replayed."""
        self._replay.clear()
        self.seq = self.first_seq = seq

    # ------------------------------------------------------------------ from the writer

    def broadcast(self, deltas: Sequence[Delta]) -> None:
        """Queue ``deltas`` for every client allowed to see them; never blocks."""
        at = self._clock()
        for delta in deltas:
            if delta.kind == "reset":
                self.start_at(delta.seq)
                for sub in self._all():
                    sub.queue.clear()
                    sub.needs_snapshot = True
                    sub.wake.set()
                continue
            self._replay.append(delta)
            if len(self._replay) == self._replay.maxlen:
                self.first_seq = self._replay[0].seq - 1
            self.seq = delta.seq
            self._fan_out(delta, at)

    def _fan_out(self, delta: Delta, at: float) -> None:
        supervisors = self._supervisors
        if supervisors:
            text = _message(delta, Scope.supervisor(), at)
            if text is not None:
                for sub in supervisors:
                    sub.push(text)
        if delta.public:
            if not self._volunteers:
                return
            # Public: the same for every volunteer, so rendered for any one of them.
            text = _message(delta, Scope.volunteer(next(iter(self._volunteers))), at)
            if text is not None:
                for group in self._volunteers.values():
                    for sub in group:
                        sub.push(text)
            return
        for agent_id in delta.audience:
            own = self._volunteers.get(agent_id)
            if own:
                text = _message(delta, Scope.volunteer(agent_id), at)
                if text is not None:
                    for sub in own:
                        sub.push(text)

    def _all(self) -> list[Subscription]:
        subs = list(self._supervisors)
        for group in self._volunteers.values():
            subs.extend(group)
        return subs

    # ------------------------------------------------------------------ from connections

    def subscribe(self, scope: Scope, after: int | None = None) -> Subscription:
        """A new client; with ``after`` it resumes from that seq if the buffer still has it."""
        sub = Subscription(scope, self._client_queue)
        if after is not None and self.first_seq <= after <= self.seq:
            sub.needs_snapshot = False
            at = self._clock()
            for delta in self._replay:
                if delta.seq > after:
                    text = _message(delta, scope, at)
                    if text is not None:
                        sub.push(text)
        if scope.agent_id is None:
            self._supervisors.add(sub)
        else:
            self._volunteers.setdefault(scope.agent_id, set()).add(sub)
        sub.wake.set()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        sub.closed = True
        sub.wake.set()
        if sub.scope.agent_id is None:
            self._supervisors.discard(sub)
            return
        group = self._volunteers.get(sub.scope.agent_id)
        if group is not None:
            group.discard(sub)
            if not group:
                del self._volunteers[sub.scope.agent_id]

    async def next_batch(self, sub: Subscription) -> list[str]:
        """Wait for the client's next messages: a snapshot, or queued deltas in order."""
        while True:
            if sub.closed:
                return []
            if sub.needs_snapshot:
                sub.needs_snapshot = False
                sub.queue.clear()
                state = self._snapshot(sub.scope)
                return [_dumps({"type": "snapshot", "at": self._clock(), **state})]
            if sub.queue:
                batch = list(sub.queue)
                sub.queue.clear()
                return batch
            sub.wake.clear()
            await sub.wake.wait()


def _message(delta: Delta, scope: Scope, at: float) -> str | None:
    rendered = render(delta, scope)
    if rendered is None:
        return None
    return _dumps({"type": "delta", "at": at, **rendered})
