"""Inputs of the engine that are not a router's: deadlines, requests, effect outcomes; and
how a request's caller gets its answer (``settle``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from acd.record import record


@record
class Tick:
    """A deadline of the core or of a session is due."""


@record
class EffectOutcome:
    """What an effector made of one command."""

    contact_id: str
    """The contact whose session asked for it."""
    command: object
    """The command."""
    kind: str
    """``done``, ``not_found``, ``conflict``, ``timeout``, ``unavailable`` or ``error``."""


def _new_future() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


@dataclass(slots=True)
class AcdRequest:
    """An ACD event from outside the writer (the HTTP API); ``future`` gets ``None`` once it
    is journaled, or the core's refusal (``acd.AcdError``)."""

    event: Any
    future: asyncio.Future[Any] = field(default_factory=_new_future)


@dataclass(slots=True)
class Request:
    """Work from outside the writer (the HTTP API): ``action`` runs inside one step and its
    result (or error) goes back through ``future`` once the step's journal entries are
    written."""

    action: Callable[[], Any]
    future: asyncio.Future[Any] = field(default_factory=_new_future)


def settle(
    request: Request | AcdRequest, *, result: Any = None, exc: BaseException | None = None
) -> None:
    """Answer the request's caller with ``result`` or ``exc``, once (a future already done,
    e.g. cancelled by its caller, is left alone)."""
    if request.future.done():
        return
    if exc is not None:
        request.future.set_exception(exc)
    else:
        request.future.set_result(result)
