"""Typed snapshots of the ARI objects we use (channel, bridge, playback, endpoint, ...).

Both REST responses and websocket events are parsed into these frozen dataclasses, so the
rest of the code never indexes raw JSON.

Privacy: ARI's channel JSON carries ``caller`` and ``connected`` (number and name). Our
:class:`Channel` deliberately has no field for them: they are dropped while parsing and can
not leak into logs, storage or the ACD by accident.

Parsing failures raise :class:`~ari_app.errors.AriProtocolError` naming the field, never the
value (values may be personal data).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ari_app.errors import AriProtocolError

T = TypeVar("T")


class Fields:
    """Checked access to one JSON object; errors name the field path, not its value."""

    __slots__ = ("_data", "_where")

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, Mapping):
            raise AriProtocolError(f"{where}: expected a JSON object")
        self._data: Mapping[str, Any] = data
        self._where = where

    def _get(self, key: str, required: bool) -> Any:
        value = self._data.get(key)
        if value is None and required:
            raise AriProtocolError(f"{self._where}.{key}: required field is missing")
        return value

    def req_str(self, key: str) -> str:
        value = self._get(key, True)
        if not isinstance(value, str):
            raise AriProtocolError(f"{self._where}.{key}: expected a string")
        return value

    def opt_str(self, key: str) -> str | None:
        value = self._get(key, False)
        if value is not None and not isinstance(value, str):
            raise AriProtocolError(f"{self._where}.{key}: expected a string")
        return value

    def req_int(self, key: str) -> int:
        value = self._get(key, True)
        # bool is an int subclass in Python; JSON true is not a number.
        if not isinstance(value, int) or isinstance(value, bool):
            raise AriProtocolError(f"{self._where}.{key}: expected an integer")
        return value

    def opt_int(self, key: str) -> int | None:
        if self._get(key, False) is None:
            return None
        return self.req_int(key)

    def opt_bool(self, key: str) -> bool | None:
        value = self._get(key, False)
        if value is not None and not isinstance(value, bool):
            raise AriProtocolError(f"{self._where}.{key}: expected a boolean")
        return value

    def str_list(self, key: str) -> tuple[str, ...]:
        """A list of strings; a missing list reads as empty (ARI omits empty lists)."""
        value = self._get(key, False)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise AriProtocolError(f"{self._where}.{key}: expected a list of strings")
        return tuple(value)

    def has(self, key: str) -> bool:
        return self._data.get(key) is not None

    def nested(self, key: str, parse: Callable[[object, str], T]) -> T:
        """Parse the required sub-object ``key`` with e.g. ``Channel.parse``."""
        return parse(self._get(key, True), f"{self._where}.{key}")

    def obj(self, key: str) -> Fields:
        return Fields(self._get(key, True), f"{self._where}.{key}")

    def opt_obj(self, key: str) -> Fields | None:
        value = self._get(key, False)
        return None if value is None else Fields(value, f"{self._where}.{key}")


@dataclass(frozen=True, slots=True)
class Channel:
    """A channel snapshot, without caller/connected party identity (see module docstring)."""

    id: str
    """Asterisk's unique id of the channel (ours when we originate with ``channel_id``)."""
    name: str
    """Technology name, e.g. ``PJSIP/trunk-00000012``."""
    state: str
    """``Down``, ``Ring``, ``Ringing``, ``Up``, ``Busy``, ..."""
    context: str | None = None
    """Dialplan context the channel is (or was last) in."""
    exten: str | None = None
    """Dialplan extension, i.e. the dialled service number, not the caller's."""
    priority: int | None = None
    """Dialplan priority."""
    creation_time: str | None = None
    """ISO timestamp of channel creation, as Asterisk formats it."""

    @classmethod
    def parse(cls, data: object, where: str = "channel") -> Channel:
        f = Fields(data, where)
        dialplan = f.opt_obj("dialplan")
        return cls(
            id=f.req_str("id"),
            name=f.req_str("name"),
            state=f.req_str("state"),
            context=dialplan.opt_str("context") if dialplan else None,
            exten=dialplan.opt_str("exten") if dialplan else None,
            priority=dialplan.opt_int("priority") if dialplan else None,
            creation_time=f.opt_str("creationtime"),
        )


@dataclass(frozen=True, slots=True)
class Bridge:
    """A bridge snapshot."""

    id: str
    """Bridge id; ours are deterministic so recovery can find them."""
    bridge_type: str
    """``mixing`` or ``holding`` (ARI calls it bridge_type)."""
    technology: str
    """Bridging technology Asterisk chose, e.g. ``simple_bridge``, ``holding_bridge``."""
    name: str
    """Name given at creation (may be empty)."""
    channel_ids: tuple[str, ...]
    """Ids of the channels currently in the bridge."""

    @classmethod
    def parse(cls, data: object, where: str = "bridge") -> Bridge:
        f = Fields(data, where)
        return cls(
            id=f.req_str("id"),
            bridge_type=f.opt_str("bridge_type") or "",
            technology=f.opt_str("technology") or "",
            name=f.opt_str("name") or "",
            channel_ids=f.str_list("channels"),
        )


@dataclass(frozen=True, slots=True)
class Playback:
    """A playback snapshot."""

    id: str
    """Playback id (ours when we pass one)."""
    media_uri: str
    """What is played, e.g. ``sound:helpline/welcome``."""
    target_uri: str
    """Where it plays: ``channel:<id>`` or ``bridge:<id>``."""
    state: str
    """``queued``, ``playing``, ``done``, ``failed``, ..."""

    @classmethod
    def parse(cls, data: object, where: str = "playback") -> Playback:
        f = Fields(data, where)
        return cls(
            id=f.req_str("id"),
            media_uri=f.req_str("media_uri"),
            target_uri=f.req_str("target_uri"),
            state=f.opt_str("state") or "",
        )


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An endpoint (e.g. a volunteer's PJSIP softphone registration)."""

    technology: str
    """``PJSIP``."""
    resource: str
    """Endpoint name, e.g. ``volunteer-17``."""
    state: str
    """``online``, ``offline`` or ``unknown``."""
    channel_ids: tuple[str, ...]
    """Channels currently on this endpoint."""

    @property
    def online(self) -> bool:
        return self.state == "online"

    @classmethod
    def parse(cls, data: object, where: str = "endpoint") -> Endpoint:
        f = Fields(data, where)
        return cls(
            technology=f.req_str("technology"),
            resource=f.req_str("resource"),
            state=f.opt_str("state") or "unknown",
            channel_ids=f.str_list("channel_ids"),
        )


@dataclass(frozen=True, slots=True)
class DeviceState:
    """A device state, e.g. ``PJSIP/volunteer-17`` -> ``NOT_INUSE``."""

    name: str
    """Device name."""
    state: str
    """``UNKNOWN``, ``NOT_INUSE``, ``INUSE``, ``BUSY``, ``UNAVAILABLE``, ``RINGING``, ..."""

    @classmethod
    def parse(cls, data: object, where: str = "device_state") -> DeviceState:
        f = Fields(data, where)
        return cls(name=f.req_str("name"), state=f.req_str("state"))


@dataclass(frozen=True, slots=True)
class AsteriskInfo:
    """The parts of ``GET /asterisk/info`` we use."""

    version: str
    """Asterisk version, e.g. ``22.1.0``."""
    entity_id: str
    """The system's entity id (MAC-like); changes tell us we talk to another Asterisk."""
    startup_time: str | None
    """When Asterisk started; a change means it restarted (reconcile everything)."""

    @classmethod
    def parse(cls, data: object, where: str = "asterisk_info") -> AsteriskInfo:
        f = Fields(data, where)
        system = f.obj("system")
        status = f.opt_obj("status")
        return cls(
            version=system.req_str("version"),
            entity_id=system.opt_str("entity_id") or "",
            startup_time=status.opt_str("startup_time") if status else None,
        )
