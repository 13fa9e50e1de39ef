"""Real SIP phones for integration tests: a volunteer's softphone, a carrier-side caller and a
partner organisation that Asterisk dials out to through the carrier.

Each phone is a pjsua2 user agent in its own process (:mod:`tests.integration.phone_agent`),
driven over JSON lines; this module wraps it for asyncio::

    async with VolunteerPhone.of(asterisk, "test-udp-1") as volunteer:
        await volunteer.registered()
        async with CallerPhone("116111") as caller:
            await caller.dial()
            incoming = await volunteer.wait_incoming()
            await volunteer.answer()
            ...                                           # an ARI app bridges the two
            heard = await volunteer.wait_hearing(CALLER_TONE_HZ)   # 440 Hz from the caller
            assert (await caller.wait_hearing(VOLUNTEER_TONE_HZ)).rms > 1000
            await caller.hangup()
            ended = await volunteer.wait_ended()

A partner (e.g. Veilig Thuis, 0800-2000) answers on the carrier's address, 127.0.0.2:5060,
where Asterisk sends its outbound INVITEs (``sip:08002000@127.0.0.2:5060``); no registration.
Callers bind a random port on the same address, so both kinds run side by side::

    async with PartnerPhone(mode=AutoAnswer(0.5)) as partner:
        ...                                           # the app dials the partner out
        invite = (await partner.wait_incoming()).request
        assert invite.user == "08002000"              # the number dialled
        assert invite.uri_user("From") == HELPLINE_NUMBER   # and nothing of the child
        await partner.wait_answered()
        # conference: each hears both others at once
        await partner.wait_hearing_tones(CALLER_TONE_HZ, VOLUNTEER_TONE_HZ)
        await caller.wait_hearing_tones(VOLUNTEER_TONE_HZ, PARTNER_TONE_HZ)
        ...                                           # the volunteer leaves
        await caller.wait_hearing_tones(PARTNER_TONE_HZ, absent=(VOLUNTEER_TONE_HZ,))

The caller plays a 440 Hz tone, the volunteer 880 Hz and a partner 1000 Hz, so hearing the
other side's frequency proves audio end to end in that direction; in a conference
:meth:`~_Phone.wait_hearing_tones` waits until several are heard at once (or one no longer).
Every wait has a timeout (:class:`PhoneTimeout`); a dead agent raises :class:`PhoneCrashed`
with the tail of its log; the process is killed when the ``async with`` block ends, whatever
happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from tests.integration.audio import (
    CALLER_TONE_HZ,
    PARTNER_TONE_HZ,
    TONE_PRESENT_RMS,
    VOLUNTEER_TONE_HZ,
    AudioReport,
    analyse,
    tone_wav,
)
from tests.integration.sip_message import SipRequest, parse_request
from tests.integration.sipp import CARRIER_IP, SECRET_CALLER_NAME, SECRET_CALLER_NUMBER

REPO_ROOT = Path(__file__).resolve().parents[2]
_CALL_EVENTS = ("state", "media", "ended")
DEFAULT_TIMEOUT_S = 10.0
PARTNER_SIP_PORT = 5060
"""Where a :class:`PartnerPhone` listens by default: Asterisk dials partners out through the
carrier trunk as ``sip:<number>@127.0.0.2:5060`` (callers bind a random port there instead)."""
Event = dict[str, Any]


class PhoneError(Exception):
    """A test phone failed; the message ends with the tail of the agent's log."""


class PhoneTimeout(PhoneError, TimeoutError):
    """A wait on a phone ran out of time."""


class PhoneCrashed(PhoneError):
    """The phone's agent process exited unexpectedly."""


class PhoneCommandFailed(PhoneError):
    """The agent refused or failed a command (e.g. answering when there is no call)."""


class CallFailed(PhoneError):
    """The call ended while we waited for it to be answered."""

    def __init__(self, message: str, ended: CallEnded) -> None:
        super().__init__(message)
        self.ended = ended


# -- what a volunteer phone does with an incoming call ------------------------------------


@dataclass(frozen=True, slots=True)
class Manual:
    """Ring (180) and wait for :meth:`VolunteerPhone.answer` or ``reject``."""


@dataclass(frozen=True, slots=True)
class AutoAnswer:
    """Ring, then answer by itself after ``delay_s``."""

    delay_s: float = 0.0
    """Seconds of ringing before the answer."""


@dataclass(frozen=True, slots=True)
class Reject:
    """Refuse every call at once with ``code`` (486 busy here, 603 decline)."""

    code: int = 486
    """SIP final response code."""


@dataclass(frozen=True, slots=True)
class NeverAnswer:
    """Ring forever (until the other side cancels)."""


AnswerMode = Manual | AutoAnswer | Reject | NeverAnswer


def _mode_json(mode: AnswerMode) -> dict[str, Any]:
    if isinstance(mode, AutoAnswer):
        return {"kind": "auto_answer", "delay_ms": int(mode.delay_s * 1000)}
    if isinstance(mode, Reject):
        return {"kind": "reject", "code": mode.code}
    if isinstance(mode, NeverAnswer):
        return {"kind": "never"}
    return {"kind": "manual"}


# -- what the phones report ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegState:
    """Latest registration outcome."""

    code: int
    """SIP status of the last REGISTER (200, 401, 403, ...; 0 before any answer)."""
    active: bool
    """Whether the registration is in force."""
    reason: str


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """An INVITE a volunteer or partner phone received."""

    remote_uri: str
    """The From as the phone shows it (privacy tests: must not hold the caller's number)."""
    invite: str
    """The whole INVITE as received, headers and SDP."""
    request: SipRequest
    """The same INVITE parsed: ``request.user`` (the number dialled), ``request.header(...)``,
    ``request.uri_user("From")``, ``request.identity()``."""

    @classmethod
    def of(cls, event: Event) -> IncomingCall:
        return cls(
            remote_uri=event["remote_uri"],
            invite=event["invite"],
            request=parse_request(event["invite"]),
        )


@dataclass(frozen=True, slots=True)
class CallEnded:
    """A call of this phone is over."""

    code: int
    """Last SIP status of the call (200 after a normal BYE, 486, 487, 603, ...)."""
    reason: str
    connected_s: float
    """How long the call was connected (0 if never answered)."""
    recording: Path | None
    """WAV of what the phone received since the last measurement, if audio was ever up
    (deleted when the phone is closed)."""


# -- the phones ---------------------------------------------------------------------------


class _Phone:
    """A pjsua2 agent process and its event stream; base of the two phone kinds."""

    def __init__(self, config: dict[str, Any], label: str) -> None:
        self._config = config
        self.label = label
        """Name used in error messages."""
        self._dir: tempfile.TemporaryDirectory[str] | None = None  # made by start()
        self._log_path = Path("/nonexistent")
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: list[Event] = []  # events not consumed by a wait yet
        self._replies: dict[int, asyncio.Future[Event]] = {}
        self._changed = asyncio.Condition()
        self._next_id = 0
        self._exit_code: int | None = None
        self.events: list[Event] = []
        """Every event so far, for debugging and assertions."""
        self.invites: list[IncomingCall] = []
        """Every INVITE this phone received, in order, also those it refused as busy."""
        self.reg: RegState | None = None
        self.call_state: str | None = None
        """State of the current or last call (CALLING, EARLY, CONFIRMED, DISCONNECTED...)."""
        self.sip_address: str = ""
        """``ip:port`` the phone's SIP transport is bound to."""
        self._audio_up = False
        self._call_over = False

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        """Launch the agent and wait until its SIP stack is up (~0.1 s)."""
        self._dir = tempfile.TemporaryDirectory(prefix=f"phone-{self.label}-")
        self._config["record_dir"] = self._dir.name
        self._log_path = Path(self._dir.name) / "agent.log"
        try:
            await self._launch(timeout_s)
        except BaseException:
            await self.close()  # __aexit__ does not run when __aenter__ fails
            raise

    async def _launch(self, timeout_s: float) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        with open(self._log_path, "wb") as log:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.integration.phone_agent",
                json.dumps(self._config),
                cwd=REPO_ROOT,
                env=env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                limit=1 << 20,  # an INVITE with SDP is one long line
            )
        self._reader = asyncio.create_task(self._read_events())
        ready = await self._take(lambda e: e["event"] in ("ready", "fatal"), timeout_s, "start")
        if ready["event"] == "fatal":
            raise PhoneError(f"{self.label}: agent failed to start: {ready['error']}")
        self.sip_address = ready["sip_address"]

    async def close(self) -> None:
        """Ask the agent to hang up, unregister and exit; kill it if it dawdles. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.returncode is None:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    assert proc.stdin is not None
                    proc.stdin.write(b'{"cmd": "quit"}\n')
                    await proc.stdin.drain()
                try:
                    await asyncio.wait_for(proc.wait(), 3.0)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
            if proc.stdin is not None:
                proc.stdin.close()
        if self._reader is not None:
            reader, self._reader = self._reader, None
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        if self._dir is not None:
            self._dir.cleanup()  # recordings go too
            self._dir = None

    # -- plumbing ---------------------------------------------------------------------------

    async def _read_events(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        stdout = self._proc.stdout
        while line := await stdout.readline():
            message: Event = json.loads(line)
            if "id" in message and "event" not in message:
                future = self._replies.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_result(message)
                continue
            self.events.append(message)
            self._track(message)
            self._pending.append(message)
            async with self._changed:
                self._changed.notify_all()
        self._exit_code = await self._proc.wait()
        for future in self._replies.values():
            if not future.done():
                future.set_exception(self._crashed("while waiting for a reply"))
        async with self._changed:
            self._changed.notify_all()

    def _track(self, event: Event) -> None:
        kind = event["event"]
        if kind == "reg":
            self.reg = RegState(code=event["code"], active=event["active"], reason=event["reason"])
        elif kind == "incoming":
            self._new_call()
            self.call_state = "INCOMING"
            self.invites.append(IncomingCall.of(event))
        elif kind == "busy":
            self.invites.append(IncomingCall.of(event))
        elif kind == "state":
            self.call_state = event["state"]
        elif kind == "media":
            self._audio_up = bool(event["active"])
        elif kind == "ended":
            self._audio_up, self._call_over = False, True

    def _new_call(self) -> None:
        """Forget the previous call: waits are about the current one from now on."""
        self._pending = [e for e in self._pending if e["event"] not in _CALL_EVENTS]
        self._audio_up, self._call_over = False, False

    def _crashed(self, doing: str) -> PhoneCrashed:
        return PhoneCrashed(f"{self.label}: agent exited ({self._exit_code}) {doing}{self._tail()}")

    def _recent(self) -> str:
        return f"last events: {[_short(e) for e in self.events[-6:]]}"

    def _tail(self) -> str:
        try:
            text = self._log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n--- agent log (tail) ---\n" + "\n".join(text.splitlines()[-30:])

    async def _wait_until(self, cond: Callable[[], bool], timeout_s: float, what: str) -> None:
        """Wait until ``cond()`` holds, re-checked on every event."""
        try:
            async with asyncio.timeout(timeout_s):
                async with self._changed:
                    while not cond():
                        if self._exit_code is not None or self._reader is None:
                            raise self._crashed(f"waiting for {what}")
                        await self._changed.wait()
        except TimeoutError:
            raise PhoneTimeout(
                f"{self.label}: no {what} within {timeout_s:g}s; {self._recent()}{self._tail()}"
            ) from None

    async def _take(self, match: Callable[[Event], bool], timeout_s: float, what: str) -> Event:
        """Consume the first not yet consumed event that ``match``es, waiting for it."""
        found: list[Event] = []

        def ready() -> bool:
            for event in self._pending:
                if match(event):
                    self._pending.remove(event)
                    found.append(event)
                    return True
            return False

        await self._wait_until(ready, timeout_s, what)
        return found[0]

    async def _command(self, cmd: str, timeout_s: float = DEFAULT_TIMEOUT_S, **args: Any) -> Event:
        if self._proc is None or self._proc.stdin is None or self._exit_code is not None:
            raise self._crashed(f"before {cmd}")
        self._next_id += 1
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._replies[self._next_id] = future
        self._proc.stdin.write(json.dumps({"id": self._next_id, "cmd": cmd, **args}).encode())
        self._proc.stdin.write(b"\n")
        try:
            await self._proc.stdin.drain()
            reply = await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            raise PhoneTimeout(f"{self.label}: no reply to {cmd}{self._tail()}") from None
        except ConnectionError as exc:
            raise self._crashed(f"sending {cmd}") from exc
        finally:
            self._replies.pop(self._next_id, None)
        if not reply["ok"]:
            raise PhoneCommandFailed(
                f"{self.label}: {cmd} failed: {reply.get('error')}; {self._recent()}"
            )
        return reply

    # -- calls (both kinds) -----------------------------------------------------------------

    async def wait_state(self, state: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        """Consume call-state events until ``state`` (e.g. ``EARLY`` = ringing) is seen."""
        await self._take(
            lambda e: e["event"] == "state" and e["state"] == state, timeout_s, f"call {state}"
        )

    async def wait_answered(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        """Wait until the call is connected (200 OK/ACK, not early media) with audio up.

        Raises :class:`CallFailed` if the call ended instead.
        """
        event = await self._take(
            lambda e: (
                e["event"] == "ended" or (e["event"] == "state" and e["state"] == "CONFIRMED")
            ),
            timeout_s,
            "answered call",
        )
        if event["event"] == "ended":
            ended = _ended(event)
            raise CallFailed(f"{self.label}: call ended ({ended.code} {ended.reason})", ended)
        await self._wait_until(self._audio_ready, timeout_s, "call audio")

    async def wait_ended(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> CallEnded:
        """Wait for the current call to end (either side hung up, or it failed)."""
        return _ended(await self._take(lambda e: e["event"] == "ended", timeout_s, "call end"))

    async def send_dtmf(self, digits: str) -> None:
        """Press keys in the current call (RFC 4733 telephone-events, as a real phone does)."""
        await self._command("dtmf", digits=digits)

    async def hangup(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> CallEnded:
        """Hang up (BYE, or CANCEL while ringing out) and wait for the call to end."""
        await self._command("hangup")
        return await self.wait_ended(timeout_s)

    async def hangup_and_measure(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> AudioReport:
        """Hang up and analyse what was received since the last :meth:`measure`."""
        ended = await self.hangup(timeout_s)
        if ended.recording is None:
            raise PhoneError(f"{self.label}: the call never had audio")
        return await asyncio.to_thread(analyse, ended.recording)

    async def measure(self) -> AudioReport:
        """Analyse what was received since the previous measurement (or the audio start)."""
        reply = await self._command("measure")
        if reply.get("path") is None:
            raise PhoneError(f"{self.label}: nothing recorded yet")
        return await asyncio.to_thread(analyse, Path(reply["path"]))

    async def wait_hearing(
        self,
        hz: float,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        *,
        window_s: float = 0.4,
        tolerance_hz: float = 15.0,
    ) -> AudioReport:
        """Measure every ``window_s`` until a window's dominant tone is ``hz``; return it."""
        last: AudioReport | None = None
        try:
            async with asyncio.timeout(timeout_s):
                await self._wait_until(self._audio_ready, timeout_s, "call audio")
                while True:
                    # The window must fill with audio: this is sampling, not a guessed delay.
                    await asyncio.sleep(window_s)
                    last = await self.measure()
                    if last.has_tone(hz, tolerance_hz):
                        return last
        except TimeoutError:
            raise PhoneTimeout(
                f"{self.label}: did not hear {hz:g} Hz within {timeout_s:g}s (last: {last})"
            ) from None

    async def wait_hearing_tones(
        self,
        *hzs: int,
        absent: Iterable[int] = (),
        timeout_s: float = DEFAULT_TIMEOUT_S,
        window_s: float = 0.4,
        min_rms: float = TONE_PRESENT_RMS,
    ) -> AudioReport:
        """Measure every ``window_s`` until one window holds every tone in ``hzs`` at
        ``min_rms`` or more and every tone in ``absent`` below it; return that window's report.

        E.g. the child hears the volunteer and the partner at once in a conference, or the
        partner without the volunteer once the volunteer has left (the window that still holds
        the volunteer's last packets does not count). The tones must be among those
        :func:`~tests.integration.audio.analyse` measures: the three test tones.
        """
        gone = tuple(absent)
        last: AudioReport | None = None

        def heard(report: AudioReport) -> bool:
            return report.hears(*hzs, min_rms=min_rms) and not any(
                report.level(hz) >= min_rms for hz in gone
            )

        try:
            async with asyncio.timeout(timeout_s):
                await self._wait_until(self._audio_ready, timeout_s, "call audio")
                while True:
                    await asyncio.sleep(window_s)  # sampling, as in wait_hearing
                    last = await self.measure()
                    if heard(last):
                        return last
        except TimeoutError:
            tones = " + ".join(f"{hz} Hz" for hz in hzs) + "".join(f" - {hz} Hz" for hz in gone)
            raise PhoneTimeout(
                f"{self.label}: did not hear {tones} within {timeout_s:g}s (last: {last})"
            ) from None

    def _audio_ready(self) -> bool:
        if self._call_over:
            raise PhoneError(f"{self.label}: the call ended while waiting for its audio")
        return self._audio_up


class _AnsweringPhone(_Phone):
    """A phone that is called: answer modes, the incoming INVITE, answer and reject."""

    async def set_mode(self, mode: AnswerMode) -> None:
        """How to treat the next incoming calls."""
        await self._command("set_mode", mode=_mode_json(mode))

    async def wait_incoming(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> IncomingCall:
        """The next call offered to this phone."""
        event = await self._take(lambda e: e["event"] == "incoming", timeout_s, "incoming call")
        return IncomingCall.of(event)

    async def assert_no_incoming(self, within_s: float) -> None:
        """Fail if a call is offered within ``within_s`` (e.g. a paused volunteer)."""
        try:
            call = await self.wait_incoming(within_s)
        except PhoneTimeout:
            return
        raise AssertionError(f"{self.label}: unexpected call from {call.remote_uri}")

    async def answer(self) -> None:
        await self._command("answer")

    async def reject(self, code: int = 486) -> CallEnded:
        """Refuse the ringing call with ``code`` and wait until it is over."""
        await self._command("reject", code=code)
        return await self.wait_ended()


class VolunteerPhone(_AnsweringPhone):
    """A volunteer's UDP softphone: registers with digest auth, receives calls, plays 880 Hz."""

    def __init__(
        self,
        user: str,
        password: str,
        *,
        registrar: str = "127.0.0.1:5060",
        bind: str = "127.0.0.1",
        mode: AnswerMode = Manual(),  # noqa: B008 (frozen, so a shared default is safe)
        tone_hz: int | None = VOLUNTEER_TONE_HZ,
        register: bool = True,
        log_level: int = 3,
    ) -> None:
        super().__init__(
            {
                "user": user,
                "password": password,
                "domain": registrar.split(":")[0],
                "registrar": registrar,
                "bind": bind,
                "register": register,
                "mode": _mode_json(mode),
                "play": str(tone_wav(tone_hz)) if tone_hz else None,
                "log_level": log_level,
            },
            label=user,
        )

    @classmethod
    def of(cls, asterisk: Any, user: str, **kwargs: Any) -> VolunteerPhone:
        """A phone for one of the ``asterisk`` fixture's test accounts."""
        return cls(user, asterisk.volunteers[user], registrar=asterisk.sip_address, **kwargs)

    async def registered(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> RegState:
        """Wait until the registration is in force; :class:`PhoneError` if it was refused."""

        def done() -> bool:
            if self.reg is not None and not self.reg.active and self.reg.code >= 400:
                raise PhoneError(f"{self.label}: registration refused: {self.reg}")
            return self.reg is not None and self.reg.active

        await self._wait_until(done, timeout_s, "registration")
        assert self.reg is not None
        return self.reg

    async def wait_reg_code(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> RegState:
        """Wait for the next REGISTER outcome, whatever it is (e.g. 401 for a bad password)."""
        event = await self._take(lambda e: e["event"] == "reg", timeout_s, "REGISTER answer")
        return RegState(code=event["code"], active=event["active"], reason=event["reason"])

    async def register(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> RegState:
        await self._command("register")
        return await self.registered(timeout_s)

    async def unregister(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        """REGISTER with Expires 0 and wait until Asterisk confirmed it."""
        await self._command("unregister")
        await self._wait_until(
            lambda: self.reg is not None and not self.reg.active, timeout_s, "unregistration"
        )


class CallerPhone(_Phone):
    """A caller on the carrier side (bound to 127.0.0.2), dialling a helpline number.

    The From carries :data:`~tests.integration.sipp.SECRET_CALLER_NUMBER` and name, so privacy
    tests can check that neither reaches the volunteer or our logs. It binds a random port, so
    several callers and a :class:`PartnerPhone` (port 5060) share the carrier's address; the
    carrier is identified by address only, so Asterisk takes them all for the carrier.
    """

    def __init__(
        self,
        number: str,
        *,
        asterisk: str = "127.0.0.1:5060",
        bind: str = CARRIER_IP,
        caller_number: str = SECRET_CALLER_NUMBER,
        caller_name: str = SECRET_CALLER_NAME,
        tone_hz: int | None = CALLER_TONE_HZ,
        log_level: int = 3,
    ) -> None:
        super().__init__(
            {
                "user": caller_number,
                "display_name": caller_name,
                "password": None,
                "registrar": None,
                "bind": bind,
                "play": str(tone_wav(tone_hz)) if tone_hz else None,
                "log_level": log_level,
            },
            label=f"caller-{number}",
        )
        self.number = number
        self._target = asterisk

    async def dial(self) -> None:
        """Send the INVITE; then :meth:`wait_answered` / :meth:`wait_ended`."""
        self._new_call()
        await self._command("dial", uri=f"sip:{self.number}@{self._target}")


class PartnerPhone(_AnsweringPhone):
    """A partner organisation (Veilig Thuis, ...) that the helpline dials out to through the
    carrier: a UA on the carrier's address and SIP port, answering whatever INVITE arrives
    there, for any number (``request.user`` says which was dialled); plays 1000 Hz.

    No registration and no account at Asterisk, as with a real carrier. Its own requests (a BYE
    when the partner hangs up) come from the carrier's address, so Asterisk takes them for the
    carrier's. Every INVITE it received is in :attr:`invites`, also those refused as busy while
    it was in a call. One partner per address and port: a second one fails to start.
    """

    def __init__(
        self,
        *,
        bind: str = CARRIER_IP,
        port: int = PARTNER_SIP_PORT,
        mode: AnswerMode = Manual(),  # noqa: B008 (frozen, so a shared default is safe)
        tone_hz: int | None = PARTNER_TONE_HZ,
        user: str = "partner",
        label: str = "partner",
        log_level: int = 3,
    ) -> None:
        """``port`` 0 binds a random one (see :attr:`sip_address` once started)."""
        super().__init__(
            {
                "user": user,
                "password": None,
                "registrar": None,
                "bind": bind,
                "sip_port": port,
                "mode": _mode_json(mode),
                "play": str(tone_wav(tone_hz)) if tone_hz else None,
                "log_level": log_level,
            },
            label=label,
        )

    def uri(self, number: str) -> str:
        """Where to send an INVITE for ``number`` so that this phone gets it (once started)."""
        if not self.sip_address:
            raise PhoneError(f"{self.label}: not started, no address yet")
        return f"sip:{number}@{self.sip_address}"


def _ended(event: Event) -> CallEnded:
    return CallEnded(
        code=event["code"],
        reason=event["reason"],
        connected_s=event["connected_s"],
        recording=Path(event["recording"]) if event["recording"] else None,
    )


def _short(event: Event) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != "invite"}
