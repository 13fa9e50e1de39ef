"""What the engine is wired with: the small Protocols of its collaborators.

The journal it writes ahead to, the effectors that carry out session and chat effects, the
sink for finished contacts' records, the routers that turn a channel technology's events into
engine calls, and what it asks of a session of either kind. The engine knows these and the
machines, never Asterisk, HTTP, Redis or SQL (``engine.writer`` re-exports them).
"""

from __future__ import annotations

from typing import Any, Protocol

from acd import commands as cmd
from session import chat_commands as cc
from session import commands as sc
from session.machine import QueueNews
from session.referral import Referral


class Journal(Protocol):
    """The write-ahead journal (``storage.journal.LiveStateStore`` is one)."""

    @property
    def seq(self) -> int: ...

    @property
    def pending(self) -> int: ...

    async def append(self, event: dict[str, Any] | None, now: float) -> int: ...

    async def save_snapshot(self, snapshot: dict[str, Any], journal_len: int) -> None: ...


class Effector(Protocol):
    """Carries out session effects off the writer and reports each as an ``EffectOutcome``."""

    def submit(self, effect: sc.Effect) -> None: ...


class ChatEffector(Protocol):
    """Carries out a chat session's effects (``session.chat_commands``): the chat hub."""

    def submit(self, effect: cc.ChatEffect) -> None: ...


class Session(Protocol):
    """What the engine asks of a session of either kind (``ContactSession``, ``ChatSession``)."""

    @property
    def contact_id(self) -> str: ...

    @property
    def line_id(self) -> str: ...

    def next_deadline(self) -> float | None: ...

    def handle_timer(self, now: float, news: QueueNews | None = None) -> list[Any]: ...


class RecordSink(Protocol):
    """Takes finished contacts' anonymous records without blocking."""

    def submit(
        self,
        done: cmd.ContactFinished,
        line_id: str,
        language: str,
        *,
        referral: Referral | None = None,
        channel: str | None = None,
    ) -> None: ...


class Router(Protocol):
    """Turns a channel technology's events into engine calls, inside the writer's step."""

    input_types: tuple[type, ...]

    def route(self, item: object) -> None: ...
