"""Profiling our app in the bench's process: the ARI boundary (StasisStart in, originate out)
and, while the app still has them, its internals (admit, the writer, the journal)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Profile:
    """Where the ACD spends a call's time before the volunteer's phone rings (this process)."""

    ari_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    stasis_seen: dict[str, float] = field(default_factory=dict)
    """Caller channel -> when its StasisStart frame reached our websocket reader (wall clock)."""
    originated: dict[str, float] = field(default_factory=dict)
    """Caller channel (the originate's ``originator``) -> when the originate request started."""
    admit_start: list[float] = field(default_factory=list)
    admit_ms: list[float] = field(default_factory=list)
    offer_start: list[float] = field(default_factory=list)
    journal_ms: list[float] = field(default_factory=list)
    writer_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    """Time the single writer spends per input, by input type."""
    missing: list[str] = field(default_factory=list)
    """Hooks that the app under test no longer has (its internals moved): not profiled."""
    recording: bool = False


def install_profiling(profile: Profile) -> None:
    """Stamp the ARI boundary (StasisStart in, originate out) and time the app's internals.

    The boundary needs only ``AriClient.request`` and the websocket's ``parse_event``, so it
    survives rewrites of the app. The internal hooks are the engine's writer steps and journal
    appends (or, in the app before the engine, ``admit``, the writer and the journal); those
    the app under test does not have are skipped and named in the report.
    """
    import ari_app.websocket as ws_module
    from ari_app.client import AriClient

    def timed(cls: Any, name: str, record: Callable[[float, float, tuple[Any, ...]], None]) -> None:
        original = getattr(cls, name, None)
        if original is None:
            profile.missing.append(f"{cls.__name__}.{name}")
            return

        async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            start = time.time()
            t0 = time.perf_counter()
            try:
                return await original(self, *args, **kwargs)
            finally:
                if profile.recording:
                    record(start, (time.perf_counter() - t0) * 1000, args)

        setattr(cls, name, wrapper)

    def ari(start: float, ms: float, args: tuple[Any, ...]) -> None:
        method, path = args[0], list(args[1])
        params = args[2] if len(args) > 2 and args[2] else {}
        if method == "POST" and path[:1] == ["channels"] and params.get("originator"):
            profile.originated.setdefault(str(params["originator"]), start)
        if len(path) > 1:
            path[1] = "{id}"
        profile.ari_ms[f"{method} /{'/'.join(path)}"].append(ms)

    timed(AriClient, "request", ari)
    parse = getattr(ws_module, "parse_event", None)
    if parse is None:
        profile.missing.append("ari_app.websocket.parse_event")
    else:

        def parse_stamped(data: Any) -> Any:
            seen = time.time()
            event = parse(data)
            if profile.recording and type(event).__name__ == "StasisStart":
                profile.stasis_seen.setdefault(event.channel.id, seen)
            return event

        ws_module.parse_event = parse_stamped  # type: ignore[attr-defined]

    def admit(start: float, ms: float, args: tuple[Any, ...]) -> None:
        profile.admit_start.append(start)
        profile.admit_ms.append(ms)

    def writer(start: float, ms: float, args: tuple[Any, ...]) -> None:
        item = args[0]
        kind = type(item).__name__
        if kind == "UnknownEvent":
            kind = f"(ignored) {getattr(item, 'type', '?')}"
        profile.writer_ms[kind].append(ms)

    try:  # the engine of issue 7: one writer step per input, the journal append
        from engine.writer import Engine
    except ImportError:
        pass
    else:
        timed(Engine, "_step", writer)
        timed(Engine, "_journal", lambda start, ms, args: profile.journal_ms.append(ms))
        return
    try:  # the app before the engine: the writer, admit, the offer, the journal
        from ari_app.app import HelplineApp
    except ImportError:
        profile.missing.append("ari_app.app.HelplineApp")
        return
    timed(HelplineApp, "_process", writer)
    timed(HelplineApp, "admit", admit)
    timed(HelplineApp, "_offer", lambda start, ms, args: profile.offer_start.append(start))
    timed(HelplineApp, "_journal", lambda start, ms, args: profile.journal_ms.append(ms))
