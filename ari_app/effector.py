"""Carry out contact-session effects against ARI, off the writer.

Each effect runs in a lane (``engine.lanes``): a contact's bridge and playback commands in
the contact's lane, a dialled leg's originate and hang-up in the leg's own lane (so the
phone rings at once while the caller is being answered and held). Every outcome goes back
to the engine as an ``EffectOutcome``: ``done``, ``not_found`` (a normal race: the channel
hung up meanwhile), ``conflict``, ``timeout``, ``unavailable`` or ``error``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from ari_app.client import AriClient
from ari_app.errors import AriConflict, AriError, AriNotFound, AriUnavailable
from ari_app.models import Bridge, Channel, Endpoint
from dialplan import stasis_args
from engine import EffectOutcome, Lanes
from session import commands as c

log = logging.getLogger(__name__)

_EVENTS_WE_USE = (
    "StasisStart",
    "StasisEnd",
    "ChannelDestroyed",
    "ChannelDtmfReceived",
    "PlaybackStarted",
    "PlaybackFinished",
    "EndpointStateChange",
    "ContactStatusChange",
)

UNAVAILABLE_RETRIES = 2
"""Further attempts of an effect whose connection to Asterisk broke (``unavailable``)."""

UNAVAILABLE_RETRY_S = 0.1
"""Pause before such an attempt."""

SNAPSHOT_RETRY_S = 0.5
"""Pause between attempts to read Asterisk's lists after a (re)connection."""


@dataclass(frozen=True, slots=True)
class AsteriskSnapshot:
    """What Asterisk has right after a (re)connection: the input of reconciliation."""

    channels: tuple[Channel, ...]
    bridges: tuple[Bridge, ...]
    endpoints: tuple[Endpoint, ...]


@dataclass(frozen=True, slots=True)
class EndpointSeen:
    """A volunteer's phone registration, as looked up again after a failed offer."""

    agent_id: str
    online: bool


def lane_of(effect: c.Effect) -> str:
    """Commands on one dialled leg keep their order in the leg's lane; the rest per contact.
    A snoop channel is made in its own lane, so that its hang-up never overtakes it."""
    if isinstance(effect, (c.Originate, c.Hangup, c.Snoop)):
        return effect.channel_id
    if isinstance(effect, c.RecheckPhone):
        return f"recheck {effect.agent_id}"
    return effect.contact_id


def outcome_kind(exc: AriError) -> str:
    if isinstance(exc, AriNotFound):
        return "not_found"
    if isinstance(exc, AriConflict):
        return "conflict"
    if isinstance(exc, AriUnavailable):
        return "timeout" if isinstance(exc.__cause__, TimeoutError) else "unavailable"
    return "error"


class AriEffector:
    """Implements ``engine.Effector`` on an ``AriClient``; ``report`` feeds the engine."""

    def __init__(self, ari: AriClient, report: Callable[[object], None]) -> None:
        self.ari = ari
        self._report = report
        self._lanes: Lanes[c.Effect] = Lanes(self._run)
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, effect: c.Effect) -> None:
        self._lanes.submit(lane_of(effect), effect)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._lanes.close()

    async def idle(self) -> None:
        """Wait until every submitted effect has run (tests)."""
        await self._lanes.idle()

    async def _run(self, effect: c.Effect) -> None:
        for attempt in range(1 + UNAVAILABLE_RETRIES):
            try:
                await self._execute(effect)
            except AriError as exc:
                kind = outcome_kind(exc)
                if kind == "conflict" and attempt and isinstance(effect, c.Originate):
                    kind = "done"  # the first attempt reached Asterisk after all
                    break
                if kind == "unavailable" and attempt < UNAVAILABLE_RETRIES:
                    # The connection broke (not a slow Asterisk): a new one usually works.
                    await asyncio.sleep(UNAVAILABLE_RETRY_S)
                    continue
                if kind != "not_found":
                    log.warning("%s failed: %s", type(effect).__name__, exc)
            else:
                kind = "done"
            break
        self._report(EffectOutcome(effect.contact_id, effect, kind))

    async def _execute(self, effect: c.Effect) -> None:
        ari = self.ari
        if isinstance(effect, c.Originate):
            args = stasis_args.encode(stasis_args.VolunteerLeg(effect.contact_id))
            await ari.channels.originate(
                effect.endpoint,
                channel_id=effect.channel_id,
                app_args=args,
                timeout_s=effect.timeout_s,
                caller_id=effect.caller_id,
                originator=effect.originator,
                variables=dict(effect.variables) or None,
            )
        elif isinstance(effect, c.Answer):
            await ari.channels.answer(effect.channel_id)
        elif isinstance(effect, c.Hangup):
            await ari.channels.hangup(effect.channel_id)
        elif isinstance(effect, c.CreateBridge):
            try:
                await ari.bridges.create_with_id(effect.bridge_id, effect.kind, name=effect.kind)
            except AriConflict:
                pass  # made before a restart of ours: use it
        elif isinstance(effect, c.AddToBridge):
            await ari.bridges.add_channel(effect.bridge_id, list(effect.channel_ids))
        elif isinstance(effect, c.RemoveFromBridge):
            await ari.bridges.remove_channel(effect.bridge_id, effect.channel_id)
        elif isinstance(effect, c.DeleteBridge):
            await ari.bridges.delete(effect.bridge_id)
        elif isinstance(effect, c.Play):
            media = list(effect.media)
            if effect.on_bridge:
                await ari.bridges.play(
                    effect.target_id, media, effect.playback_id, lang=effect.language
                )
            else:
                await ari.channels.play(
                    effect.target_id, media, effect.playback_id, lang=effect.language
                )
        elif isinstance(effect, c.StopPlayback):
            await ari.playbacks.stop(effect.playback_id)
        elif isinstance(effect, c.StartMoh):
            if effect.on_bridge:
                await ari.bridges.start_moh(effect.target_id)
            else:
                await ari.channels.start_moh(effect.target_id)
        elif isinstance(effect, c.StopMoh):
            if effect.on_bridge:
                await ari.bridges.stop_moh(effect.target_id)
            else:
                await ari.channels.stop_moh(effect.target_id)
        elif isinstance(effect, c.Snoop):
            await ari.channels.snoop(
                effect.target_id,
                snoop_id=effect.channel_id,
                spy=effect.spy,
                whisper=effect.whisper,
                app_args=stasis_args.encode(stasis_args.CoachLeg(effect.contact_id)),
            )
        elif isinstance(effect, c.RecheckPhone):
            await asyncio.sleep(effect.after_s)
            endpoint = await ari.endpoints.get("PJSIP", effect.agent_id)
            self._report(EndpointSeen(effect.agent_id, endpoint.online))

    # ------------------------------------------------------------------ reconnection

    def fetch_snapshot(self) -> None:
        """Subscribe to what we need and read Asterisk's lists; reports ``AsteriskSnapshot``."""
        task = asyncio.get_running_loop().create_task(self._fetch(), name="ari-snapshot")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fetch(self) -> None:
        ari = self.ari
        while True:
            try:
                await ari.applications.subscribe("endpoint:PJSIP")
                await self._filter_events()
                channels, bridges, endpoints = await asyncio.gather(
                    ari.channels.list(), ari.bridges.list(), ari.endpoints.list()
                )
            except AriError as exc:
                log.warning("cannot read Asterisk's state yet (%s); retrying", exc)
                await asyncio.sleep(SNAPSHOT_RETRY_S)
                continue
            self._report(AsteriskSnapshot(tuple(channels), tuple(bridges), tuple(endpoints)))
            return

    async def _filter_events(self) -> None:
        """Ask Asterisk for only the events we act on (a call brings dozens of others)."""
        allowed = [{"type": name} for name in _EVENTS_WE_USE]
        try:
            await self.ari.request(
                "PUT", ["applications", self.ari.app, "eventFilter"], body={"allowed": allowed}
            )
        except AriError as exc:
            log.info("ARI event filter not set (%s); all events will be decoded", exc)

    async def phone_online(self, agent_id: str) -> bool:
        try:
            return (await self.ari.endpoints.get("PJSIP", agent_id)).online
        except AriError:
            return False
