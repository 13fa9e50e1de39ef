"""The Stasis application: ARI events become ACD events; ACD commands become ARI calls.

One writer: every input (ARI event, API request, deadline tick) goes through one
``asyncio.Queue`` and is handled by one task, so the ACD core and the call registry need no
locks. Each applied ACD event is journaled to Redis before its commands run; after every
(re)connection the app reconciles with what Asterisk really has (``ari_app.reconcile``).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import acd
from acd import commands as cmd
from acd.serde import event_to_dict
from ari_app.ari_events import (
    ChannelDestroyed,
    ChannelDtmfReceived,
    EndpointStateChange,
    PlaybackFinished,
    PlaybackStarted,
    StasisEnd,
    StasisStart,
)
from ari_app.calls import (
    CallRegistry,
    ContactCall,
    Role,
    contact_of_playback,
    hold_bridge_id,
    talk_bridge_id,
    volunteer_leg_id,
)
from ari_app.client import AriClient
from ari_app.errors import AriConflict, AriError, AriNotFound
from ari_app.records import RecordQueue
from ari_app.websocket import AriEventStream, Connected, Disconnected
from dialplan import stasis_args
from helpline.config import HelplineConfig, Line
from helpline.lease import LeaseLost
from helpline.livestate import LiveStateStore
from ivr import flow
from ivr.announce import WaitEstimator
from ivr.hours import HoursStatus
from ivr.prompt_texts import IvrError
from ivr.prompts import media_uri

HoursLookup = Callable[[str, datetime], Awaitable[HoursStatus]]
"""(line id, now in UTC) -> is the line open for calls now, and when does it open."""

log = logging.getLogger(__name__)

# Q.850 causes on a volunteer leg that never answered.
_FAILURE_BY_CAUSE = {
    17: acd.OfferFailure.BUSY,
    18: acd.OfferFailure.NO_ANSWER,
    19: acd.OfferFailure.NO_ANSWER,
    21: acd.OfferFailure.REJECTED,
    20: acd.OfferFailure.UNREACHABLE,
    3: acd.OfferFailure.UNREACHABLE,
}

PHONE_RECHECK_S = 5.0
"""After a failed originate, how long until the phone's registration is looked at again."""

_EVENTS_WE_USE = (
    "StasisStart",
    "StasisEnd",
    "ChannelDestroyed",
    "ChannelDtmfReceived",
    "PlaybackStarted",
    "PlaybackFinished",
    "EndpointStateChange",
)

SNAPSHOT_EVERY = 200
"""Journal entries between snapshots: bounds replay time after a restart."""


@dataclass(frozen=True, slots=True)
class _Tick:
    """A core deadline is due."""


def _new_future() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


@dataclass(slots=True)
class _Request:
    """Work from outside the writer (the HTTP API); its result goes back through ``future``."""

    action: Callable[[], Awaitable[Any]]
    future: asyncio.Future[Any] = field(default_factory=_new_future)


@dataclass(frozen=True, slots=True)
class _FollowUp:
    """An ACD event caused by executing a command (e.g. an originate that failed)."""

    event: acd.Event


class HelplineApp:
    """Drives one queue: owns the ACD core, the call registry and the ARI connection."""

    def __init__(
        self,
        cfg: HelplineConfig,
        ari: AriClient,
        core: acd.Acd,
        *,
        store: LiveStateStore | None = None,
        records: RecordQueue | None = None,
        clock: Callable[[], float] = time.time,
        hours: HoursLookup | None = None,
    ) -> None:
        self.cfg = cfg
        self.ari = ari
        self.acd = core
        self.calls = CallRegistry()
        self._store = store
        self._records = records
        self.clock = clock
        """The wall clock the app feeds to the core and the IVRs."""
        self._hours = hours
        self._tz = ZoneInfo(cfg.helpline.timezone)
        self.waits = WaitEstimator()
        self.played: collections.deque[str] = collections.deque(maxlen=200)
        """Media of the latest playbacks Asterisk started (prompt names only)."""
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._timer: asyncio.TimerHandle | None = None
        self._reconciled = False
        self._background: set[asyncio.Task[None]] = set()
        self.reconciled = asyncio.Event()
        """Set after each successful reconciliation (tests and health checks wait on it)."""
        self._lines_by_id = {line.id: line for line in cfg.lines}

    # ------------------------------------------------------------------ running

    async def run(self) -> None:
        """Consume ARI events and requests until cancelled (or the lease is lost)."""
        ac = self.cfg.asterisk
        stream = AriEventStream(
            ac.ari_url, self.ari.user, self.ari.password, self.ari.app, self._queue.put_nowait
        )
        stream_task = asyncio.create_task(stream.run(), name="ari-events")
        try:
            while True:
                item = await self._queue.get()
                try:
                    await self._process(item)
                except LeaseLost:
                    raise
                except Exception:  # one bad input must not stop the line
                    log.exception("failed to process %s", type(item).__name__)
        finally:
            stream_task.cancel()
            await asyncio.gather(stream_task, return_exceptions=True)
            if self._timer is not None:
                self._timer.cancel()
            for task in list(self._background):
                task.cancel()
            await asyncio.gather(*self._background, return_exceptions=True)

    async def call(self, action: Callable[[], Awaitable[Any]]) -> Any:
        """Run ``action`` inside the writer and return its result (or raise its error)."""
        request = _Request(action)
        self._queue.put_nowait(request)
        return await request.future

    async def _process(self, item: Any) -> None:
        if isinstance(item, _Request):
            try:
                result = await item.action()
            except Exception as exc:
                if not item.future.done():
                    item.future.set_exception(exc)
            else:
                if not item.future.done():
                    item.future.set_result(result)
        elif isinstance(item, _Tick):
            await self._fire_timers()
        elif isinstance(item, _FollowUp):
            await self.apply_quietly(item.event)
        elif isinstance(item, StasisStart):
            await self._on_stasis_start(item)
        elif isinstance(item, (StasisEnd, ChannelDestroyed)):
            cause = item.cause if isinstance(item, ChannelDestroyed) else None
            await self._on_channel_gone(item.channel.id, cause)
        elif isinstance(item, EndpointStateChange):
            await self._on_endpoint(item)
        elif isinstance(item, PlaybackStarted):
            self.played.append(item.playback.media_uri)
        elif isinstance(item, PlaybackFinished):
            contact_id = contact_of_playback(item.playback.id)
            call = self.calls.get(contact_id) if contact_id else None
            if call is not None:
                await self._ivr(call, flow.PromptFinished(item.playback.id))
        elif isinstance(item, ChannelDtmfReceived):
            found = self.calls.by_channel(item.channel.id)
            if found is not None and found[0] is Role.CALLER:
                await self._ivr(found[1], flow.DigitPressed(item.digit))
        elif isinstance(item, Connected):
            from ari_app.reconcile import reconcile

            await self.ari.applications.subscribe("endpoint:PJSIP")
            await self._filter_events()
            await reconcile(self)
            self._reconciled = True
            self.reconciled.set()
            self._arm_timer()
        elif isinstance(item, Disconnected):
            log.warning("ARI events lost (%s); will reconcile on reconnect", item.reason)
            self.reconciled.clear()

    async def _filter_events(self) -> None:
        """Ask Asterisk for only the events we act on (a call brings dozens of others)."""
        allowed = [{"type": name} for name in _EVENTS_WE_USE]
        try:
            await self.ari.request(
                "PUT", ["applications", self.ari.app, "eventFilter"], body={"allowed": allowed}
            )
        except AriError as exc:
            log.info("ARI event filter not set (%s); all events will be decoded", exc)

    # ------------------------------------------------------------------ the core

    async def apply(self, event: acd.Event) -> None:
        """Feed one event to the core, journal it, run its commands. Raises ``acd.AcdError``."""
        now = self.clock()
        await self._fire_timers(now)
        commands = self.acd.handle(event, now)
        await self._journal(event_to_dict(event), now)
        await self._execute(commands)
        self._arm_timer()

    async def apply_quietly(self, event: acd.Event) -> None:
        """Apply an event that may have lost a race (a normal thing on a phone line)."""
        try:
            await self.apply(event)
        except (acd.StaleOffer, acd.UnknownContact, acd.UnknownAgent) as exc:
            log.debug("stale %s: %s", type(event).__name__, exc)

    async def _fire_timers(self, now: float | None = None) -> None:
        if not self._reconciled:
            return  # deadlines wait until we know what Asterisk really has
        now = self.clock() if now is None else now
        deadline = self.acd.next_deadline()
        if deadline is not None and deadline <= now:
            commands = self.acd.handle_timer(now)
            await self._journal(None, now)
            await self._execute(commands)
        for call in self.calls.calls():
            ivr = call.ivr
            due = ivr.next_deadline() if ivr is not None else None
            if ivr is not None and due is not None and due <= now:
                self._feed_queue_news(call, ivr, now)
                await self._run_ivr(call, ivr.handle_timer(now))
        self._arm_timer()

    def _next_deadline(self) -> float | None:
        deadlines = [self.acd.next_deadline()]
        deadlines += [c.ivr.next_deadline() for c in self.calls.calls() if c.ivr is not None]
        return min((d for d in deadlines if d is not None), default=None)

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self._next_deadline()
        if deadline is None or not self._reconciled:
            return
        delay = max(0.0, deadline - self.clock())
        self._timer = asyncio.get_running_loop().call_later(delay, self._queue.put_nowait, _Tick())

    async def _journal(self, event: dict[str, Any] | None, now: float) -> None:
        if self._store is None:
            return
        await self._store.append(event, now)
        if self._store.pending >= SNAPSHOT_EVERY:
            await self._store.save_snapshot(self.acd.snapshot(), self._store.seq)

    # ------------------------------------------------------------------ ARI events

    async def _on_stasis_start(self, event: StasisStart) -> None:
        channel = event.channel
        try:
            args = stasis_args.decode(list(event.args))
        except stasis_args.InvalidStasisArgs as exc:
            log.warning("channel entered Stasis with bad arguments (%s); hanging up", exc)
            await self._hangup(channel.id)
            return
        if isinstance(args, stasis_args.InboundCall):
            line = self._lines_by_id.get(args.line_id)
            if line is None:
                log.warning("call for unknown line %r; hanging up", args.line_id)
                await self._hangup(channel.id)
                return
            await self.admit(channel.id, line)
        else:
            found = self.calls.by_channel(channel.id)
            if found is None or found[0] is not Role.VOLUNTEER or found[1].agent_id is None:
                await self._hangup(channel.id)  # a leg for an offer that is gone
                return
            call = found[1]
            try:
                await self.apply(acd.OfferAccepted(call.contact_id, call.agent_id or ""))
            except (acd.StaleOffer, acd.UnknownContact, acd.UnknownAgent):
                self.calls.clear_leg(call.contact_id)
                await self._hangup(channel.id)

    async def admit(self, channel_id: str, line: Line) -> None:
        """Answer a caller; the IVR then welcomes them and queues them, or says we are closed."""
        contact_id = str(uuid.uuid4())
        # Not answered yet: the IVR answers when it first plays something, and a call that
        # goes straight to the queue is offered before it is answered (faster ringing).
        call = ContactCall(contact_id, line.id, line.language, channel_id)
        call.ivr = flow.IvrCall(contact_id, self.cfg.ivr)
        self.calls.add(call)
        now_utc = datetime.fromtimestamp(self.clock(), UTC)
        if self._hours is None:
            entered = flow.CallEntered(line.language, True, line.menu)
        else:
            status = await self._hours(line.id, now_utc)
            opens_at = status.opens_at.astimezone(self._tz) if status.opens_at else None
            entered = flow.CallEntered(
                line.language,
                status.open,
                line.menu,
                opens_at=opens_at,
                local_now=now_utc.astimezone(self._tz),
            )
        await self._ivr(call, entered)

    async def enqueue(self, call: ContactCall, language: str) -> None:
        """Hand the caller to the ACD, then hold them in their own bridge.

        The ACD goes first so that a free volunteer's phone rings at once; answering and
        bridging the caller happen while it rings (all before any answer can be processed).
        """
        call.queued = True
        call.language = language
        line = self._lines_by_id[call.line_id]
        await self.apply(
            acd.ContactArrived(
                call.contact_id,
                acd.Channel.PHONE,
                language=self._routable_language(language),
                priority=line.priority,
            )
        )
        hold = hold_bridge_id(call.contact_id)
        try:
            await self._answer(call)
            try:
                await self.ari.bridges.create_with_id(hold, "holding", name="waiting")
            except AriConflict:
                pass  # left from before a restart of ours: use it
            await self.ari.bridges.add_channel(hold, call.caller_channel)
        except AriNotFound:
            self._spawn(self._ignore_missing(self.ari.bridges.delete(hold)))
            # The caller hung up meanwhile: its own event ends the contact.

    async def _answer(self, call: ContactCall) -> None:
        if not call.answered:
            await self.ari.channels.answer(call.caller_channel)
            call.answered = True

    def _routable_language(self, language: str) -> str | None:
        """The child's language is a requirement only while someone logged in speaks it.

        Otherwise any volunteer takes the call: a child is never left waiting for nobody.
        """
        speakers = any(language in a.languages for a in self.acd.agents())
        return language if speakers else None

    # ------------------------------------------------------------------ the IVR

    async def _ivr(self, call: ContactCall, event: flow.Event) -> None:
        if call.ivr is None:
            return
        try:
            commands = call.ivr.handle(event, self.clock())
        except IvrError as exc:
            log.warning("IVR refused %s: %s", type(event).__name__, exc)
            return
        await self._run_ivr(call, commands)
        self._arm_timer()

    def _feed_queue_news(self, call: ContactCall, ivr: flow.IvrCall, now: float) -> None:
        """Tell a waiting caller's IVR its place and expected wait, just before it speaks."""
        if not call.queued:
            return
        position = (
            self.acd.queue_position(call.contact_id) if self.acd.holds(call.contact_id) else 0
        )
        if position < 1:
            return
        serving = sum(1 for a in self.acd.agents() if a.state is not acd.AgentState.PAUSED)
        ivr.handle(flow.QueueUpdate(position, self.waits.expected_wait_s(position, serving)), now)

    async def _run_ivr(self, call: ContactCall, commands: list[flow.Command]) -> None:
        channel = call.caller_channel
        hold = hold_bridge_id(call.contact_id)
        for command in commands:
            try:
                if isinstance(command, (flow.Play, flow.StartHold)):
                    await self._answer(call)
                if isinstance(command, flow.Play):
                    media = [media_uri(p) for p in command.prompts]
                    if call.queued:
                        await self.ari.bridges.play(
                            hold, media, command.playback_id, lang=command.language
                        )
                    else:
                        await self.ari.channels.play(
                            channel, media, command.playback_id, lang=command.language
                        )
                elif isinstance(command, flow.StopPlayback):
                    await self._ignore_missing(self.ari.playbacks.stop(command.playback_id))
                elif isinstance(command, flow.StartHold):
                    if call.queued:
                        await self.ari.bridges.start_moh(hold)
                    else:
                        await self.ari.channels.start_moh(channel)
                elif isinstance(command, flow.StopHold):
                    if call.queued:
                        await self._ignore_missing(self.ari.bridges.stop_moh(hold))
                    else:
                        await self._ignore_missing(self.ari.channels.stop_moh(channel))
                elif isinstance(command, flow.Enqueue):
                    await self.enqueue(call, command.language)
                elif isinstance(command, flow.Hangup):
                    self.calls.remove(call.contact_id)
                    await self._ignore_missing(self.ari.bridges.delete(hold))
                    await self._hangup(channel)
            except AriNotFound:
                pass  # the caller is gone; ChannelDestroyed ends the call
            except AriError as exc:
                log.error("IVR step %s failed: %s", type(command).__name__, exc)

    async def _on_channel_gone(self, channel_id: str, cause: int | None) -> None:
        found = self.calls.by_channel(channel_id)
        if found is None:
            return
        role, call = found
        contact_id = call.contact_id
        if role is Role.CALLER:
            if call.ivr is not None:
                call.ivr.handle(flow.CallerGone(), self.clock())
            if call.queued and not call.overflowing and self.acd.holds(contact_id):
                await self.apply_quietly(acd.ContactEnded(contact_id))
            else:  # never queued (left during the welcome or the closed message) or overflowed
                self.calls.remove(contact_id)
                await self._ignore_missing(self.ari.bridges.delete(hold_bridge_id(contact_id)))
            return
        if call.volunteer_leg != channel_id:
            return
        agent_id = call.agent_id or ""
        try:
            contact = self.acd.contact(contact_id)
        except acd.UnknownContact:
            self.calls.clear_leg(contact_id)
            return
        if contact.state is acd.ContactState.OFFERED and contact.agent_id == agent_id:
            self.calls.clear_leg(contact_id)
            reason = _FAILURE_BY_CAUSE.get(cause or 0, acd.OfferFailure.ERROR)
            if cause in (None, 16):  # a normal clear before answer: the phone rang out
                reason = acd.OfferFailure.NO_ANSWER
            await self.apply_quietly(acd.OfferFailed(contact_id, agent_id, reason))
        elif contact.state is acd.ContactState.CONNECTED:
            await self.apply_quietly(acd.ContactEnded(contact_id))

    async def _on_endpoint(self, event: EndpointStateChange) -> None:
        endpoint = event.endpoint
        if endpoint.technology != "PJSIP":
            return
        try:
            agent = self.acd.agent(endpoint.resource)
        except acd.UnknownAgent:
            return
        if agent.phone_reachable != endpoint.online:
            await self.apply_quietly(acd.AgentReachability(agent.agent_id, endpoint.online))

    # ------------------------------------------------------------------ commands

    async def _execute(self, commands: list[cmd.Command]) -> None:
        for command in commands:
            try:
                await self._execute_one(command)
            except AriNotFound:
                pass  # the channel or bridge went away meanwhile: its own event follows
            except AriError as exc:
                log.error("ARI failed for %s: %s", type(command).__name__, exc)

    async def _execute_one(self, command: cmd.Command) -> None:
        if isinstance(command, cmd.OfferContact):
            await self._offer(command)
        elif isinstance(command, cmd.WithdrawOffer):
            call = self.calls.get(command.contact_id)
            if call is not None and call.agent_id == command.agent_id:
                leg = self.calls.clear_leg(command.contact_id)
                if leg is not None:
                    await self._hangup(leg)
        elif isinstance(command, cmd.ConnectContact):
            await self._connect(command.contact_id)
        elif isinstance(command, cmd.OverflowContact):
            call = self.calls.get(command.contact_id)
            if call is not None:
                call.overflowing = True
                await self._ivr(call, flow.Overflowed(command.reason))
        elif isinstance(command, cmd.ContactFinished):
            await self._finished(command)
        elif isinstance(command, cmd.AgentStateChanged):
            log.info("volunteer %s is %s", command.agent_id, command.state.value)

    async def _offer(self, command: cmd.OfferContact) -> None:
        call = self.calls.get(command.contact_id)
        if call is None or command.channel is not acd.Channel.PHONE:
            # Chat offers are delivered by the chat channel (a later capability).
            return
        contact = self.acd.contact(command.contact_id)
        leg = volunteer_leg_id(command.contact_id, contact.offer_token)
        self.calls.set_leg(command.contact_id, command.agent_id, leg)
        line = self._lines_by_id[call.line_id]
        try:
            await self.ari.channels.originate(
                f"PJSIP/{command.agent_id}",
                channel_id=leg,
                app_args=stasis_args.encode(stasis_args.VolunteerLeg(command.contact_id)),
                timeout_s=math.ceil(command.ring_timeout_s) + 5,
                caller_id=f'"{self.cfg.helpline.name}" <{line.numbers[0]}>',
                originator=call.caller_channel,
            )
        except AriError as exc:
            # Almost always "no registered contact": treat the phone as unreachable (the
            # contact goes to someone else at once) and look again shortly, rather than
            # re-offering in a tight loop.
            log.warning("offer to %s could not be placed: %s", command.agent_id, exc)
            self.calls.clear_leg(command.contact_id)
            failure = acd.OfferFailure.UNREACHABLE
            self._queue.put_nowait(
                _FollowUp(acd.OfferFailed(command.contact_id, command.agent_id, failure))
            )
            self._spawn(self._recheck_phone(command.agent_id))

    async def _recheck_phone(self, agent_id: str, after_s: float = PHONE_RECHECK_S) -> None:
        await asyncio.sleep(after_s)
        try:
            online = (await self.ari.endpoints.get("PJSIP", agent_id)).online
        except AriError:
            return
        if online:
            self._queue.put_nowait(_FollowUp(acd.AgentReachability(agent_id, True)))

    async def _connect(self, contact_id: str) -> None:
        call = self.calls.get(contact_id)
        if call is None or call.volunteer_leg is None:
            return
        await self._ivr(call, flow.Connected())  # stop comfort messages and hold music
        talk = talk_bridge_id(contact_id)
        hold = hold_bridge_id(contact_id)
        try:
            await self.ari.bridges.create_with_id(talk, "mixing", name="talking")
        except AriConflict:
            pass  # already made before a restart of ours
        await self._ignore_missing(self.ari.bridges.remove_channel(hold, call.caller_channel))
        await self.ari.bridges.add_channel(talk, [call.caller_channel, call.volunteer_leg])
        self._spawn(self._ignore_missing(self.ari.bridges.delete(hold)))

    async def _finished(self, done: cmd.ContactFinished) -> None:
        if done.answered_at is not None:
            self.waits.record_answered(done.answered_at - done.arrived_at)
            self.waits.record_handled(
                done.ended_at - done.answered_at + self.acd.settings.wrap_up_s
            )
        call = self.calls.get(done.contact_id)
        if call is not None and not call.overflowing:
            self.calls.remove(done.contact_id)  # an overflowed caller still hears the message
        if call is not None:
            # Clean-up is idempotent and tolerates 404s: keep it off the writer's path.
            self._spawn(self._clean_up(call, keep_caller=call.overflowing))
        if self._records is not None:
            line_id = call.line_id if call else self.cfg.lines[0].id
            language = done.language or (call.language if call else "nl")
            self._records.submit(done, line_id, language)

    async def _clean_up(self, call: ContactCall, keep_caller: bool) -> None:
        if call.volunteer_leg is not None:
            await self._hangup(call.volunteer_leg)
        if not keep_caller:
            await self._hangup(call.caller_channel)
            await self._ignore_missing(self.ari.bridges.delete(hold_bridge_id(call.contact_id)))
        await self._ignore_missing(self.ari.bridges.delete(talk_bridge_id(call.contact_id)))

    # ------------------------------------------------------------------ helpers

    async def _hangup(self, channel_id: str) -> None:
        await self._ignore_missing(self.ari.channels.hangup(channel_id))

    @staticmethod
    async def _ignore_missing(call: Awaitable[Any]) -> None:
        try:
            await call
        except AriNotFound:
            pass
        except AriError as exc:
            log.debug("ignored ARI error during clean-up: %s", exc)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
