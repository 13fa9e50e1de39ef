"""ARI events in, engine calls out: the telephony side of the engine's inputs.

Runs inside the engine's step (synchronously): a caller entering Stasis opens a contact
session (the opening hours come from memory, never from a database on the call path); a
leg answering, a channel going, a key pressed or a prompt ending become session events;
phone registrations become ACD reachability. After every (re)connection it asks the
effector for Asterisk's lists and reconciles (``ari_app.reconcile``) before deadlines run.
"""

from __future__ import annotations

import collections
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

import acd
from ari_app.ari_events import (
    ChannelDestroyed,
    ChannelDtmfReceived,
    ContactStatusChange,
    EndpointStateChange,
    PlaybackFinished,
    PlaybackStarted,
    StasisEnd,
    StasisStart,
)
from ari_app.effector import AriEffector, AsteriskSnapshot, EndpointSeen
from ari_app.reconcile import reconcile
from ari_app.registrations import Registrations
from ari_app.websocket import Connected, Disconnected
from config.settings import HelplineConfig, Line
from dialplan import stasis_args
from dialplan.errors import InvalidStasisArgs
from dialplan.pjsip import CARRIER
from engine import Engine
from ivr import flow
from ivr.hours import HoursStatus
from security import log as security_log
from session import commands as sc
from session import events as se
from session.ids import contact_of_coaching, contact_of_playback, parse_leg_id
from session.machine import ContactSession

HoursLookup = Callable[[str, datetime], HoursStatus]
"""(line id, now in UTC) -> is the line open for calls now. Memory only: no I/O."""

log = logging.getLogger(__name__)

_ASSUMED_OPEN = HoursStatus(open=True, reason="hours unknown", closes_at=None, opens_at=None)


class RouterWatcher(Protocol):
    """What the router tells the wallboard (``helpline.wallboard.WallboardFeed``)."""

    def asterisk(self, connected: bool) -> None:
        """ARI's event stream connected (True) or was lost (False)."""
        ...

    def phone_replaced(self, agent_id: str) -> None:
        """A second registration took this volunteer's phone."""
        ...


class AriRouter:
    """Implements ``engine.Router`` for Asterisk's ARI events."""

    input_types: tuple[type, ...] = (
        StasisStart,
        StasisEnd,
        ChannelDestroyed,
        ChannelDtmfReceived,
        PlaybackStarted,
        PlaybackFinished,
        EndpointStateChange,
        ContactStatusChange,
        Connected,
        Disconnected,
        AsteriskSnapshot,
        EndpointSeen,
    )

    def __init__(
        self,
        cfg: HelplineConfig,
        engine: Engine,
        effector: AriEffector,
        hours: HoursLookup | None = None,
    ) -> None:
        self.cfg = cfg
        self.engine = engine
        self.effector = effector
        self._hours = hours
        self._tz = ZoneInfo(cfg.helpline.timezone)
        self.lines = {line.id: line for line in cfg.lines}
        self.phones: dict[str, bool] = {}
        self.registrations = Registrations()
        """Registration of every PJSIP endpoint we heard of (resource -> online)."""
        self.played: collections.deque[str] = collections.deque(maxlen=200)
        """Media of the latest playbacks Asterisk started (prompt names only)."""
        self.connected = False
        """Whether the ARI event stream is up."""
        self._gone_while_away: set[str] = set()
        self._phones_while_away: dict[str, bool] = {}
        """Endpoint states heard between a (re)connection and the lists it reads: each is at
        least as new as the list (see ``reconcile``)."""
        self.watchers: list[RouterWatcher] = []
        """Told, inside the writer's step, of what the wallboard shows (must not wait)."""

    def phone_online(self, agent_id: str) -> bool:
        return self.phones.get(agent_id, False)

    def route(self, item: object) -> None:
        engine = self.engine
        if isinstance(item, StasisStart):
            self._on_stasis_start(item)
        elif isinstance(item, (StasisEnd, ChannelDestroyed)):
            cause = item.cause if isinstance(item, ChannelDestroyed) else None
            self._on_channel_gone(item.channel.id, cause)
        elif isinstance(item, ChannelDtmfReceived):
            contact_id = engine.contact_of_caller(item.channel.id)
            if contact_id is not None:
                engine.to_session(contact_id, se.CallerDigit(item.digit))
        elif isinstance(item, PlaybackStarted):
            self.played.append(item.playback.media_uri)
        elif isinstance(item, PlaybackFinished):
            contact_id = contact_of_playback(item.playback.id)
            if contact_id is not None:
                engine.to_session(contact_id, se.PromptDone(item.playback.id))
        elif isinstance(item, EndpointStateChange):
            if item.endpoint.technology == "PJSIP":
                self.phone_seen(item.endpoint.resource, item.endpoint.online)
        elif isinstance(item, ContactStatusChange):
            self._contact_changed(item)
        elif isinstance(item, EndpointSeen):
            self.phone_seen(item.agent_id, item.online)
        elif isinstance(item, Connected):
            self.connected = True
            for watcher in self.watchers:
                watcher.asterisk(True)
            self._gone_while_away.clear()
            self._phones_while_away.clear()
            engine.mark_unreconciled()
            self.effector.fetch_snapshot()
        elif isinstance(item, Disconnected):
            self.connected = False
            for watcher in self.watchers:
                watcher.asterisk(False)
            log.warning("ARI events lost (%s); will reconcile on reconnect", item.reason)
            engine.mark_unreconciled()
        elif isinstance(item, AsteriskSnapshot):
            reconcile(self, item, self._gone_while_away, self._phones_while_away)
            self._gone_while_away.clear()
            self._phones_while_away.clear()
            engine.mark_reconciled()

    def _contact_changed(self, item: ContactStatusChange) -> None:
        if item.endpoint.technology != "PJSIP" or item.aor == CARRIER:
            return
        if self.registrations.seen(item.aor, item.uri, item.status, self.engine.now()):
            address = _host_of(item.uri)
            log.warning("volunteer %s: a new registration replaced the phone's", item.aor)
            security_log.phone_replaced(item.aor, address)
            for watcher in self.watchers:
                watcher.phone_replaced(item.aor)

    def phone_seen(self, agent_id: str, online: bool) -> None:
        if not self.engine.reconciled.is_set():
            self._phones_while_away[agent_id] = online
        self.phones[agent_id] = online
        try:
            agent = self.engine.acd.agent(agent_id)
        except acd.UnknownAgent:
            return
        if agent.phone_reachable != online:
            self.engine.to_acd(acd.AgentReachability(agent_id, online))

    # ------------------------------------------------------------------ channels

    def _on_stasis_start(self, event: StasisStart) -> None:
        channel = event.channel
        try:
            args = stasis_args.decode(list(event.args))
        except InvalidStasisArgs as exc:
            log.warning("channel entered Stasis with bad arguments (%s); hanging up", exc)
            self.hang_up_stray(channel.id)
            return
        if isinstance(args, stasis_args.InboundCall):
            line = self.lines.get(args.line_id)
            if line is None:
                log.warning("call for unknown line %r; hanging up", args.line_id)
                self.hang_up_stray(channel.id)
                return
            self.admit(channel.id, line)
            return
        parsed = parse_leg_id(channel.id)
        contact_id = parsed[1] if parsed is not None else contact_of_coaching(channel.id)
        if contact_id is None or contact_id not in self.engine.sessions:
            self.hang_up_stray(channel.id)  # a leg for an offer (or a coaching) that is gone
            return
        self.engine.to_session(contact_id, se.LegAnswered(channel.id))

    def _on_channel_gone(self, channel_id: str, cause: int | None) -> None:
        if not self.engine.reconciled.is_set():
            self._gone_while_away.add(channel_id)
        contact_id = self.engine.contact_of_caller(channel_id)
        if contact_id is None:
            parsed = parse_leg_id(channel_id)
            contact_id = parsed[1] if parsed is not None else contact_of_coaching(channel_id)
        if contact_id is not None:
            self.engine.to_session(contact_id, se.LegGone(channel_id, cause))

    def admit(self, channel_id: str, line: Line) -> None:
        """A caller for ``line``: open its session; the IVR welcomes and queues it, or says
        we are closed. Not answered yet: a call that goes straight to the queue is offered
        before it is answered (faster ringing)."""
        contact_id = str(uuid.uuid4())
        now_utc = datetime.fromtimestamp(self.engine.now(), UTC)
        status = self._hours_status(line, now_utc)
        opens_at = status.opens_at.astimezone(self._tz) if status.opens_at else None
        entered = flow.CallEntered(
            line.language,
            status.open,
            line.menu,
            opens_at=opens_at,
            local_now=now_utc.astimezone(self._tz),
        )
        session = ContactSession(
            contact_id,
            line.id,
            line.language,
            channel_id,
            priority=line.priority,
            presented_as=self.presented_as(line),
            ivr=flow.IvrCall(contact_id, self.cfg.ivr),
        )
        self.engine.open_session(session, entered)

    def presented_as(self, line: Line) -> str:
        """Caller id towards a volunteer's phone: the helpline's own name and number."""
        return f'"{self.cfg.helpline.name}" <{line.numbers[0]}>'

    def _hours_status(self, line: Line, now_utc: datetime) -> HoursStatus:
        if self._hours is None:
            return _ASSUMED_OPEN
        try:
            return self._hours(line.id, now_utc)
        except Exception:  # a child is never left in silence for a bug in the hours
            log.exception("opening hours unavailable for line %s; answering as open", line.id)
            return _ASSUMED_OPEN

    def partner_name(self, partner_id: str) -> str:
        """The directory's name of a partner (its id if it left the directory)."""
        return next((p.name for p in self.cfg.partners if p.id == partner_id), partner_id)

    def hang_up_stray(self, channel_id: str) -> None:
        """Hang up a channel that belongs to no session (its outcome is ignored)."""
        self.effector.submit(sc.Hangup("", channel_id))

    def delete_stray_bridge(self, bridge_id: str) -> None:
        self.effector.submit(sc.DeleteBridge("", bridge_id))


def _host_of(uri: str) -> str | None:
    """The host of a ``sip:user@host:port;params`` contact (a volunteer phone's address)."""
    rest = uri.split("@", 1)[-1].split(";", 1)[0]
    if rest.startswith("["):
        return rest[1:].split("]", 1)[0]
    return rest.rsplit(":", 1)[0] if rest.count(":") == 1 else rest
