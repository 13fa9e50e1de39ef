"""Simulated phones: sipp volunteers that auto-answer and sipp callers from the carrier.

Everything here is real SIP through the real Asterisk: a volunteer phone registers with
digest auth (``bench/sipp/volunteer_register.xml``) and then answers every INVITE
(``volunteer_uas.xml``) from the same port, because Asterisk sends INVITEs to the address the
REGISTER came from. Callers come from the carrier address ``127.0.0.2``
(``caller_uac.xml``) at a fixed rate and hang up after a random hold time.

Used by ``helpline simulate`` and ``bench/e2e.py``. The scenarios live in the repository's
``bench/sipp`` (this module is used from a source checkout, as ``make`` installs it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

log = logging.getLogger(__name__)

SIPP_DIR = Path(__file__).resolve().parent.parent / "bench" / "sipp"
REGISTER_XML = SIPP_DIR / "volunteer_register.xml"
VOLUNTEER_XML = SIPP_DIR / "volunteer_uas.xml"
CALLER_XML = SIPP_DIR / "caller_uac.xml"

CARRIER_IP = "127.0.0.2"
"""Callers come from here: the carrier address in the development/test configs."""
PHONE_IP = "127.0.0.1"
"""Volunteer phones bind here."""


class SimulationError(Exception):
    """Base of the errors of the simulation tools."""


class SippMissing(SimulationError):
    """sipp is not installed (Debian package ``sip-tester``)."""


class SippFailed(SimulationError):
    """A sipp process did not do what its scenario says (e.g. the REGISTER was refused)."""


def sipp_binary() -> str:
    """Path of sipp, or SippMissing."""
    path = shutil.which("sipp")
    if path is None:
        raise SippMissing("sipp is not installed: apt-get install -y sip-tester")
    return path


def free_udp_port(host: str) -> int:
    """A UDP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


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
    """Stop sipp: SIGUSR1 (no new calls, finish current ones), then SIGTERM, then SIGKILL."""
    for sig in (signal.SIGUSR1, signal.SIGTERM, signal.SIGKILL):
        if process.returncode is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), grace_s)
    return await process.wait()


def _tail(path: Path, lines: int = 8) -> str:
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
    """One auto-answering volunteer phone: a sipp UAS registered as ``account``."""

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
        self.port = free_udp_port(PHONE_IP)
        self.rtp_port = free_udp_port(PHONE_IP)
        self._process: asyncio.subprocess.Process | None = None
        name = account.sip_user
        self.message_log = workdir / f"{name}-messages.log"
        """Every SIP message with its time (when ``trace``)."""
        self.stat_file = workdir / f"{name}-stats.csv"

    async def register(self, expires: int = 3600, timeout_s: float = 10.0) -> None:
        """REGISTER (``expires=0``: unregister) from this phone's port; SippFailed if refused."""
        out = self.workdir / f"{self.account.sip_user}-register.out"
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
            "-nostdin",
        ]  # fmt: skip
        process = await _spawn(args, self.workdir, out)
        try:
            code = await asyncio.wait_for(process.wait(), timeout_s + 5)
        except TimeoutError:
            code = await _stop(process, 1.0)
        if code != 0:
            raise SippFailed(
                f"{self.account.sip_user}: REGISTER failed (sipp exit {code})\n{_tail(out)}"
            )

    async def start(self) -> None:
        """Register, then answer every call until ``stop``."""
        await self.register()
        args = [
            "-sf", str(VOLUNTEER_XML),
            "-i", PHONE_IP,
            "-p", str(self.port),
            "-mp", str(self.rtp_port),
            "-rtp_echo",
            "-set", "answer_ms", str(self.answer_ms),
            "-trace_stat", "-fd", "1", "-stf", str(self.stat_file),
            "-nostdin",
        ]  # fmt: skip
        if self.trace:
            args += ["-trace_msg", "-message_file", str(self.message_log)]
        out = self.workdir / f"{self.account.sip_user}-uas.out"
        self._process = await _spawn(args, self.workdir, out)
        await asyncio.sleep(0.05)
        if self._process.returncode is not None:
            raise SippFailed(f"{self.account.sip_user}: phone exited at once\n{_tail(out)}")

    def stats(self) -> SippStats:
        """Calls this phone received so far (each one was answered)."""
        return read_stats(self.stat_file)

    async def stop(self) -> None:
        """Stop answering and unregister (best effort: the registration expires anyway)."""
        if self._process is not None:
            await _stop(self._process, 1.0)
            self._process = None
        try:
            await self.register(expires=0, timeout_s=3.0)
        except SimulationError as exc:
            log.debug("unregistering %s: %s", self.account.sip_user, exc)


class PhoneBank:
    """Several volunteer phones started and stopped together (an async context manager)."""

    def __init__(self, phones: Sequence[VolunteerPhone]) -> None:
        self.phones = list(phones)

    async def __aenter__(self) -> PhoneBank:
        results = await asyncio.gather(*(p.start() for p in self.phones), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await self.stop()
            raise errors[0]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        await asyncio.gather(*(p.stop() for p in self.phones), return_exceptions=True)

    def stats(self) -> SippStats:
        """Counters summed over the phones."""
        all_stats = [p.stats() for p in self.phones]
        return SippStats(
            created=sum(s.created for s in all_stats),
            current=sum(s.current for s in all_stats),
            succeeded=sum(s.succeeded for s in all_stats),
            failed=sum(s.failed for s in all_stats),
        )


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
        self._out = workdir / f"{name}.out"
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        low, high = self.hold_ms
        args = [
            self.asterisk,
            "-sf", str(CALLER_XML),
            "-s", self.number,
            "-i", CARRIER_IP,
            "-p", str(free_udp_port(CARRIER_IP)),
            "-mi", CARRIER_IP,
            "-mp", str(free_udp_port(CARRIER_IP)),
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
        self._process = await _spawn(args, self.workdir, self._out)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    def stats(self) -> SippStats:
        return read_stats(self.stat_file)

    async def wait(self, timeout_s: float) -> int:
        """Wait for every call to end; after ``timeout_s`` stop sipp. Returns its exit code."""
        if self._process is None:
            raise SimulationError("CallerLoad.wait() before start()")
        try:
            return await asyncio.wait_for(self._process.wait(), timeout_s)
        except TimeoutError:
            return await _stop(self._process)

    async def stop(self) -> None:
        if self._process is not None:
            await _stop(self._process)

    def output_tail(self) -> str:
        return _tail(self._out)


class ApiError(SimulationError):
    """The helpline HTTP API refused a request (or did not answer)."""


class VolunteerApi:
    """The volunteer HTTP API as a simulated volunteer uses it (an async context manager)."""

    def __init__(self, base_url: str, admin_token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        """E.g. ``http://127.0.0.1:8080/api/v1``."""
        self._admin_token = admin_token
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self.tokens: dict[str, str] = {}
        """volunteer id -> session token of those logged in."""

    async def __aenter__(self) -> VolunteerApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._session.close()

    async def _call(
        self, method: str, path: str, token: str | None, body: dict[str, str] | None = None
    ) -> dict[str, object]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        try:
            async with self._session.request(
                method, self.base_url + path, json=body, headers=headers
            ) as resp:
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
        data = await self._call("GET", "/admin/queue", self._admin_token)
        waiting = data.get("waiting")
        return int(waiting.get("phone", 0)) if isinstance(waiting, dict) else None
