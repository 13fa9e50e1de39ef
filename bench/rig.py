"""The benches' rig: the shared Asterisk lock, UDP ports that stay ours, and sipp processes
(volunteer phones and carrier callers) that say which one failed and why.

Why not ``runtime.simulate``'s phones as they are: they pick ports with a bind-and-release of
port 0, so the kernel may hand the same ephemeral port to two phones, or to anything else on
the machine, before sipp binds it; sipp then exits 254 with "Unable to bind main socket" in a
log nobody asked for, and its screen output ends in "Test Terminated" and nothing else. Here
ports come from a private range below the kernel's ephemeral range (so no bind of port 0 on
this machine can take them), each block is checked free just before use, sipp writes its
errors to a file (``-trace_err -error_file``), and a bind failure is retried on fresh ports.
Every other failure is raised or reported with the process's name, its exit code and its error
file, scrubbed of anything that looks like a phone number.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import random
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from runtime.simulate import (
    CALLER_XML,
    CARRIER_IP,
    PHONE_IP,
    REGISTER_XML,
    PhoneAccount,
    SippStats,
    read_stats,
)
from runtime.together import StartedTogether

RINGING_XML = Path(__file__).resolve().parent / "sipp" / "volunteer_uas_ringing.xml"
"""The volunteer scenario that also takes a CANCEL while ringing (ANSWER_MS filled in here)."""

ASTERISK_LOCK = Path("/var/lib/helpline/asterisk-tests.lock")
"""The integration tests' Asterisk fixture serialises on this file; benches hold it too."""

PRIVATE_PORTS = (20000, 31999)
"""Below the ephemeral range (32768-60999 here) and clear of the Asterisks' RTP ranges
(10000-10999 tests, 12000-12999 benches)."""
BLOCK = 8
"""Ports per sipp process: SIP at the base, RTP at base+4 (sipp binds it and +2 for video)."""

SIPP_EXIT = {
    0: "every call succeeded",
    1: "at least one call failed",
    97: "stopped by an internal command",
    99: "ended without processing a call",
    253: "RTP validation failed",
    254: "fatal error (see its error file; a port in use gives this)",
    255: "fatal error",
    -9: "killed (SIGKILL)",
    -15: "terminated (SIGTERM)",
}


class RigError(Exception):
    """A sipp process of the bench failed; the message names it and gives its errors."""


@contextlib.contextmanager
def asterisk_lock(path: Path = ASTERISK_LOCK) -> Iterator[None]:
    """Hold the shared Asterisk lock: a bench must not restart Asterisk under a test run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for {path} (an integration test run or a bench holds it) ...")
            started = time.monotonic()
            fcntl.flock(lock, fcntl.LOCK_EX)
            print(f"got the lock after {time.monotonic() - started:.0f} s", flush=True)
        yield


_T = TypeVar("_T")


def run_locked(
    bench: Callable[[Path], Coroutine[Any, Any, _T]],
    prefix: str,
    keep: bool,
    kept: str = "traces kept in",
) -> _T | None:
    """Run ``bench(workdir)`` in a fresh work directory, holding the Asterisk lock (a bench
    must never restart Asterisk under a test run). On a ``RigError``: say so, keep the
    directory for a look, and return None."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        with asterisk_lock():
            return asyncio.run(bench(workdir))
    except RigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        keep = True
        return None
    finally:
        if keep:
            print(f"{kept} {workdir}", file=sys.stderr)
        else:
            with contextlib.suppress(OSError):
                shutil.rmtree(workdir)


_NUMBER = re.compile(r"(?<![\d.])\+?\d{7,}(?![\d])")
"""Seven or more digits in a row (not part of an address or a fraction): a phone number."""
_TEL = re.compile(r"tel:[^>;\s]+")
_IDENTITY_HEADER = re.compile(
    r"^(\s*(?:From|f|To|t|Contact|m|P-Asserted-Identity|P-Preferred-Identity|"
    r"Remote-Party-ID|Diversion)\s*:).*$",
    re.IGNORECASE | re.MULTILINE,
)
_SIP_USER = re.compile(r"(sips?:)[^@>;\s]+@")


def scrub(text: str) -> str:
    """``text`` without caller identities: identity headers, SIP user parts, digit runs."""
    text = _IDENTITY_HEADER.sub(r"\1 <scrubbed>", text)
    text = _SIP_USER.sub(r"\1<user>@", text)
    text = _TEL.sub("tel:<number>", text)
    return _NUMBER.sub("<number>", text)


def exit_meaning(code: int | None) -> str:
    if code is None:
        return "still running"
    return f"exit {code}: {SIPP_EXIT.get(code, 'unknown')}"


_EVENT_START = re.compile(r"(?=\d{4}-\d\d-\d\d\t\d\d:\d\d:\d\d\.\d+\t)")
_ANSWERED = "jumping to label"
"""What the ringing scenario's receive timeout (the answer) notes in the error file."""


def read_errors(path: Path, limit: int = 12) -> str:
    """The first ``limit`` lines of a sipp error file, scrubbed ("" if there is none)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    # sipp does not end every event with a newline: split at each event's time stamp.
    events = (event.strip() for event in _EVENT_START.split(text))
    lines = [
        line for event in events if event and _ANSWERED not in event for line in event.splitlines()
    ]
    shown = lines[:limit]
    if len(lines) > limit:
        shown.append(f"... {len(lines) - limit} more lines")
    return scrub("\n".join(shown))


def _bind_failure(errors: str) -> bool:
    return "Unable to bind" in errors or "Address already in use" in errors


class PortPool:
    """Blocks of UDP ports on one address, from the private range, checked free when taken."""

    def __init__(self, host: str, low: int = PRIVATE_PORTS[0], high: int = PRIVATE_PORTS[1]):
        self.host = host
        self._low = low - low % BLOCK
        self._blocks = (high - self._low + 1) // BLOCK
        # A random start: two benches (or a bench and a simulation) rarely probe the same ports.
        self._next = random.randrange(self._blocks)

    def take(self) -> int:
        """The base port of a block whose ports are all free on ``host`` right now."""
        for _ in range(self._blocks):
            base = self._low + self._next * BLOCK
            self._next = (self._next + 1) % self._blocks
            if all(_udp_free(self.host, base + i) for i in range(BLOCK)):
                return base
        raise RigError(f"no free block of {BLOCK} UDP ports on {self.host}")


def _udp_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def sipp_binary() -> str:
    path = shutil.which("sipp")
    if path is None:
        raise RigError("sipp is not installed: apt-get install -y sip-tester")
    return path


async def _spawn(args: Sequence[str], workdir: Path, out: Path) -> asyncio.subprocess.Process:
    with out.open("wb") as sink:
        return await asyncio.create_subprocess_exec(
            sipp_binary(),
            *args,
            cwd=workdir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=sink,
            stderr=asyncio.subprocess.STDOUT,
        )


async def _stop(process: asyncio.subprocess.Process, grace_s: float = 3.0) -> int:
    """SIGUSR1 (no new calls, finish current ones), then SIGTERM, then SIGKILL."""
    for sig in (signal.SIGUSR1, signal.SIGTERM, signal.SIGKILL):
        if process.returncode is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), grace_s)
    return await process.wait()


async def _settled(process: asyncio.subprocess.Process, wait_s: float = 0.3) -> int | None:
    """sipp binds its sockets first thing: if it is still running after ``wait_s``, it did."""
    with contextlib.suppress(TimeoutError):
        return await asyncio.wait_for(process.wait(), wait_s)
    return None


BIND_ATTEMPTS = 5


class Phone:
    """An auto-answering volunteer phone: REGISTER, then a sipp UAS on the same port."""

    def __init__(
        self,
        account: PhoneAccount,
        asterisk: str,
        workdir: Path,
        ports: PortPool,
        *,
        answer_ms: int = 50,
        trace: bool = False,
    ) -> None:
        self.account = account
        self.asterisk = asterisk
        self.workdir = workdir
        self.answer_ms = answer_ms
        self.trace = trace
        self._ports = ports
        self.port = 0
        name = account.sip_user
        self.name = f"phone {name}"
        self.message_log = workdir / f"{name}-messages.log"
        self.stat_file = workdir / f"{name}-stats.csv"
        self.error_file = workdir / f"{name}-errors.log"
        self._process: asyncio.subprocess.Process | None = None

    async def register(self, expires: int = 3600, timeout_s: float = 10.0) -> None:
        """REGISTER from this phone's port (``expires=0``: unregister); RigError if refused."""
        name = self.account.sip_user
        errors = self.workdir / f"{name}-register-errors.log"
        errors.unlink(missing_ok=True)
        args = [
            self.asterisk,
            "-sf", str(REGISTER_XML),
            "-i", PHONE_IP, "-p", str(self.port),
            "-s", name, "-au", name, "-ap", self.account.password,
            "-key", "expires", str(expires),
            "-m", "1",
            "-recv_timeout", str(int(timeout_s * 1000)),
            "-trace_err", "-error_file", str(errors),
            "-nostdin",
        ]  # fmt: skip
        process = await _spawn(args, self.workdir, self.workdir / f"{name}-register.out")
        try:
            code = await asyncio.wait_for(process.wait(), timeout_s + 5)
        except TimeoutError:
            code = await _stop(process, 1.0)
        if code != 0:
            detail = read_errors(errors)
            kind = _PortTaken if _bind_failure(detail) else RigError
            raise kind(f"{self.name}: REGISTER failed ({exit_meaning(code)})\n{detail}".strip())

    async def start(self) -> None:
        """Register and answer every call until ``stop``; fresh ports if one was taken."""
        for attempt in range(1, BIND_ATTEMPTS + 1):
            self.port = self._ports.take()
            try:
                await self.register()
                await self._start_uas()
                return
            except _PortTaken as exc:
                if attempt == BIND_ATTEMPTS:
                    raise RigError(f"{exc} (after {attempt} attempts on fresh ports)") from exc

    async def _start_uas(self) -> None:
        self.error_file.unlink(missing_ok=True)
        scenario = self.workdir / f"volunteer_uas_ringing-{self.answer_ms}.xml"
        if not scenario.exists():
            text = RINGING_XML.read_text().replace("ANSWER_MS", str(self.answer_ms))
            scenario.write_text(text)
        args = [
            "-sf", str(scenario),
            "-i", PHONE_IP, "-p", str(self.port), "-mp", str(self.port + 4),
            "-rtp_echo",
            "-trace_stat", "-fd", "1", "-stf", str(self.stat_file),
            "-trace_err", "-error_file", str(self.error_file),
            "-nostdin",
        ]  # fmt: skip
        if self.trace:
            args += ["-trace_msg", "-message_file", str(self.message_log)]
        out = self.workdir / f"{self.account.sip_user}-uas.out"
        self._process = await _spawn(args, self.workdir, out)
        code = await _settled(self._process)
        if code is not None:
            detail = read_errors(self.error_file)
            kind = _PortTaken if _bind_failure(detail) else RigError
            raise kind(f"{self.name}: exited at once ({exit_meaning(code)})\n{detail}".strip())

    def stats(self) -> SippStats:
        return read_stats(self.stat_file)

    @property
    def exited(self) -> bool:
        return self._process is not None and self._process.returncode is not None

    def describe(self) -> str:
        """This phone's state, failed calls and (scrubbed) errors, for a failure report."""
        code = self._process.returncode if self._process is not None else None
        state = exit_meaning(code) if self.exited else "running"
        errors = read_errors(self.error_file)
        return f"{self.name} ({state}, {self.stats().failed} failed calls in all):\n{errors}"

    async def stop(self) -> None:
        if self._process is not None:
            await _stop(self._process, 1.0)
            self._process = None
        with contextlib.suppress(RigError):
            await self.register(expires=0, timeout_s=3.0)


class Phones(StartedTogether["Phone"]):
    """Phones started and stopped together (an async context manager)."""

    @property
    def phones(self) -> list[Phone]:
        return self.members

    def in_progress(self) -> int:
        return sum(p.stats().current for p in self.phones)

    def failed(self) -> dict[str, int]:
        """Failed calls so far, per phone."""
        return {p.name: p.stats().failed for p in self.phones}

    def problems(self, failed_before: dict[str, int]) -> list[str]:
        """Phones that exited, or failed calls since ``failed_before`` (from ``failed()``)."""
        return [
            p.describe()
            for p in self.phones
            if p.exited or p.stats().failed > failed_before.get(p.name, 0)
        ]


class Callers:
    """Carrier callers: one sipp UAC placing ``count`` calls to ``number`` at ``rate``/s."""

    def __init__(
        self,
        asterisk: str,
        number: str,
        workdir: Path,
        ports: PortPool,
        *,
        count: int,
        rate: float,
        hold_ms: tuple[int, int],
        name: str,
        trace: bool = True,
    ) -> None:
        self.asterisk = asterisk
        self.number = number
        self.workdir = workdir
        self.count = count
        self.rate = rate
        self.hold_ms = hold_ms
        self.name = name
        self.trace = trace
        self._ports = ports
        self.message_log = workdir / f"{name}-messages.log"
        self.stat_file = workdir / f"{name}-stats.csv"
        self.error_file = workdir / f"{name}-errors.log"
        self._out = workdir / f"{name}.out"
        self._process: asyncio.subprocess.Process | None = None
        self.exit_code: int | None = None

    async def start(self) -> None:
        for attempt in range(1, BIND_ATTEMPTS + 1):
            base = self._ports.take()
            for path in (self.error_file, self.message_log, self.stat_file):
                path.unlink(missing_ok=True)
            low, high = self.hold_ms
            args = [
                self.asterisk,
                "-sf", str(CALLER_XML),
                "-s", self.number,
                "-i", CARRIER_IP, "-p", str(base),
                "-mi", CARRIER_IP, "-mp", str(base + 4),
                "-r", f"{self.rate:g}", "-rp", "1000",
                "-m", str(self.count),
                # Callers wait in a queue, so any number of calls may be in progress.
                "-l", str(self.count),
                "-set", "hold_min_ms", str(low),
                "-set", "hold_span_ms", str(max(0, high - low)),
                "-trace_stat", "-fd", "1", "-stf", str(self.stat_file),
                "-trace_err", "-error_file", str(self.error_file),
                "-nostdin",
            ]  # fmt: skip
            if self.trace:
                args += ["-trace_msg", "-message_file", str(self.message_log)]
            self._process = await _spawn(args, self.workdir, self._out)
            code = await _settled(self._process, 0.2)
            if code is None:
                return
            detail = read_errors(self.error_file)
            if not _bind_failure(detail) or attempt == BIND_ATTEMPTS:
                self.exit_code = code
                raise RigError(f"{self.name}: exited at once ({exit_meaning(code)})\n{detail}")

    async def wait(self, timeout_s: float) -> int:
        """Wait for every call to end; after ``timeout_s`` stop sipp. Returns its exit code."""
        if self._process is None:
            raise RigError(f"{self.name}: wait() before start()")
        try:
            self.exit_code = await asyncio.wait_for(self._process.wait(), timeout_s)
        except TimeoutError:
            self.exit_code = await _stop(self._process)
        return self.exit_code

    def stats(self) -> SippStats:
        return read_stats(self.stat_file)

    def problem(self) -> str | None:
        """Why this caller process did not run cleanly, None if it did."""
        stats = self.stats()
        if self.exit_code == 0 and not stats.failed:
            return None
        return (
            f"{self.name} ({exit_meaning(self.exit_code)}, {stats.failed} of {stats.created} "
            f"calls failed):\n{read_errors(self.error_file)}"
        )


class _PortTaken(RigError):
    """sipp could not bind a port we checked free a moment before: try fresh ones."""
