"""ARI websocket events -> frozen, slotted dataclasses.

:func:`parse_event` is the only entry point. Its contract (fuzzed in the unit tests): for any
input it returns one of the :data:`AriEvent` types or raises :class:`MalformedAriEvent`;
nothing else escapes (no ``KeyError``, ``TypeError``, ``JSONDecodeError``).

Event types we do not model become :class:`UnknownEvent`, which keeps only the type name:
unmodelled events such as ``ChannelCallerId`` carry the caller's number, so we keep none of
their payload. Channel snapshots inside events are :class:`~ari_app.models.Channel`, which has
no caller/connected fields at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from ari_app.errors import AriProtocolError, MalformedAriEvent
from ari_app.models import Bridge, Channel, DeviceState, Endpoint, Fields, Playback


@dataclass(frozen=True, slots=True)
class StasisStart:
    """A channel entered our Stasis application."""

    application: str
    """The Stasis application name."""
    channel: Channel
    """The channel that entered."""
    args: tuple[str, ...]
    """The ``Stasis(app,arg1,arg2)`` arguments (or ``appArgs`` of an originate)."""
    replace_channel_id: str | None = None
    """Set when this channel replaces another one (masquerade/transfer)."""

    @property
    def exten(self) -> str | None:
        """The dialled service extension (e.g. ``116111``)."""
        return self.channel.exten


@dataclass(frozen=True, slots=True)
class StasisEnd:
    """A channel left our Stasis application (hung up or continued in the dialplan)."""

    application: str
    """The Stasis application name."""
    channel: Channel
    """The channel that left."""


@dataclass(frozen=True, slots=True)
class ChannelStateChange:
    """A channel changed state (e.g. ``Ringing`` -> ``Up`` when answered)."""

    application: str
    """The Stasis application name."""
    channel: Channel
    """The channel, with its new ``state``."""


@dataclass(frozen=True, slots=True)
class ChannelDestroyed:
    """A channel is gone for good."""

    application: str
    """The Stasis application name."""
    channel: Channel
    """Last snapshot of the channel."""
    cause: int
    """Q.850 hangup cause (16 normal clearing, 17 busy, 19 no answer, ...)."""
    cause_txt: str
    """Asterisk's text for the cause."""


@dataclass(frozen=True, slots=True)
class ChannelHangupRequest:
    """Someone asked to hang the channel up (e.g. the far end sent BYE)."""

    application: str
    """The Stasis application name."""
    channel: Channel
    """The channel."""
    cause: int | None = None
    """Q.850 cause, when known."""
    soft: bool = False
    """True for a soft hangup request."""


@dataclass(frozen=True, slots=True)
class ChannelDtmfReceived:
    """A DTMF digit ended on a channel (IVR input)."""

    application: str
    """The Stasis application name."""
    channel: Channel
    """The channel that sent the digit."""
    digit: str
    """One of ``0-9 * # A-D``."""
    duration_ms: int | None = None
    """How long the digit was held."""


@dataclass(frozen=True, slots=True)
class PlaybackStarted:
    """A playback started on a channel or bridge."""

    application: str
    """The Stasis application name."""
    playback: Playback
    """The playback; ``playback.target_uri`` is ``channel:<id>`` or ``bridge:<id>``."""


@dataclass(frozen=True, slots=True)
class PlaybackFinished:
    """A playback finished (completed, stopped or failed; see ``playback.state``)."""

    application: str
    """The Stasis application name."""
    playback: Playback
    """The playback."""


@dataclass(frozen=True, slots=True)
class ChannelEnteredBridge:
    """A channel entered a bridge."""

    application: str
    """The Stasis application name."""
    bridge: Bridge
    """The bridge, after the channel entered."""
    channel: Channel | None
    """The channel (ARI marks it optional here)."""


@dataclass(frozen=True, slots=True)
class ChannelLeftBridge:
    """A channel left a bridge."""

    application: str
    """The Stasis application name."""
    bridge: Bridge
    """The bridge, after the channel left."""
    channel: Channel
    """The channel."""


@dataclass(frozen=True, slots=True)
class ContactStatusChange:
    """A registration (contact) of an endpoint was created, removed or changed reachability
    (needs an ``endpoint:PJSIP`` subscription)."""

    application: str
    """The Stasis application name."""
    endpoint: Endpoint
    """The endpoint the contact belongs to."""
    aor: str
    """The address of record (the volunteer's account)."""
    uri: str
    """Where the phone registered from (a volunteer's phone, never a caller)."""
    status: str
    """``Created``, ``Removed``, ``Reachable``, ``Unreachable``, ``NonQualified``..."""


def _contact_status(f: Fields, app: str) -> AriEvent:
    info = f.obj("contact_info")
    return ContactStatusChange(
        application=app,
        endpoint=f.nested("endpoint", Endpoint.parse),
        aor=info.req_str("aor"),
        uri=info.req_str("uri"),
        status=info.req_str("contact_status"),
    )


@dataclass(frozen=True, slots=True)
class EndpointStateChange:
    """An endpoint went online or offline (needs an ``endpoint:PJSIP`` subscription)."""

    application: str
    """The Stasis application name."""
    endpoint: Endpoint
    """The endpoint with its new state."""

    @property
    def technology(self) -> str:
        return self.endpoint.technology

    @property
    def resource(self) -> str:
        return self.endpoint.resource

    @property
    def state(self) -> str:
        return self.endpoint.state


@dataclass(frozen=True, slots=True)
class DeviceStateChanged:
    """A device state changed (needs a ``deviceState:`` subscription)."""

    application: str
    """The Stasis application name."""
    device_state: DeviceState
    """The device and its new state."""


@dataclass(frozen=True, slots=True)
class Dial:
    """Progress of a dial from ``caller_channel`` (if any) to ``peer``."""

    application: str
    """The Stasis application name."""
    peer: Channel
    """The channel being dialled."""
    dialstatus: str
    """Empty while in progress, then ``RINGING``, ``ANSWER``, ``BUSY``, ``NOANSWER``, ..."""
    caller_channel: Channel | None = None
    """The dialling channel (ARI's ``caller`` field: a channel, not a caller id)."""


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """Any event type we do not model; its payload is dropped on purpose (privacy)."""

    type: str
    """The ARI event type, e.g. ``ChannelVarset``."""
    application: str | None = None
    """The Stasis application name, when present."""


AriEvent = (
    StasisStart
    | StasisEnd
    | ChannelStateChange
    | ChannelDestroyed
    | ChannelHangupRequest
    | ChannelDtmfReceived
    | PlaybackStarted
    | PlaybackFinished
    | ChannelEnteredBridge
    | ChannelLeftBridge
    | EndpointStateChange
    | ContactStatusChange
    | DeviceStateChanged
    | Dial
    | UnknownEvent
)


def _stasis_start(f: Fields, app: str) -> AriEvent:
    return StasisStart(
        application=app,
        channel=f.nested("channel", Channel.parse),
        args=f.str_list("args"),
        replace_channel_id=(rc.req_str("id") if (rc := f.opt_obj("replace_channel")) else None),
    )


def _channel_destroyed(f: Fields, app: str) -> AriEvent:
    return ChannelDestroyed(
        application=app,
        channel=f.nested("channel", Channel.parse),
        cause=f.req_int("cause"),
        cause_txt=f.opt_str("cause_txt") or "",
    )


def _hangup_request(f: Fields, app: str) -> AriEvent:
    return ChannelHangupRequest(
        application=app,
        channel=f.nested("channel", Channel.parse),
        cause=f.opt_int("cause"),
        soft=bool(f.opt_bool("soft")),
    )


def _dtmf(f: Fields, app: str) -> AriEvent:
    return ChannelDtmfReceived(
        application=app,
        channel=f.nested("channel", Channel.parse),
        digit=f.req_str("digit"),
        duration_ms=f.opt_int("duration_ms"),
    )


def _entered_bridge(f: Fields, app: str) -> AriEvent:
    return ChannelEnteredBridge(
        application=app,
        bridge=f.nested("bridge", Bridge.parse),
        channel=f.nested("channel", Channel.parse) if f.has("channel") else None,
    )


def _dial(f: Fields, app: str) -> AriEvent:
    return Dial(
        application=app,
        peer=f.nested("peer", Channel.parse),
        dialstatus=f.req_str("dialstatus"),
        caller_channel=f.nested("caller", Channel.parse) if f.has("caller") else None,
    )


_PARSERS: dict[str, Callable[[Fields, str], AriEvent]] = {
    "StasisStart": _stasis_start,
    "StasisEnd": lambda f, app: StasisEnd(app, f.nested("channel", Channel.parse)),
    "ChannelStateChange": lambda f, app: ChannelStateChange(
        app, f.nested("channel", Channel.parse)
    ),
    "ChannelDestroyed": _channel_destroyed,
    "ChannelHangupRequest": _hangup_request,
    "ChannelDtmfReceived": _dtmf,
    "PlaybackStarted": lambda f, app: PlaybackStarted(app, f.nested("playback", Playback.parse)),
    "PlaybackFinished": lambda f, app: PlaybackFinished(app, f.nested("playback", Playback.parse)),
    "ChannelEnteredBridge": _entered_bridge,
    "ChannelLeftBridge": lambda f, app: ChannelLeftBridge(
        app, f.nested("bridge", Bridge.parse), f.nested("channel", Channel.parse)
    ),
    "ContactStatusChange": _contact_status,
    "EndpointStateChange": lambda f, app: EndpointStateChange(
        app, f.nested("endpoint", Endpoint.parse)
    ),
    "DeviceStateChanged": lambda f, app: DeviceStateChanged(
        app, f.nested("device_state", DeviceState.parse)
    ),
    "Dial": _dial,
}

KNOWN_EVENT_TYPES: frozenset[str] = frozenset(_PARSERS)
"""Event types parsed into their own class; anything else is an :class:`UnknownEvent`."""


def parse_event(data: str | bytes | object) -> AriEvent:
    """Parse one ARI event (JSON text, or an already decoded object).

    Raises :class:`MalformedAriEvent` for invalid JSON, a non-object, or a missing/mistyped
    required field; the message names the field but never echoes the payload.
    """
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, too deep
            raise MalformedAriEvent("ARI event is not valid JSON") from exc
    try:
        f = Fields(data, "event")
        event_type = f.req_str("type")
        parser = _PARSERS.get(event_type)
        if parser is None:
            return UnknownEvent(type=event_type, application=f.opt_str("application"))
        f = Fields(data, event_type)  # errors now read "StasisStart.channel.id: ..."
        return parser(f, f.req_str("application"))
    except MalformedAriEvent:
        raise
    except AriProtocolError as exc:
        raise MalformedAriEvent(str(exc)) from exc
