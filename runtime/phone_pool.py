"""Many simulated volunteer phones with few sipp processes (a :class:`PhonePool`).

Each sipp process (a :class:`PhoneGroup`) registers a block of accounts from an injection file
(``bench/sipp/volunteers_register.xml``: one sipp "call" per account, re-registering at 80 %
of the expiry) from its one port, and answers the INVITEs for any of them with the out-of-call
scenario ``volunteers_answer.xml``: Asterisk sends a phone's INVITEs to the address its
REGISTER came from. Both scenarios log each step with its time to the process's event log
(:class:`EventLog`), which is where registrations, rings and answers are counted.

Used by ``helpline simulate`` and ``bench/evening.py``.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import re
import signal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import SimulationError
from runtime.simulate import (
    MEDIA_OFFSET,
    PHONE_IP,
    SIPP_DIR,
    PhoneAccount,
    sipp_failure,
    spawn_on_free_ports,
    spawn_sipp,
    stop_sipp,
)
from runtime.together import StartedTogether

log = logging.getLogger(__name__)

POOL_REGISTER_XML = SIPP_DIR / "volunteers_register.xml"
POOL_ANSWER_XML = SIPP_DIR / "volunteers_answer.xml"


@dataclass(frozen=True, slots=True)
class SipEvent:
    """One line of a logging scenario's ``-log_file``: ``<kind> <seconds> <microseconds> <id>``."""

    kind: str
    """``registered``, ``invite``, ``answered`` or ``ended``."""
    ts: float
    """Wall-clock time (epoch seconds) when sipp handled the message."""
    ident: str
    """The Call-ID of the call, or the SIP user for ``registered``."""


_EVENT_LINE = re.compile(r"^(\w+) (\d+)(?:\.\d*)? (\d+)(?:\.\d*)? (\S+)\s*$")


def parse_events(lines: Iterable[str]) -> list[SipEvent]:
    """The events of complete log lines; anything else (sipp's own notes) is skipped."""
    events = []
    for line in lines:
        match = _EVENT_LINE.match(line)
        if match:
            kind, sec, usec, ident = match.groups()
            events.append(SipEvent(kind, int(sec) + int(usec) / 1e6, ident))
    return events


class EventLog:
    """A sipp ``-log_file`` read as it grows: every event so far, and counts by kind."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.events: list[SipEvent] = []
        self.counts: dict[str, int] = {}
        self._offset = 0
        self._partial = b""

    def poll(self) -> list[SipEvent]:
        """Read what was appended since the last poll; returns the new events."""
        try:
            with self.path.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
        except OSError:
            return []
        self._offset += len(data)
        data = self._partial + data
        complete, _, self._partial = data.rpartition(b"\n")
        new = parse_events(complete.decode(errors="replace").splitlines())
        self.events.extend(new)
        for event in new:
            self.counts[event.kind] = self.counts.get(event.kind, 0) + 1
        return new

    def count(self, kind: str) -> int:
        return self.counts.get(kind, 0)


def write_accounts(path: Path, accounts: Sequence[PhoneAccount]) -> None:
    """The injection file of a phone group: the SIP user and its ``[authentication]`` keyword."""
    lines = ["SEQUENTIAL"]
    for a in accounts:
        if not re.fullmatch(r"[\w.+-]+", a.sip_user) or re.search(r"[\s;\]\[]", a.password):
            raise SimulationError(f"{a.sip_user}: SIP user or password unusable in a sipp CSV")
        lines.append(f"{a.sip_user};[authentication username={a.sip_user} password={a.password}]")
    path.write_text("\n".join(lines) + "\n")


@dataclass(frozen=True, slots=True)
class PhoneCounts:
    """What the volunteer phones saw, from their event logs (cumulative)."""

    registered: int
    """Accounts whose REGISTER was accepted (each counted once)."""
    rung: int
    """INVITEs received."""
    answered: int
    """Calls answered (the ACK of our 200 OK arrived)."""
    ended: int
    """Calls that Asterisk hung up (BYE)."""

    @property
    def talking(self) -> int:
        return max(0, self.answered - self.ended)


class PhoneGroup:
    """Many volunteer phones in one sipp process (see the module's docstring)."""

    def __init__(
        self,
        accounts: Sequence[PhoneAccount],
        asterisk: str,
        workdir: Path,
        name: str,
        *,
        answer_ms: int = 100,
        register_rate: float = 50.0,
        expires_s: int = 3600,
    ) -> None:
        self.accounts = list(accounts)
        self.asterisk = asterisk
        self.workdir = workdir
        self.name = name
        self.answer_ms = answer_ms
        self.register_rate = register_rate
        self.expires_s = expires_s
        self.port = 0
        """SIP port (set by ``start``)."""
        self.events = EventLog(workdir / f"{name}-events.log")
        self._accounts_file = workdir / f"{name}-accounts.csv"
        self._process: asyncio.subprocess.Process | None = None

    def _args(self, base: int, expires: int, refresh_ms: int, log_file: Path) -> list[str]:
        return [
            self.asterisk,
            "-sf", str(POOL_REGISTER_XML),
            "-oocsf", str(POOL_ANSWER_XML),
            "-inf", str(self._accounts_file),
            "-m", str(len(self.accounts)),
            "-r", f"{self.register_rate:g}",
            # Registrations stay open (they refresh) and answered calls come on top. A cap far
            # above the open-file limit makes sipp warn in the error file that it may exceed it.
            "-l", str(len(self.accounts) + 5000),
            "-i", PHONE_IP,
            "-p", str(base),
            "-mp", str(base + MEDIA_OFFSET),
            "-set", "expires", str(expires),
            "-set", "refresh_ms", str(refresh_ms),
            "-set", "answer_ms", str(self.answer_ms),
            "-trace_logs", "-log_file", str(log_file),
            "-nostdin",
        ]  # fmt: skip

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def pid(self) -> int | None:
        """The sipp process's id while it runs (for CPU accounting)."""
        return self._process.pid if self.running and self._process is not None else None

    async def start(self, timeout_s: float | None = None) -> None:
        """Register every account and answer calls; SippFailed unless all are registered."""
        write_accounts(self._accounts_file, self.accounts)
        refresh_ms = int(self.expires_s * 800)  # re-register at 80 % of the expiry
        self._process, self.port = await spawn_on_free_ports(
            lambda base: self._args(base, self.expires_s, refresh_ms, self.events.path),
            self.workdir,
            self.name,
        )
        if timeout_s is None:
            timeout_s = 10.0 + 3 * len(self.accounts) / self.register_rate
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            self.events.poll()
            missing = len(self.accounts) - len(self.registered())
            if missing == 0:
                return
            refused = f"{missing} of {len(self.accounts)} REGISTERs not accepted"
            if not self.running:
                code = self._process.returncode
                self._process = None
                raise sipp_failure(self.name, refused, code, self.workdir)
            if asyncio.get_running_loop().time() > deadline:
                failure = sipp_failure(self.name, refused, None, self.workdir)
                await self.stop()  # a group that did not start must not keep ports and phones
                raise failure
            await asyncio.sleep(0.1)

    def registered(self) -> set[str]:
        return {e.ident for e in self.events.events if e.kind == "registered"}

    def counts(self) -> PhoneCounts:
        self.events.poll()
        return PhoneCounts(
            registered=len(self.registered()),
            rung=self.events.count("invite"),
            answered=self.events.count("answered"),
            ended=self.events.count("ended"),
        )

    def check_alive(self) -> None:
        """SippFailed (with sipp's error file) if the process died while it should serve."""
        if self._process is not None and self._process.returncode is not None:
            raise sipp_failure(self.name, "phones died", self._process.returncode, self.workdir)

    async def stop(self) -> None:
        """Stop answering, then unregister every account from the same port (best effort)."""
        if self._process is None:
            return
        # The registrations pause until their refresh, so SIGUSR1 would wait for nothing.
        await stop_sipp(self._process, 1.0, (signal.SIGTERM, signal.SIGKILL))
        self._process = None
        args = self._args(self.port, 0, 0, self.workdir / f"{self.name}-unregister.log")
        args[args.index("-r") + 1] = "200"
        out = self.workdir / f"{self.name}-unregister.out"
        process = await spawn_sipp([*args, "-recv_timeout", "3000"], self.workdir, out)
        try:
            await asyncio.wait_for(process.wait(), 5 + len(self.accounts) / 200)
        except TimeoutError:
            await stop_sipp(process, 1.0, (signal.SIGTERM, signal.SIGKILL))
            log.debug("%s: unregistering did not finish", self.name)


class PhonePool(StartedTogether["PhoneGroup"]):
    """Volunteer phones for ``accounts``, ``per_process`` accounts per sipp process.

    An async context manager: on entry every account is registered (SippFailed names the
    group, and quotes sipp's error file, otherwise); on exit they are unregistered.
    """

    def __init__(
        self,
        accounts: Sequence[PhoneAccount],
        asterisk: str,
        workdir: Path,
        *,
        per_process: int = 100,
        answer_ms: int = 100,
        register_rate: float = 50.0,
    ) -> None:
        chunks = [accounts[i : i + per_process] for i in range(0, len(accounts), per_process)]
        super().__init__([
            PhoneGroup(chunk, asterisk, workdir, f"phones-{n:02d}", answer_ms=answer_ms,
                       register_rate=register_rate)
            for n, chunk in enumerate(chunks, 1)
        ])  # fmt: skip

    @property
    def groups(self) -> list[PhoneGroup]:
        return self.members

    @property
    def pids(self) -> list[int]:
        return [g.pid for g in self.groups if g.pid is not None]

    def check_alive(self) -> None:
        for group in self.groups:
            group.check_alive()

    def counts(self) -> PhoneCounts:
        """Summed over the groups."""
        all_counts = [g.counts() for g in self.groups]
        return PhoneCounts(
            registered=sum(c.registered for c in all_counts),
            rung=sum(c.rung for c in all_counts),
            answered=sum(c.answered for c in all_counts),
            ended=sum(c.ended for c in all_counts),
        )

    def events(self) -> list[SipEvent]:
        """Every event of every phone so far, by time."""
        for group in self.groups:
            group.events.poll()
        return sorted((e for g in self.groups for e in g.events.events), key=lambda e: e.ts)


def pair_rings(
    caller_invites: Sequence[float], phone_invites: Sequence[float], window_s: float
) -> list[tuple[float, float]]:
    """(caller INVITE, volunteer INVITE) times: each volunteer INVITE with the oldest caller
    INVITE still waiting.

    Calls carry no shared id across the two legs; while volunteers are free the ACD serves in
    arrival order. A caller waiting longer than ``window_s`` is dropped unpaired, so one lost
    call does not shift every later pair.
    """
    events = sorted([(t, 0) for t in caller_invites] + [(t, 1) for t in phone_invites])
    waiting: collections.deque[float] = collections.deque()
    pairs = []
    for t, kind in events:
        if kind == 0:
            waiting.append(t)
            continue
        while waiting and t - waiting[0] > window_s:
            waiting.popleft()
        if waiting:
            pairs.append((waiting.popleft(), t))
    return pairs
