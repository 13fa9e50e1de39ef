"""The chat effector: carries out the chat sessions' commands (``session.chat_commands``).

The engine's writer hands it ``ChatNotice``, ``ChatJoined``, ``ChatLeftBy`` and ``ChatEnded``
(``Engine.add_effector(CHAT_EFFECT_TYPES, ...)``); ``submit`` never blocks. Each command runs
on its chat's lane (``engine.Lanes``): in order per chat, so a ``ChatJoined`` is never
overtaken by the ``ChatEnded`` after it, and one chat's slow Redis call delays no other chat.
A command that failed comes back to the engine as ``engine.EffectOutcome`` (``unavailable``:
Redis; ``error``: a bug, logged); success is not reported (nothing in the engine waits on it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from chat.errors import ChatUnavailable
from chat.hub import ChatHub
from engine import EffectOutcome, Lanes
from session.chat_commands import ChatEffect, ChatEnded, ChatJoined, ChatLeftBy, ChatNotice

log = logging.getLogger(__name__)


class ChatEffector:
    """Implements ``engine.ChatEffector`` on the hub."""

    def __init__(self, hub: ChatHub, report: Callable[[EffectOutcome], None]) -> None:
        self._hub = hub
        self._report = report
        self._lanes: Lanes[ChatEffect] = Lanes(self._run)

    def submit(self, effect: ChatEffect) -> None:
        self._lanes.submit(effect.contact_id, effect)

    async def _run(self, effect: ChatEffect) -> None:
        hub = self._hub
        try:
            if isinstance(effect, ChatNotice):
                hub.notice(effect.contact_id, effect.position, effect.wait_s)
            elif isinstance(effect, ChatJoined):
                await hub.joined(effect.contact_id, effect.agent_id, effect.note)
            elif isinstance(effect, ChatLeftBy):
                hub.left(effect.contact_id, effect.agent_id)
            elif isinstance(effect, ChatEnded):
                await hub.ended(effect.contact_id, effect.by, effect.block)
            return
        except ChatUnavailable as exc:
            log.warning("chat %s: %s failed (%s)", effect.contact_id, type(effect).__name__, exc)
            kind = "unavailable"
        except Exception:
            log.exception("chat %s: %s failed", effect.contact_id, type(effect).__name__)
            kind = "error"
        self._report(EffectOutcome(effect.contact_id, effect, kind))

    async def idle(self) -> None:
        """Wait until every command submitted so far has run (tests, shutdown)."""
        await self._lanes.idle()

    async def close(self) -> None:
        await self._lanes.close()
