"""Simulated phones: sipp volunteers that auto-answer and sipp callers from the carrier.

Everything here is real SIP through the real Asterisk. A :class:`PhonePool` serves many
volunteers with few processes: each sipp process registers a block of accounts (an injection
file, ``bench/sipp/volunteers_register.xml``) from its one port and answers the INVITEs for any
of them (the out-of-call scenario ``volunteers_answer.xml``), because Asterisk sends INVITEs to
the address the REGISTER came from. A :class:`VolunteerPhone` is the older one-account phone
(register, then a UAS on the same port) that ``bench/e2e.py`` traces message by message.
Callers come from the carrier address ``127.0.0.2`` (``caller_uac.xml``) at a fixed rate and
hang up after a random hold time.

Ports: sipp exits (code 254) when it cannot bind its SIP port or one of its media ports (the
given one and its neighbours). Picking a free port and releasing it before sipp binds it is a
race with every other process, so each sipp process gets a disjoint block of ports from a
private range below the kernel's ephemeral ports, and is started again on the next block when
its error file says the bind failed.

Used by ``helpline simulate`` and ``bench/e2e.py``. The scenarios live in the repository's
``bench/sipp`` (this module is used from a source checkout, as ``make`` installs it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import signal
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from runtime.errors import ApiError, NoFreePorts, SimulationError, SippFailed, SippMissing

log = logging.getLogger(__name__)

SIPP_DIR = Path(__file__).resolve().parent.parent / "bench" / "sipp"
REGISTER_XML = SIPP_DIR / "volunteer_register.xml"
VOLUNTEER_XML = SIPP_DIR / "volunteer_uas.xml"
CALLER_XML = SIPP_DIR / "caller_uac.xml"
LOGGING_CALLER_XML = SIPP_DIR / "evening_caller.xml"

CARRIER_IP = "127.0.0.2"
"""Callers come from here: the carrier address in the development/test configs."""
PHONE_IP = "127.0.0.1"
"""Volunteer phones bind here."""


def sipp_binary() -> str:
    """Path of sipp, or SippMissing."""
    path = shutil.which("sipp")
    if path is None:
        raise SippMissing("sipp is not installed: apt-get install -y sip-tester")
    return path


def free_udp_port(host: str) -> int:
    """A UDP port that is free on ``host`` right now (racy: for the app's HTTP port in tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


SIPP_PORTS = range(16000, 20000)
"""Private range for sipp: below the ephemeral ports (32768+), above Asterisk's RTP ranges."""
PORT_BLOCK = 8
"""Ports per sipp process: SIP on the first, media from the fifth (sipp binds audio and video
RTP on the media port and the one two above it)."""
MEDIA_OFFSET = 4
BIND_FAILED_EXIT = 254
"""sipp's exit code for a fatal error at start, such as a port it could not bind."""


class PortBlocks:
    """Disjoint blocks of ports handed out in turn, starting at a place of our own.

    Concurrent processes start at different blocks (from their pid), so they rarely meet; when
    they do, sipp's bind fails and the caller moves on to the next block.
    """

    def __init__(self, ports: range, block: int, seed: int) -> None:
        self._ports = ports
        self._block = block
        self._count = len(ports) // block
        self._next = seed % self._count

    def take(self) -> int:
        """The first port of the next block."""
        base = self._ports.start + self._next * self._block
        self._next = (self._next + 1) % self._count
        return base


PORTS = PortBlocks(SIPP_PORTS, PORT_BLOCK, os.getpid() * 7)


@dataclass(frozen=True, slots=True)
class SippStats:
    """The counters of sipp's statistics file (``-trace_stat``), cumulative."""

    created: int
    """Calls started (UAC) or received (UAS)."""
    current: int
    """Calls in progress now."""
    succeeded: int
    """Calls that ran through the scenario."""
    failed: int
    """Calls that did not."""


ZERO_STATS = SippStats(0, 0, 0, 0)


def read_stats(path: Path) -> SippStats:
    """The last complete line of a sipp ``-trace_stat`` file (zeros before the first)."""
    try:
        with path.open("rb") as f:
            header = f.readline().decode(errors="replace").strip().split(";")
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 16384))
            tail = f.read().decode(errors="replace")
    except OSError:
        return ZERO_STATS
    lines = [line for line in tail.split("\n")[:-1] if line and not line.startswith("StartTime")]
    if not lines:
        return ZERO_STATS
    row = dict(zip(header, lines[-1].split(";"), strict=False))

    def num(name: str) -> int:
        try:
            return int(row.get(name, "0") or 0)
        except ValueError:
            return 0

    return SippStats(
        created=num("TotalCallCreated"),
        current=num("CurrentCall"),
        succeeded=num("SuccessfulCall(C)"),
        failed=num("FailedCall(C)"),
    )


async def spawn_sipp(args: Sequence[str], workdir: Path, out: Path) -> asyncio.subprocess.Process:
    with out.open("wb") as sink:
        return await asyncio.create_subprocess_exec(
            sipp_binary(),
            *args,
            cwd=workdir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=sink,
            stderr=asyncio.subprocess.STDOUT,
        )


def bind_failed(code: int | None, error_file: Path) -> bool:
    return code == BIND_FAILED_EXIT and "Unable to bind" in output_tail(error_file, 20)


async def spawn_on_free_ports(
    make_args: Callable[[int], list[str]],
    workdir: Path,
    name: str,
    *,
    settle_s: float = 0.3,
    tries: int = 25,
) -> tuple[asyncio.subprocess.Process, int]:
    """Start sipp with ``make_args(base port)`` on the next port block that it can bind.

    Returns the process and its block's first port. A sipp that exits within ``settle_s``
    because a bind failed is started again on the next block; any other early exit is for the
    caller to judge (a one-shot REGISTER may well be done by then).
    """
    error_file = workdir / f"{name}-errors.log"
    out = workdir / f"{name}.out"
    for _ in range(tries):
        base = PORTS.take()
        error_file.unlink(missing_ok=True)
        args = [*make_args(base), "-trace_err", "-error_file", str(error_file)]
        process = await spawn_sipp(args, workdir, out)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(process.wait()), settle_s)
        if not bind_failed(process.returncode, error_file):
            return process, base
        log.debug("%s: ports %d.. in use, trying the next block", name, base)
    raise NoFreePorts(f"{name}: no free block of {PORT_BLOCK} UDP ports after {tries} tries")


_SIPP_EVENT = re.compile(r"^\d{4}-\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+\s+[\d.]+: (.*)$")
"""An event line of sipp's error file (a SIP message it quotes follows on further lines)."""


def sipp_errors(path: Path, count: int = 3) -> str:
    """sipp's own last ``count`` sentences from its error file (e.g. "Aborting call on
    unexpected message ... received 'SIP/2.0 401 Unauthorized"), without the quoted messages."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    events = [m.group(1)[:300] for m in map(_SIPP_EVENT.match, lines) if m]
    return "\n".join(events[-count:])


def sipp_failure(name: str, what: str, code: int | None, workdir: Path) -> SippFailed:
    """A SippFailed that quotes sipp's own error file and the end of its output."""
    errors = sipp_errors(workdir / f"{name}-errors.log")
    output = output_tail(workdir / f"{name}.out", 4)
    detail = "\n".join(part for part in (errors, output) if part)
    exit_text = "still running" if code is None else f"sipp exit {code}"
    return SippFailed(f"{name}: {what} ({exit_text})" + (f"\n{detail}" if detail else ""))


async def stop_sipp(
    process: asyncio.subprocess.Process,
    grace_s: float = 3.0,
    signals: Sequence[signal.Signals] = (signal.SIGUSR1, signal.SIGTERM, signal.SIGKILL),
) -> int:
    """Stop sipp: SIGUSR1 (no new calls, finish current ones), then SIGTERM, then SIGKILL."""
    for sig in signals:
        if process.returncode is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), grace_s)
    return await process.wait()


def output_tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


@dataclass(frozen=True, slots=True)
class PhoneAccount:
    """A volunteer's SIP account as a phone knows it."""

    sip_user: str
    password: str


class VolunteerPhone:
    """One auto-answering volunteer phone: a sipp UAS registered as ``account``.

    Two processes on one port: a one-shot REGISTER, then the UAS. The port comes from
    :data:`PORTS`; when either process cannot bind it, the phone starts over on the next block.
    """

    def __init__(
        self,
        account: PhoneAccount,
        asterisk: str,
        workdir: Path,
        *,
        answer_ms: int = 100,
        trace: bool = False,
    ) -> None:
        self.account = account
        self.asterisk = asterisk
        """``host:port`` of Asterisk's SIP UDP transport."""
        self.workdir = workdir
        self.answer_ms = answer_ms
        self.trace = trace
        self.port = PORTS.take()
        """SIP port (REGISTER and UAS); media from ``port + MEDIA_OFFSET``."""
        self._process: asyncio.subprocess.Process | None = None
        name = account.sip_user
        self.message_log = workdir / f"{name}-messages.log"
        """Every SIP message with its time (when ``trace``)."""
        self.stat_file = workdir / f"{name}-stats.csv"

    async def register(self, expires: int = 3600, timeout_s: float = 10.0) -> None:
        """REGISTER (``expires=0``: unregister) from this phone's port; SippFailed if refused."""
        name = f"{self.account.sip_user}-register"
        error_file = self.workdir / f"{name}-errors.log"
        error_file.unlink(missing_ok=True)
        args = [
            self.asterisk,
            "-sf", str(REGISTER_XML),
            "-i", PHONE_IP,
            "-p", str(self.port),
            "-s", self.account.sip_user,
            "-au", self.account.sip_user,
            "-ap", self.account.password,
            "-key", "expires", str(expires),
            "-m", "1",
            "-recv_timeout", str(int(timeout_s * 1000)),
            "-trace_err", "-error_file", str(error_file),
            "-nostdin",
        ]  # fmt: skip
        process = await spawn_sipp(args, self.workdir, self.workdir / f"{name}.out")
        try:
            code = await asyncio.wait_for(process.wait(), timeout_s + 5)
        except TimeoutError:
            code = await stop_sipp(process, 1.0)
        if bind_failed(code, error_file):
            raise _PortBusy(self.port)
        if code != 0:
            raise sipp_failure(name, "REGISTER failed", code, self.workdir)

    async def start(self, tries: int = 10) -> None:
        """Register, then answer every call until ``stop``; a busy port means the next block."""
        for attempt in range(tries):
            if attempt:
                self.port = PORTS.take()
            try:
                await self.register()
            except _PortBusy:
                continue
            if await self._start_uas():
                return
        raise NoFreePorts(f"{self.account.sip_user}: no free ports after {tries} tries")

    async def _start_uas(self) -> bool:
        """Start the UAS on ``self.port``: False if a port was in use, SippFailed if it died."""
        name = f"{self.account.sip_user}-uas"
        error_file = self.workdir / f"{name}-errors.log"
        error_file.unlink(missing_ok=True)
        args = [
            "-sf", str(VOLUNTEER_XML),
            "-i", PHONE_IP,
            "-p", str(self.port),
            "-mp", str(self.port + MEDIA_OFFSET),
            "-rtp_echo",
            "-set", "answer_ms", str(self.answer_ms),
            "-trace_stat", "-fd", "1", "-stf", str(self.stat_file),
            "-trace_err", "-error_file", str(error_file),
            "-nostdin",
        ]  # fmt: skip
        if self.trace:
            args += ["-trace_msg", "-message_file", str(self.message_log)]
        self._process = await spawn_sipp(args, self.workdir, self.workdir / f"{name}.out")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._process.wait()), 0.3)
        code = self._process.returncode
        if code is None:
            return True
        self._process = None
        if bind_failed(code, error_file):
            return False
        raise sipp_failure(name, "phone exited at once", code, self.workdir)

    def stats(self) -> SippStats:
        """Calls this phone received so far (each one was answered)."""
        return read_stats(self.stat_file)

    async def stop(self) -> None:
        """Stop answering and unregister (best effort: the registration expires anyway)."""
        if self._process is not None:
            await stop_sipp(self._process, 1.0)
            self._process = None
        try:
            await self.register(expires=0, timeout_s=3.0)
        except SimulationError as exc:
            log.debug("unregistering %s: %s", self.account.sip_user, exc)


# Not in runtime.errors: a private signal that this module alone raises and catches.
class _PortBusy(SimulationError):
    """sipp could not bind a port of its block (internal: the caller takes the next block)."""


class CallerLoad:
    """Callers from the carrier: ``count`` calls to ``number``, ``rate`` per ``period_ms``.

    Each caller hangs up after a hold time drawn uniformly from ``hold_ms`` (counted from the
    200 OK; with our ACD that is at once, so a caller still waiting then abandons).
    """

    def __init__(
        self,
        asterisk: str,
        number: str,
        workdir: Path,
        *,
        count: int,
        rate: float,
        period_ms: int = 1000,
        hold_ms: tuple[int, int] = (1000, 1000),
        trace: bool = False,
        name: str = "callers",
        event_log: bool = False,
    ) -> None:
        self.asterisk = asterisk
        self.number = number
        self.workdir = workdir
        self.count = count
        self.rate = rate
        self.period_ms = period_ms
        self.hold_ms = hold_ms
        self.trace = trace
        self.message_log = workdir / f"{name}-messages.log"
        self.stat_file = workdir / f"{name}-stats.csv"
        self.event_log = workdir / f"{name}-events.log" if event_log else None
        """With ``event_log``: each call's "invite", "answered" and "ended" with its time."""
        self.name = name
        self._out = workdir / f"{name}.out"
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start placing calls (on the next block of ports that sipp can bind)."""
        self._process, _ = await spawn_on_free_ports(self._args, self.workdir, self.name)
        if self._process.returncode not in (None, 0):
            raise sipp_failure(self.name, "callers exited at once", self._process.returncode,
                               self.workdir)  # fmt: skip

    def _args(self, base: int) -> list[str]:
        low, high = self.hold_ms
        args = [
            self.asterisk,
            "-sf", str(CALLER_XML if self.event_log is None else LOGGING_CALLER_XML),
            "-s", self.number,
            "-i", CARRIER_IP,
            "-p", str(base),
            "-mi", CARRIER_IP,
            "-mp", str(base + MEDIA_OFFSET),
            "-r", f"{self.rate:g}",
            "-rp", str(self.period_ms),
            "-m", str(self.count),
            # sipp's default cap on simultaneous calls comes from -d and the rate (1 here):
            # callers wait in our queue, so any number may be in progress.
            "-l", str(self.count),
            "-set", "hold_min_ms", str(low),
            "-set", "hold_span_ms", str(max(0, high - low)),
            "-trace_stat", "-fd", "1", "-stf", str(self.stat_file),
            "-nostdin",
        ]  # fmt: skip
        if self.trace:
            args += ["-trace_msg", "-message_file", str(self.message_log)]
        if self.event_log is not None:
            args += ["-trace_logs", "-log_file", str(self.event_log)]
        return args

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def pid(self) -> int | None:
        """The sipp process's id once started."""
        return None if self._process is None else self._process.pid

    def stats(self) -> SippStats:
        return read_stats(self.stat_file)

    async def wait(self, timeout_s: float) -> int:
        """Wait for every call to end; after ``timeout_s`` stop sipp. Returns its exit code."""
        if self._process is None:
            raise SimulationError("CallerLoad.wait() before start()")
        try:
            return await asyncio.wait_for(self._process.wait(), timeout_s)
        except TimeoutError:
            return await stop_sipp(self._process)

    async def stop(self) -> None:
        if self._process is not None:
            await stop_sipp(self._process)

    def output_tail(self) -> str:
        """The end of sipp's output and of its error file."""
        return "\n".join(
            t
            for t in (output_tail(self.workdir / f"{self.name}-errors.log"), output_tail(self._out))
            if t
        )


class VolunteerApi:
    """The volunteer HTTP API as a simulated volunteer uses it (an async context manager)."""

    def __init__(
        self, base_url: str, admin_token: str | None = None, admin_url: str | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        """E.g. ``http://127.0.0.1:8080/api/v1``."""
        self._admin_token = admin_token
        self._admin_url = (admin_url or base_url).rstrip("/")
        """The admin API's own listener, e.g. ``http://127.0.0.1:8081/api/v1``."""
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self.tokens: dict[str, str] = {}
        """volunteer id -> session token of those logged in."""

    async def __aenter__(self) -> VolunteerApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._session.close()

    async def _call(
        self,
        method: str,
        path: str,
        token: str | None,
        body: dict[str, str] | None = None,
        *,
        base_url: str | None = None,
    ) -> dict[str, object]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        url = (base_url or self.base_url) + path
        try:
            async with self._session.request(method, url, json=body, headers=headers) as resp:
                data = await resp.json(content_type=None)
                if resp.status >= 300:
                    message = data.get("error") if isinstance(data, dict) else None
                    raise ApiError(f"{method} {path}: HTTP {resp.status} {message or ''}".strip())
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ApiError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        return data if isinstance(data, dict) else {}

    async def login(self, volunteer_id: str, password: str) -> None:
        """Log in (which logs the volunteer into the ACD) and keep the token."""
        body = {"volunteer_id": volunteer_id, "password": password}
        data = await self._call("POST", "/session", None, body)
        self.tokens[volunteer_id] = str(data["token"])

    async def ready(self, volunteer_id: str) -> None:
        await self._call("POST", "/me/ready", self.tokens[volunteer_id])

    async def agent_state(self, volunteer_id: str) -> str | None:
        """The volunteer's ACD state ("available", "busy", "wrap_up"...), None if logged out."""
        data = await self._call("GET", "/me", self.tokens[volunteer_id])
        agent = data.get("agent")
        return str(agent["state"]) if isinstance(agent, dict) else None

    async def end_wrap_up(self, volunteer_id: str) -> None:
        await self._call("POST", "/me/wrap-up/end", self.tokens[volunteer_id])

    async def logout(self, volunteer_id: str) -> None:
        token = self.tokens.pop(volunteer_id, None)
        if token is not None:
            await self._call("DELETE", "/session", token)

    async def logout_all(self) -> None:
        for volunteer_id in list(self.tokens):
            try:
                await self.logout(volunteer_id)
            except ApiError as exc:
                log.warning("logging %s out: %s", volunteer_id, exc)

    async def waiting(self) -> int | None:
        """Phone contacts waiting in the queue (admin API), None without an admin token."""
        if self._admin_token is None:
            return None
        data = await self._call("GET", "/admin/queue", self._admin_token, base_url=self._admin_url)
        channels = data.get("channels")
        phone = channels.get("phone") if isinstance(channels, dict) else None
        return int(phone.get("waiting", 0)) if isinstance(phone, dict) else None
