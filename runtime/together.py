"""Start a set of processes together, and stop them all if one cannot start.

Used by the simulator's phone pool and the benchmarks' phones: a half-started set would leave
sipp processes holding ports and registrations behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Generic, Protocol, Self, TypeVar


class Startable(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


M = TypeVar("M", bound=Startable)


class StartedTogether(Generic[M]):
    """An async context manager over ``members``: all started on entry (concurrently); if
    any fails, every one is stopped and the first error raised; all stopped on exit."""

    def __init__(self, members: Sequence[M]) -> None:
        self.members = list(members)

    async def __aenter__(self) -> Self:
        results = await asyncio.gather(*(m.start() for m in self.members), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await self.stop()
            raise errors[0]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        await asyncio.gather(*(m.stop() for m in self.members), return_exceptions=True)
