"""Plain-data forms of events and of the whole state, for the journal and snapshots.

Everything here is JSON-able. Decoding validates every field and raises ``InvalidEvent``
naming it, so a corrupt journal entry is refused instead of misread.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import Enum
from typing import Any

from acd import events as ev
from acd.errors import InvalidEvent, UnknownStrategy
from acd.model import LANGUAGE, AcdState, Agent, Contact
from acd.states import AgentState, ContactState
from acd.strategy import RoutingStrategy, strategy_by_name

SNAPSHOT_VERSION = 1

_EVENTS_BY_NAME: dict[str, type[ev.Event]] = {cls.__name__: cls for cls in ev.EVENT_TYPES}


def _encode(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


def _decode(where: str, hint: Any, value: Any) -> Any:
    """Check ``value`` against a field's type hint and convert it back."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        (inner,) = [o for o in options if o is not type(None)]
        return _decode(where, inner, value)
    if origin is frozenset:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidEvent(f"{where}: expected a list of strings")
        return frozenset(value)
    if origin is dict:
        key_hint, value_hint = typing.get_args(hint)
        if not isinstance(value, dict):
            raise InvalidEvent(f"{where}: expected an object")
        return {k: _decode(f"{where}.{k}", value_hint, v) for k, v in value.items()}
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise InvalidEvent(f"{where}: expected a list")
        return tuple(_decode(where, float, v) for v in value)
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(value)
        except ValueError:
            raise InvalidEvent(f"{where}: {value!r} is not a valid {hint.__name__}") from None
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidEvent(f"{where}: expected a number")
        return float(value)
    if hint is int or hint is bool or hint is str:
        if type(value) is not hint:
            raise InvalidEvent(f"{where}: expected {hint.__name__}")
        return value
    raise InvalidEvent(f"{where}: cannot decode type {hint!r}")


def _to_dict(obj: Any) -> dict[str, Any]:
    return {f.name: _encode(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def _from_dict(cls: type[Any], data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise InvalidEvent(f"{where}: expected an object")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _decode(f"{where}.{f.name}", hints[f.name], data[f.name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise InvalidEvent(f"{where}: missing field {f.name!r}")
    unknown = set(data) - {f.name for f in dataclasses.fields(cls)} - {"type"}
    if unknown:
        raise InvalidEvent(f"{where}: unknown fields {sorted(unknown)}")
    return cls(**kwargs)


def event_to_dict(event: ev.Event) -> dict[str, Any]:
    """``{"type": "ContactArrived", ...fields}``."""
    return {"type": type(event).__name__, **_to_dict(event)}


def event_from_dict(data: Any) -> ev.Event:
    """The inverse of ``event_to_dict``; ``InvalidEvent`` names what is wrong."""
    if not isinstance(data, dict):
        raise InvalidEvent("event: expected an object")
    name = data.get("type")
    cls = _EVENTS_BY_NAME.get(name) if isinstance(name, str) else None
    if cls is None:
        raise InvalidEvent(f"event: unknown type {name!r}")
    event: ev.Event = _from_dict(cls, data, cls.__name__)
    return event


def state_to_dict(state: AcdState) -> dict[str, Any]:
    """A distributor's exported state as JSON-able data (``Acd.snapshot``)."""
    return {
        "version": SNAPSHOT_VERSION,
        "strategy": state.strategy,
        "seq": state.seq,
        "now": state.now,
        "agents": [_to_dict(a) for a in state.agents],
        "contacts": [_to_dict(c) for c in state.contacts],
        "surge": state.surge,
        "coaching": sorted(state.coaching),
    }


def recorded_strategy(data: Any) -> RoutingStrategy:
    """The routing strategy a snapshot was taken with."""
    _check_version(data)
    name = data.get("strategy")
    if not isinstance(name, str):
        raise InvalidEvent("snapshot.strategy: expected a strategy name")
    try:
        return strategy_by_name(name)
    except UnknownStrategy as exc:
        raise InvalidEvent(f"snapshot.strategy: {exc}") from None


def _check_references(agents: list[Agent], contacts: list[Contact]) -> None:
    """Refuse a snapshot whose agents and contacts do not point at each other consistently."""
    by_agent = {a.agent_id: a for a in agents}
    by_contact = {c.contact_id: c for c in contacts}
    for contact in contacts:
        if contact.state is ContactState.QUEUED:
            continue
        agent = by_agent.get(contact.agent_id or "")
        held = contact.state is ContactState.CONNECTED
        if agent is None or (
            contact.contact_id not in agent.contacts if held else agent.offer != contact.contact_id
        ):
            raise InvalidEvent(
                f"snapshot: contact {contact.contact_id} points at {contact.agent_id!r},"
                " which does not hold it"
            )
    for agent in agents:
        pointed = ([agent.offer] if agent.offer else []) + list(agent.contacts)
        for contact_id in pointed:
            if contact_id not in by_contact:
                raise InvalidEvent(
                    f"snapshot: agent {agent.agent_id} holds unknown contact {contact_id}"
                )


def _check_version(data: Any) -> None:
    if not isinstance(data, dict) or data.get("version") != SNAPSHOT_VERSION:
        version = data.get("version") if isinstance(data, dict) else None
        raise InvalidEvent(f"snapshot: unsupported version {version!r}")


def state_from_dict(data: Any) -> AcdState:
    """The inverse of ``state_to_dict``, checked: ``InvalidEvent`` names what is wrong."""
    strategy = recorded_strategy(data).name
    agents = [_from_dict(Agent, a, "snapshot.agents") for a in _list(data, "agents")]
    contacts = [_from_dict(Contact, c, "snapshot.contacts") for c in _list(data, "contacts")]
    for contact in contacts:
        if contact.state not in (ContactState.QUEUED, ContactState.OFFERED, ContactState.CONNECTED):
            raise InvalidEvent(f"snapshot: contact {contact.contact_id} is in a terminal state")
        names = contact.skills | ({LANGUAGE} if contact.language is not None else set())
        if (
            not contact.relax_early <= contact.relax_at.keys()
            or not contact.relaxed | contact.relax_at.keys() <= names
            or contact.requires != contact.current_requirements()
        ):
            raise InvalidEvent(
                f"snapshot: contact {contact.contact_id}'s requirements do not match"
                " its relaxations"
            )
        returned = contact.returned_at is not None
        if (
            contact.returns < 0
            or returned != (contact.returns > 0)
            or (returned and contact.answered_at is None)
        ):
            raise InvalidEvent(
                f"snapshot: contact {contact.contact_id}'s return does not add up"
                " (returned_at, returns and answered_at)"
            )
    # Snapshots from before coaching was the core's have neither the list nor the flags.
    coaching = _decode("snapshot.coaching", frozenset[str], data.get("coaching", []))
    for agent in agents:
        if agent.state is AgentState.LOGGED_OUT:
            raise InvalidEvent(f"snapshot: agent {agent.agent_id} is logged out")
        if agent.coaching != (agent.agent_id in coaching):
            raise InvalidEvent(
                f"snapshot: agent {agent.agent_id}'s coaching does not match snapshot.coaching"
            )
    _check_references(agents, contacts)
    seq = _decode("snapshot.seq", int, data.get("seq"))
    now = data.get("now")
    clock = None if now is None else _decode("snapshot.now", float, now)
    surge = data.get("surge", False)  # snapshots from before surge mode have none
    if not isinstance(surge, bool):
        raise InvalidEvent("snapshot.surge: expected true or false")
    return AcdState(strategy, seq, clock, tuple(agents), tuple(contacts), surge, coaching)


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list):
        raise InvalidEvent(f"snapshot.{key}: expected a list")
    return value
