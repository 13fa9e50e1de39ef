"""How the chat's web routes and hub reach the engine (``chat.ports.ChatControl``).

Every change goes through the engine's single writer (``engine.call`` / ``engine.apply``);
reads come from the live bus's projection and the in-memory opening hours, never from the core
behind the writer's back. The engine's refusals (``session.errors.ChatRefused``, ACD errors)
become ``chat.errors`` here, which ``web.errors`` maps to HTTP.

``StandbyChats`` stands in until this process serves the queue (it holds the lease).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import acd
from chat.errors import ChatClosed, ChatConflict, ChatQueueFull, ChatUnavailable
from chat.ports import ChatControl, ChatStatus, QueueNotice
from config.chat import ChatSection
from engine import Engine, EngineStopped
from helpline.live_bus import LiveBus
from ivr.hours import HoursStatus
from session import chat_events as ce
from session.errors import ChatRefused

log = logging.getLogger(__name__)

ChatHours = Callable[[str, datetime], HoursStatus]
"""The chat line's chat hours at a moment (``HoursView.status(line, "chat", now)``)."""

PEER_SKILL = "peer_chat"


class EngineChats:
    """Implements ``chat.ports.ChatControl`` with the engine and the live bus."""

    def __init__(self, engine: Engine, bus: LiveBus, cfg: ChatSection, hours: ChatHours) -> None:
        self._engine = engine
        self._bus = bus
        self._cfg = cfg
        self._hours = hours
        self._tasks: set[asyncio.Task[None]] = set()

    def serving(self) -> bool:
        return True

    def status(self, now: float) -> ChatStatus:
        hours = self._hours(self._cfg.line, datetime.fromtimestamp(now, UTC))
        opens_at = None if hours.open or hours.opens_at is None else hours.opens_at.isoformat()
        peer = hours.open and any(PEER_SKILL in agent.skills for agent in self._bus.view.agents())
        return ChatStatus(hours.open, opens_at, peer)

    async def open_chat(self, chat_id: str, peer: bool, language: str, line_id: str) -> QueueNotice:
        status = self.status(self._engine.clock())
        if not status.open:
            raise ChatClosed(status.opens_at)
        engine = self._engine
        try:
            notice = await engine.call(lambda: engine.open_chat(chat_id, peer, language, line_id))
        except ChatRefused as exc:
            if exc.code == "queue_full":
                raise ChatQueueFull(exc.message) from None
            raise ChatConflict(exc.code, exc.message) from None
        except EngineStopped as exc:
            raise ChatUnavailable("the engine stopped") from exc
        return QueueNotice(notice.position, notice.wait_s)

    # -- the child's presence: queued for the writer, never awaited by the hub -----------

    def child_away(self, chat_id: str) -> None:
        self._later(chat_id, ce.ChildAway())

    def child_back(self, chat_id: str) -> None:
        self._later(chat_id, ce.ChildBack())

    def child_left(self, chat_id: str) -> None:
        self._later(chat_id, ce.ChildLeft())

    def _later(self, chat_id: str, event: ce.ChatEvent) -> None:
        # Tasks start in the order they were made and Engine.call queues its request on its
        # first step, so the hub's away/back/left reach the writer in the order they happened.
        task = asyncio.get_running_loop().create_task(self._tell(chat_id, event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tell(self, chat_id: str, event: ce.ChatEvent) -> None:
        try:
            await self._request(chat_id, event)
        except (ChatConflict, ChatUnavailable) as exc:
            # The chat ended meanwhile, or the engine stopped: nothing to do about it here.
            log.info("chat %s: %s not applied (%s)", chat_id, type(event).__name__, exc)

    async def _request(self, chat_id: str, event: ce.ChatEvent) -> None:
        engine = self._engine
        try:
            await engine.call(lambda: engine.chat_request(chat_id, event))
        except ChatRefused as exc:
            raise ChatConflict(exc.code, exc.message) from None
        except EngineStopped as exc:
            raise ChatUnavailable("the engine stopped") from exc

    # -- the volunteer ------------------------------------------------------------------------

    async def accept(self, agent_id: str, chat_id: str) -> None:
        await self._offer(acd.OfferAccepted(chat_id, agent_id))

    async def decline(self, agent_id: str, chat_id: str) -> None:
        await self._offer(acd.OfferFailed(chat_id, agent_id, acd.OfferFailure.REJECTED))

    async def _offer(self, event: acd.OfferAccepted | acd.OfferFailed) -> None:
        offer = self._bus.view.agent(event.agent_id)
        if offer is None or offer.offer != event.contact_id:
            raise ChatConflict("not_offered", "this chat is not offered to you")
        try:
            await self._engine.apply(event)
        except acd.AcdError:
            # The offer moved on meanwhile (withdrawn, the child left): not a failure of ours.
            raise ChatConflict("not_offered", "this chat is not offered to you") from None
        except EngineStopped as exc:
            raise ChatUnavailable("the engine stopped") from exc

    async def end(self, agent_id: str, chat_id: str, block: bool) -> None:
        await self._request(chat_id, ce.VolunteerClosed(agent_id, block))

    async def handoff(self, agent_id: str, chat_id: str, to_agent_id: str, note: str) -> None:
        await self._request(chat_id, ce.HandOff(agent_id, to_agent_id, note))

    def chats_of(self, agent_id: str) -> list[str]:
        agent = self._bus.view.agent(agent_id)
        if agent is None:
            return []
        return [cid for cid, channel in agent.contacts if channel == acd.Channel.CHAT.value]


class StandbyChats:
    """The chat's engine side in a process that does not serve the queue (yet): requests are
    ``ChatUnavailable`` (503) until ``attach`` hands over the real one."""

    def __init__(self) -> None:
        self._real: ChatControl | None = None

    def attach(self, real: ChatControl) -> None:
        self._real = real

    def _serving(self) -> ChatControl:
        if self._real is None:
            raise ChatUnavailable("standing by for the lease")
        return self._real

    def serving(self) -> bool:
        return self._real is not None

    def status(self, now: float) -> ChatStatus:
        return self._serving().status(now)

    async def open_chat(self, chat_id: str, peer: bool, language: str, line_id: str) -> QueueNotice:
        return await self._serving().open_chat(chat_id, peer, language, line_id)

    def child_away(self, chat_id: str) -> None:
        if self._real is not None:
            self._real.child_away(chat_id)

    def child_back(self, chat_id: str) -> None:
        if self._real is not None:
            self._real.child_back(chat_id)

    def child_left(self, chat_id: str) -> None:
        if self._real is not None:
            self._real.child_left(chat_id)

    async def accept(self, agent_id: str, chat_id: str) -> None:
        await self._serving().accept(agent_id, chat_id)

    async def decline(self, agent_id: str, chat_id: str) -> None:
        await self._serving().decline(agent_id, chat_id)

    async def end(self, agent_id: str, chat_id: str, block: bool) -> None:
        await self._serving().end(agent_id, chat_id, block)

    async def handoff(self, agent_id: str, chat_id: str, to_agent_id: str, note: str) -> None:
        await self._serving().handoff(agent_id, chat_id, to_agent_id, note)

    def chats_of(self, agent_id: str) -> list[str]:
        return self._real.chats_of(agent_id) if self._real is not None else []
