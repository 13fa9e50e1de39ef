"""A small asyncio client for the Asterisk REST Interface (Asterisk 22), on aiohttp.

Why not an existing ARI library: ``ari-py`` (Digium's) is unmaintained since ~2017, synchronous
and builds its API at run time from Swagger (no types, no IDE help, surprises on Asterisk
upgrades); ``aioari``/``asyncari`` are thin forks of it with the same dynamic design and few
maintainers. We need ~40 calls, strict typing, a single error tree and full control over
reconnection and privacy (never keeping caller ids), which is less code to own than a wrapper.

Usage::

    async with AriClient("http://127.0.0.1:8088/ari", "helpline", "secret", "helpline") as ari:
        info = await ari.asterisk_info()
        await ari.bridges.create_with_id("queue-main", type="holding")
        await ari.channels.answer(channel_id)

Resources are grouped as in ARI (``ari.channels``, ``ari.bridges``, ``ari.endpoints``,
``ari.playbacks``, ``ari.applications``, ``ari.device_states``, ``ari.asterisk``). Every
failure is an :class:`~ari_app.errors.AriError`; a 404 is :class:`~ari_app.errors.AriNotFound`,
which callers treat as a normal race (the channel hung up meanwhile). The events websocket lives in
:mod:`ari_app.websocket`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote

import aiohttp

from ari_app.errors import (
    AriConflict,
    AriError,
    AriNotFound,
    AriProtocolError,
    AriUnavailable,
    error_for_status,
)
from ari_app.models import AsteriskInfo, Bridge, Channel, DeviceState, Endpoint, Playback

Params = Mapping[str, str | int | None]
HangupReason = Literal[
    "normal", "busy", "congestion", "no_answer", "timeout", "rejected", "unallocated",
    "normal_unspecified", "number_incomplete", "codec_mismatch", "interworking", "failure",
    "answered_elsewhere",
]  # fmt: skip
BridgeType = Literal["mixing", "holding"] | str  # str allows e.g. "mixing,dtmf_events"
MuteDirection = Literal["both", "in", "out"]


def basic_auth_header(user: str, password: str) -> str:
    """``Authorization`` value for ARI (built by hand: aiohttp 3.14 deprecates BasicAuth)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _csv(values: str | Sequence[str], what: str) -> str:
    """Join ARI list parameters; Stasis/ARI split on commas, so an item may not hold one."""
    if isinstance(values, str):
        return values
    for value in values:
        if "," in value:
            raise ValueError(f"{what}: an item may not contain a comma")
    return ",".join(values)


class AriClient:
    """ARI REST client owning one aiohttp session; use it as an async context manager."""

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        app: str,
        *,
        timeout_s: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        """E.g. ``http://127.0.0.1:8088/ari``."""
        self.user = user
        self.password = password
        self.app = app
        """Our Stasis application name (default ``app`` for originate/create)."""
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self.channels = Channels(self)
        self.bridges = Bridges(self)
        self.playbacks = Playbacks(self)
        self.endpoints = Endpoints(self)
        self.applications = Applications(self)
        self.device_states = DeviceStates(self)
        self.asterisk = AsteriskConfig(self)

    async def __aenter__(self) -> AriClient:
        self._session = aiohttp.ClientSession(
            headers={"Authorization": basic_auth_header(self.user, self.password)},
            timeout=self._timeout,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session (idempotent)."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def asterisk_info(self) -> AsteriskInfo:
        """``GET /asterisk/info``: version, entity id and start time."""
        return AsteriskInfo.parse(await self.request("GET", ["asterisk", "info"]))

    async def request(
        self,
        method: str,
        path: Sequence[str],
        params: Params | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Call ARI; ``path`` segments are URL-quoted. Returns decoded JSON (None if empty).

        Raises the :class:`AriError` subclass for the HTTP status, :class:`AriUnavailable` when
        Asterisk is unreachable and :class:`AriProtocolError` for a non-JSON body.
        """
        if self._session is None:
            raise RuntimeError("AriClient used outside 'async with'")
        # Only the path goes into error messages: query strings may hold phone numbers.
        shown = f"{method} /{'/'.join(path)}"
        url = self.base_url + "".join("/" + quote(p, safe="") for p in path)
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        try:
            async with self._session.request(method, url, params=query, json=body) as resp:
                raw = await resp.read()
                status = resp.status
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as exc:
            raise AriUnavailable(f"{shown}: Asterisk unreachable ({type(exc).__name__})") from exc
        except aiohttp.ClientError as exc:
            raise AriError(f"{shown}: {type(exc).__name__}") from exc
        if status >= 400:
            raise error_for_status(status, f"{shown}: {status} {_error_message(raw)}")
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise AriProtocolError(f"{shown}: response is not JSON") from exc


def _error_message(raw: bytes) -> str:
    """ARI errors are ``{"message": "..."}``; fall back to a short generic text."""
    try:
        message = json.loads(raw).get("message")
    except (ValueError, AttributeError):
        return "(no ARI message)"
    return message if isinstance(message, str) else "(no ARI message)"


def _as_list(data: Any, what: str) -> list[Any]:
    if not isinstance(data, list):
        raise AriProtocolError(f"{what}: expected a JSON list")
    return data


class _Resource:
    """Shared plumbing of the resource groups below."""

    def __init__(self, client: AriClient) -> None:
        self._client = client

    async def _call(
        self,
        method: str,
        *path: str,
        params: Params | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        return await self._client.request(method, path, params, body)


async def _play_on(
    resource: _Resource,
    kind: str,
    target_id: str,
    media: str | Sequence[str],
    playback_id: str | None,
    lang: str | None,
) -> Playback:
    """``POST /{channels|bridges}/{id}/play[/{playbackId}]``: one place for both targets."""
    params = {"media": _csv(media, "media"), "lang": lang}
    path = (kind, target_id, "play") + ((playback_id,) if playback_id else ())
    return Playback.parse(await resource._call("POST", *path, params=params))


class Channels(_Resource):
    """``/channels``: originate, answer, hang up, play, hold, mute, variables, DTMF."""

    async def list(self) -> list[Channel]:
        data = _as_list(await self._call("GET", "channels"), "channels")
        return [Channel.parse(c, f"channels[{i}]") for i, c in enumerate(data)]

    async def get(self, channel_id: str) -> Channel:
        return Channel.parse(await self._call("GET", "channels", channel_id))

    async def answer(self, channel_id: str) -> None:
        await self._call("POST", "channels", channel_id, "answer")

    async def hangup(self, channel_id: str, reason: HangupReason = "normal") -> None:
        await self._call("DELETE", "channels", channel_id, params={"reason": reason})

    async def originate(
        self,
        endpoint: str,
        *,
        channel_id: str | None = None,
        app: str | None = None,
        app_args: Sequence[str] = (),
        timeout_s: int = 30,
        variables: Mapping[str, str] | None = None,
        other_channel_id: str | None = None,
        originator: str | None = None,
        caller_id: str | None = None,
    ) -> Channel:
        """Dial ``endpoint`` (e.g. ``PJSIP/volunteer-17``) into our Stasis app.

        ``channel_id`` makes the new channel's id ours (deterministic, for recovery);
        ``originator`` links it to the caller's channel (codecs, linkedid).
        """
        params: dict[str, str | int | None] = {
            "endpoint": endpoint,
            "app": app or self._client.app,
            "appArgs": _csv(app_args, "app_args") or None,
            "channelId": channel_id,
            "otherChannelId": other_channel_id,
            "originator": originator,
            "callerId": caller_id,
            "timeout": timeout_s,
        }
        body = {"variables": dict(variables)} if variables else None
        return Channel.parse(await self._call("POST", "channels", params=params, body=body))

    async def snoop(
        self,
        channel_id: str,
        *,
        snoop_id: str,
        spy: str = "none",
        whisper: str = "none",
        app: str | None = None,
        app_args: Sequence[str] = (),
    ) -> Channel:
        """``POST /channels/{id}/snoop/{snoopId}``: a channel that hears (``spy``) and speaks
        into (``whisper``) ``channel_id`` in the given directions; it enters our app."""
        params: dict[str, str | int | None] = {
            "spy": spy,
            "whisper": whisper,
            "app": app or self._client.app,
            "appArgs": _csv(app_args, "app_args") or None,
        }
        data = await self._call("POST", "channels", channel_id, "snoop", snoop_id, params=params)
        return Channel.parse(data)

    async def create(
        self,
        endpoint: str,
        *,
        channel_id: str | None = None,
        app: str | None = None,
        app_args: Sequence[str] = (),
        variables: Mapping[str, str] | None = None,
        other_channel_id: str | None = None,
        originator: str | None = None,
    ) -> Channel:
        """``POST /channels/create``: create without dialling; then :meth:`dial` it later."""
        params: dict[str, str | int | None] = {
            "endpoint": endpoint,
            "app": app or self._client.app,
            "appArgs": _csv(app_args, "app_args") or None,
            "channelId": channel_id,
            "otherChannelId": other_channel_id,
            "originator": originator,
        }
        body = {"variables": dict(variables)} if variables else None
        data = await self._call("POST", "channels", "create", params=params, body=body)
        return Channel.parse(data)

    async def dial(self, channel_id: str, *, caller: str | None = None, timeout_s: int = 0) -> None:
        """Dial a channel made by :meth:`create` (``timeout_s`` 0 means no timeout)."""
        params = {"caller": caller, "timeout": timeout_s}
        await self._call("POST", "channels", channel_id, "dial", params=params)

    async def ring(self, channel_id: str) -> None:
        """Send ringing indication to the channel (the caller hears ringback)."""
        await self._call("POST", "channels", channel_id, "ring")

    async def ring_stop(self, channel_id: str) -> None:
        await self._call("DELETE", "channels", channel_id, "ring")

    async def continue_in_dialplan(
        self,
        channel_id: str,
        *,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
        label: str | None = None,
    ) -> None:
        """Leave Stasis and go on in the dialplan (the next priority if nothing is given)."""
        params = {"context": context, "extension": extension, "priority": priority, "label": label}
        await self._call("POST", "channels", channel_id, "continue", params=params)

    async def play(
        self,
        channel_id: str,
        media: str | Sequence[str],
        playback_id: str | None = None,
        *,
        lang: str | None = None,
    ) -> Playback:
        """Play ``sound:...`` URIs (several play in sequence) with our playback id."""
        return await _play_on(self, "channels", channel_id, media, playback_id, lang)

    async def start_moh(self, channel_id: str, moh_class: str | None = None) -> None:
        await self._call("POST", "channels", channel_id, "moh", params={"mohClass": moh_class})

    async def stop_moh(self, channel_id: str) -> None:
        await self._call("DELETE", "channels", channel_id, "moh")

    async def hold(self, channel_id: str) -> None:
        await self._call("POST", "channels", channel_id, "hold")

    async def unhold(self, channel_id: str) -> None:
        await self._call("DELETE", "channels", channel_id, "hold")

    async def mute(self, channel_id: str, direction: MuteDirection = "both") -> None:
        await self._call("POST", "channels", channel_id, "mute", params={"direction": direction})

    async def unmute(self, channel_id: str, direction: MuteDirection = "both") -> None:
        params = {"direction": direction}
        await self._call("DELETE", "channels", channel_id, "mute", params=params)

    async def get_variable(self, channel_id: str, name: str) -> str:
        """Read a channel variable; :class:`AriNotFound` if the channel or variable is unset."""
        data = await self._call(
            "GET", "channels", channel_id, "variable", params={"variable": name}
        )
        value = data.get("value") if isinstance(data, dict) else None
        if not isinstance(value, str):
            raise AriProtocolError("GET /channels/{id}/variable: expected {'value': str}")
        return value

    async def set_variable(self, channel_id: str, name: str, value: str) -> None:
        params = {"variable": name, "value": value}
        await self._call("POST", "channels", channel_id, "variable", params=params)

    async def send_dtmf(
        self,
        channel_id: str,
        dtmf: str,
        *,
        before_ms: int | None = None,
        between_ms: int | None = None,
        duration_ms: int | None = None,
        after_ms: int | None = None,
    ) -> None:
        params = {
            "dtmf": dtmf,
            "before": before_ms,
            "between": between_ms,
            "duration": duration_ms,
            "after": after_ms,
        }
        await self._call("POST", "channels", channel_id, "dtmf", params=params)


class Bridges(_Resource):
    """``/bridges``: deterministic-id bridges, membership, music on hold, announcements."""

    async def create_with_id(
        self, bridge_id: str, type: BridgeType = "mixing", name: str | None = None
    ) -> Bridge:
        """``POST /bridges/{id}``: create a bridge with our id (recovery finds it by id).

        Asterisk 22 answers 409 (:class:`AriConflict`) if the id exists already; use
        :meth:`ensure` when the bridge may survive from before a restart of ours.
        """
        params = {"type": type, "name": name}
        return Bridge.parse(await self._call("POST", "bridges", bridge_id, params=params))

    async def ensure(
        self, bridge_id: str, type: BridgeType = "mixing", name: str | None = None
    ) -> Bridge:
        """Return the bridge ``bridge_id``, creating it if it does not exist yet."""
        try:
            return await self.get(bridge_id)
        except AriNotFound:
            pass
        try:
            return await self.create_with_id(bridge_id, type, name)
        except AriConflict:  # created meanwhile by someone else
            return await self.get(bridge_id)

    async def get(self, bridge_id: str) -> Bridge:
        return Bridge.parse(await self._call("GET", "bridges", bridge_id))

    async def list(self) -> list[Bridge]:
        data = _as_list(await self._call("GET", "bridges"), "bridges")
        return [Bridge.parse(b, f"bridges[{i}]") for i, b in enumerate(data)]

    async def delete(self, bridge_id: str) -> None:
        await self._call("DELETE", "bridges", bridge_id)

    async def add_channel(
        self, bridge_id: str, channel_id: str | Sequence[str], *, role: str | None = None
    ) -> None:
        params = {"channel": _csv(channel_id, "channel_id"), "role": role}
        await self._call("POST", "bridges", bridge_id, "addChannel", params=params)

    async def remove_channel(self, bridge_id: str, channel_id: str | Sequence[str]) -> None:
        params = {"channel": _csv(channel_id, "channel_id")}
        await self._call("POST", "bridges", bridge_id, "removeChannel", params=params)

    async def start_moh(self, bridge_id: str, moh_class: str | None = None) -> None:
        await self._call("POST", "bridges", bridge_id, "moh", params={"mohClass": moh_class})

    async def stop_moh(self, bridge_id: str) -> None:
        await self._call("DELETE", "bridges", bridge_id, "moh")

    async def play(
        self,
        bridge_id: str,
        media: str | Sequence[str],
        playback_id: str | None = None,
        *,
        lang: str | None = None,
    ) -> Playback:
        """Play to everyone in the bridge (announcements to waiting callers)."""
        return await _play_on(self, "bridges", bridge_id, media, playback_id, lang)


class Playbacks(_Resource):
    """``/playbacks``: stop or inspect a playback by id."""

    async def get(self, playback_id: str) -> Playback:
        return Playback.parse(await self._call("GET", "playbacks", playback_id))

    async def stop(self, playback_id: str) -> None:
        await self._call("DELETE", "playbacks", playback_id)


class Endpoints(_Resource):
    """``/endpoints``: is a volunteer's softphone registered (``online``)?"""

    async def list(self) -> list[Endpoint]:
        data = _as_list(await self._call("GET", "endpoints"), "endpoints")
        return [Endpoint.parse(e, f"endpoints[{i}]") for i, e in enumerate(data)]

    async def get(self, technology: str, resource: str) -> Endpoint:
        return Endpoint.parse(await self._call("GET", "endpoints", technology, resource))


class Applications(_Resource):
    """``/applications``: subscribe our app to extra event sources."""

    async def subscribe(self, event_source: str | Sequence[str], app: str | None = None) -> None:
        """E.g. ``"endpoint:PJSIP"`` for all PJSIP endpoint state changes."""
        params = {"eventSource": _csv(event_source, "event_source")}
        await self._call(
            "POST", "applications", app or self._client.app, "subscription", params=params
        )

    async def unsubscribe(self, event_source: str | Sequence[str], app: str | None = None) -> None:
        params = {"eventSource": _csv(event_source, "event_source")}
        await self._call(
            "DELETE", "applications", app or self._client.app, "subscription", params=params
        )


class DeviceStates(_Resource):
    """``/deviceStates``: device states as Asterisk sees them."""

    async def list(self) -> list[DeviceState]:
        data = _as_list(await self._call("GET", "deviceStates"), "deviceStates")
        return [DeviceState.parse(d, f"deviceStates[{i}]") for i, d in enumerate(data)]


class AsteriskConfig(_Resource):
    """``/asterisk/config/dynamic``: create, replace and delete sorcery objects in Asterisk's
    memory without a config reload (browser phones' short-lived auth objects).

    Only object types ``sorcery.conf`` maps to a writable wizard can be changed (``auth=memory``
    for ``res_pjsip``); objects from a config file answer 403 (:class:`AriAuthError`).
    """

    async def config_dynamic_put(
        self,
        config_class: str,
        object_type: str,
        object_id: str,
        fields: Mapping[str, str],
    ) -> dict[str, str]:
        """Create or replace the object with exactly ``fields``; returns every field Asterisk
        now holds for it (defaults included). The body holds secrets: it is never logged or
        put into an error message."""
        body = {"fields": [{"attribute": k, "value": v} for k, v in fields.items()]}
        path = ("asterisk", "config", "dynamic", config_class, object_type, object_id)
        return _fields(await self._call("PUT", *path, body=body), "PUT config/dynamic")

    async def config_dynamic_get(
        self, config_class: str, object_type: str, object_id: str
    ) -> dict[str, str]:
        """The object's fields; :class:`AriNotFound` when there is none."""
        path = ("asterisk", "config", "dynamic", config_class, object_type, object_id)
        return _fields(await self._call("GET", *path), "GET config/dynamic")

    async def config_dynamic_delete(
        self, config_class: str, object_type: str, object_id: str
    ) -> None:
        """Delete the object: :class:`AriNotFound` when there is none, :class:`AriAuthError`
        (403) when it comes from a file and cannot be deleted."""
        path = ("asterisk", "config", "dynamic", config_class, object_type, object_id)
        await self._call("DELETE", *path)


def _fields(data: Any, what: str) -> dict[str, str]:
    """ARI's ``[{"attribute": name, "value": value}, ...]`` as a dict."""
    out: dict[str, str] = {}
    for item in _as_list(data, what):
        if not isinstance(item, dict):
            raise AriProtocolError(f"{what}: expected attribute objects")
        name, value = item.get("attribute"), item.get("value")
        if not isinstance(name, str) or not isinstance(value, str):
            raise AriProtocolError(f"{what}: expected string attributes and values")
        out[name] = value
    return out
