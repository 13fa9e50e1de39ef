"""One scriptable SIP phone (pjsua2) in its own process, driven by JSON lines.

Run by :mod:`tests.integration.phones`, not by hand::

    python -m tests.integration.phone_agent '<config json>'

Why a subprocess: pjsua2 wants to own one thread (``threadCnt=0``, ``mainThreadOnly``) and is
C code that can take the interpreter down; a phone per process keeps pytest's event loop free
and a crash contained. The process only does SIP and media; the test side analyses recordings.

Protocol (one JSON object per line). Commands on stdin: ``{"id": n, "cmd": ..., ...}``, each
answered on stdout by ``{"id": n, "ok": true, ...}`` or ``{"id": n, "ok": false, "error": ...}``.
Unsolicited events on stdout: ``{"event": ...}``: ``ready``, ``reg``, ``incoming``, ``state``,
``media``, ``busy``, ``ended``. C-level output of pjsip goes to stderr (fd 1 is redirected), so
stdout carries nothing but the protocol.

Recording: from the moment a call's audio is up, what the phone receives is written to a WAV in
``record_dir``; ``measure`` closes the current file (returning its path) and starts a new one,
``ended`` carries the path of the last one.
"""

from __future__ import annotations

import json
import os
import queue
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

import pjsua2 as pj

_STATES = {
    pj.PJSIP_INV_STATE_CALLING: "CALLING",
    pj.PJSIP_INV_STATE_INCOMING: "INCOMING",
    pj.PJSIP_INV_STATE_EARLY: "EARLY",
    pj.PJSIP_INV_STATE_CONNECTING: "CONNECTING",
    pj.PJSIP_INV_STATE_CONFIRMED: "CONFIRMED",
    pj.PJSIP_INV_STATE_DISCONNECTED: "DISCONNECTED",
}


class AgentCall(pj.Call):
    """A pjsua2 call that reports its state changes to the agent."""

    def __init__(self, agent: Agent, account: pj.Account, call_id: int = pj.PJSUA_INVALID_ID):
        super().__init__(account, call_id)
        self.agent = agent

    def onCallState(self, prm: pj.OnCallStateParam) -> None:  # noqa: N802 (pjsua2 API)
        self.agent.on_call_state(self)

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:  # noqa: N802
        self.agent.on_media_state(self)


class AgentAccount(pj.Account):
    """The phone's one SIP account: registration reports and incoming calls."""

    def __init__(self, agent: Agent) -> None:
        super().__init__()
        self.agent = agent

    def onRegState(self, prm: pj.OnRegStateParam) -> None:  # noqa: N802
        self.agent.reg_answers += 1
        self.agent.emit("reg", code=prm.code, reason=prm.reason, active=self.getInfo().regIsActive)

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:  # noqa: N802
        self.agent.on_incoming(AgentCall(self.agent, self, prm.callId), prm.rdata.wholeMsg)


class Agent:
    """State of the phone process; everything runs on the main thread."""

    def __init__(self, cfg: dict[str, Any], out: TextIO) -> None:
        self.cfg = cfg
        self.out = out
        self.mode: dict[str, Any] = cfg.get("mode") or {"kind": "manual"}
        self.record_dir = Path(cfg["record_dir"])
        self.commands: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.running = True
        self.call: AgentCall | None = None
        self.graveyard: list[AgentCall] = []  # never delete a Call inside its own callback
        self.others: list[AgentCall] = []  # calls refused as busy, until they are over
        self.answer_at: float | None = None
        self.player: pj.AudioMediaPlayer | None = None
        self.recorder: pj.AudioMediaRecorder | None = None
        self.recording: Path | None = None
        self.segments = 0
        self.reg_answers = 0
        """REGISTER outcomes seen (the shutdown waits for the one of its unregistration)."""
        self.ep = pj.Endpoint()
        self.account = AgentAccount(self)

    # -- set-up -----------------------------------------------------------------------------

    def start(self) -> None:
        ep = self.ep
        ep.libCreate()
        ep_cfg = pj.EpConfig()
        ep_cfg.uaConfig.threadCnt = 0
        ep_cfg.uaConfig.mainThreadOnly = True
        ep_cfg.uaConfig.userAgent = "helpline-test-phone"
        ep_cfg.logConfig.level = int(self.cfg.get("log_level", 1))
        ep_cfg.logConfig.consoleLevel = int(self.cfg.get("log_level", 1))
        # 8 kHz bridge like G.711: no resampling, least CPU on the 2-core CI machine.
        ep_cfg.medConfig.clockRate = 8000
        ep_cfg.medConfig.sndClockRate = 8000
        ep_cfg.medConfig.ecTailLen = 0
        ep.libInit(ep_cfg)
        ep.audDevManager().setNullDev()  # a clock for the conference bridge, no sound card
        for codec in ep.codecEnum2():
            wanted = {"PCMA/8000/1": 255, "PCMU/8000/1": 254}.get(codec.codecId, 0)
            ep.codecSetPriority(codec.codecId, wanted)
        bind = self.cfg["bind"]
        tp_cfg = pj.TransportConfig()
        tp_cfg.port = int(self.cfg.get("sip_port", 0))
        tp_cfg.boundAddress = bind
        transport_id = ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tp_cfg)
        ep.libStart()

        acc_cfg = pj.AccountConfig()
        acc_cfg.idUri = f"sip:{self.cfg['user']}@{self.cfg.get('domain') or bind}"
        if self.cfg.get("display_name"):
            acc_cfg.idUri = f'"{self.cfg["display_name"]}" <{acc_cfg.idUri}>'
        acc_cfg.sipConfig.transportId = transport_id
        registrar = self.cfg.get("registrar")
        if registrar:
            acc_cfg.regConfig.registrarUri = f"sip:{registrar}"
            acc_cfg.regConfig.registerOnAdd = bool(self.cfg.get("register", True))
            # Short: a phone killed without unregistering leaves a contact only briefly.
            acc_cfg.regConfig.timeoutSec = 60
            acc_cfg.regConfig.retryIntervalSec = 30
        if self.cfg.get("password") is not None:
            cred = pj.AuthCredInfo("digest", "*", self.cfg["user"], 0, self.cfg["password"])
            acc_cfg.sipConfig.authCreds.append(cred)
        # Loopback: no NAT tricks, so SDP and Contact carry exactly the bound address.
        acc_cfg.natConfig.contactRewriteUse = 0
        acc_cfg.natConfig.viaRewriteUse = 0
        acc_cfg.natConfig.sdpNatRewriteUse = 0
        acc_cfg.natConfig.sipOutboundUse = 0  # plain Contact (no ;ob, +sip.instance)
        acc_cfg.natConfig.sipStunUse = pj.PJSUA_STUN_USE_DISABLED
        acc_cfg.natConfig.mediaStunUse = pj.PJSUA_STUN_USE_DISABLED
        media_tp = acc_cfg.mediaConfig.transportConfig
        media_tp.boundAddress = bind
        # Random even start: parallel phones rarely collide, and pjsua moves on if they do.
        media_tp.port = random.randrange(20000, 40000, 2)
        media_tp.portRange = 2000
        self.account.create(acc_cfg)
        info = ep.transportGetInfo(transport_id)
        self.emit("ready", sip_address=info.localName)

    # -- main loop --------------------------------------------------------------------------

    def run(self) -> None:
        reader = threading.Thread(target=self._read_stdin, daemon=True)
        reader.start()
        while self.running:
            self.ep.libHandleEvents(10)
            self.graveyard.clear()
            if self.answer_at is not None and time.monotonic() >= self.answer_at:
                self.answer_at = None
                if self.call is not None:
                    self._answer(200)
            while True:
                try:
                    command = self.commands.get_nowait()
                except queue.Empty:
                    break
                if command is None:  # stdin closed: the test side is gone
                    self.running = False
                    break
                self._dispatch(command)
        self._shutdown()

    def _read_stdin(self) -> None:
        for line in sys.stdin:
            if line.strip():
                self.commands.put(json.loads(line))
        self.commands.put(None)

    def _dispatch(self, command: dict[str, Any]) -> None:
        handler = getattr(self, "cmd_" + str(command.get("cmd")), None)
        reply: dict[str, Any] = {"id": command.get("id")}
        if handler is None:
            reply.update(ok=False, error=f"unknown command {command.get('cmd')!r}")
        else:
            try:
                reply.update(ok=True, **(handler(command) or {}))
            except (pj.Error, RuntimeError, KeyError, ValueError) as exc:
                text = exc.info() if isinstance(exc, pj.Error) else str(exc)
                reply.update(ok=False, error=text)
        self._write(reply)

    def emit(self, event: str, **fields: Any) -> None:
        self._write({"event": event, **fields})

    def _write(self, obj: dict[str, Any]) -> None:
        self.out.write(json.dumps(obj) + "\n")
        self.out.flush()

    # -- commands ---------------------------------------------------------------------------

    def cmd_register(self, _: dict[str, Any]) -> None:
        self.account.setRegistration(True)

    def cmd_unregister(self, _: dict[str, Any]) -> None:
        self.account.setRegistration(False)

    def cmd_set_mode(self, command: dict[str, Any]) -> None:
        self.mode = command["mode"]

    def cmd_dial(self, command: dict[str, Any]) -> None:
        if self.call is not None:
            raise RuntimeError("already in a call")
        call = AgentCall(self, self.account)
        prm = pj.CallOpParam(True)
        prm.opt.audioCount = 1
        prm.opt.videoCount = 0
        call.makeCall(command["uri"], prm)
        self.call = call

    def cmd_answer(self, _: dict[str, Any]) -> None:
        self._answer(200)

    def cmd_reject(self, command: dict[str, Any]) -> None:
        self._hangup(int(command.get("code", 486)))

    def cmd_hangup(self, _: dict[str, Any]) -> None:
        self._hangup(0)

    def cmd_dtmf(self, command: dict[str, Any]) -> None:
        """Send DTMF keys in the call (RFC 4733, the method Asterisk's endpoints expect)."""
        if self.call is None:
            raise RuntimeError("no call")
        self.call.dialDtmf(str(command["digits"]))

    def cmd_measure(self, _: dict[str, Any]) -> dict[str, Any]:
        """Close the current recording and start the next one; reply with the closed file."""
        if self.recorder is None or self.call is None:
            raise RuntimeError("no recording (no call with audio)")
        old, self.recorder = self.recorder, None
        done = self.recording
        self._start_recording(self.call.getAudioMedia(-1))  # first, so no audio is lost
        del old
        if done is not None:
            _wait_wav_closed(done)
        return {"path": str(done) if done else None}

    def cmd_quit(self, _: dict[str, Any]) -> None:
        self.running = False

    # -- call handling ----------------------------------------------------------------------

    def on_incoming(self, call: AgentCall, invite: str) -> None:
        if self.call is not None:
            # With the INVITE too: a partner phone records every INVITE that reached it.
            self.emit("busy", remote_uri=call.getInfo().remoteUri, invite=invite)
            prm = pj.CallOpParam(True)
            prm.statusCode = 486
            call.hangup(prm)
            self.others.append(call)  # keep it alive until pjsua reports it disconnected
            return
        self.call = call
        info = call.getInfo()
        self.emit("incoming", remote_uri=info.remoteUri, invite=invite)
        kind = self.mode.get("kind", "manual")
        if kind == "reject":
            self._hangup(int(self.mode.get("code", 486)))
            return
        self._answer(180)
        if kind == "auto_answer":
            self.answer_at = time.monotonic() + float(self.mode.get("delay_ms", 0)) / 1000

    def _answer(self, code: int) -> None:
        if self.call is None:
            raise RuntimeError("no call to answer")
        prm = pj.CallOpParam(True)
        prm.statusCode = code
        prm.opt.audioCount = 1
        prm.opt.videoCount = 0
        self.call.answer(prm)

    def _hangup(self, code: int) -> None:
        if self.call is None:
            raise RuntimeError("no call")
        self.answer_at = None
        prm = pj.CallOpParam(True)
        if code:
            prm.statusCode = code
        self.call.hangup(prm)

    def on_call_state(self, call: AgentCall) -> None:
        info = call.getInfo()
        state = _STATES.get(info.state, str(info.state))
        if call is not self.call:
            if state == "DISCONNECTED" and call in self.others:
                self.others.remove(call)
                self.graveyard.append(call)
            return
        self.emit("state", state=state, code=info.lastStatusCode, reason=info.lastReason)
        if state == "DISCONNECTED":
            self.answer_at = None
            self._stop_player()
            path = self._stop_recording()
            self.emit(
                "ended",
                code=info.lastStatusCode,
                reason=info.lastReason,
                connected_s=info.connectDuration.sec + info.connectDuration.msec / 1000,
                recording=str(path) if path else None,
            )
            self.call = None
            self.graveyard.append(call)

    def on_media_state(self, call: AgentCall) -> None:
        if call is not self.call:
            return
        info = call.getInfo()
        active = any(
            m.type == pj.PJMEDIA_TYPE_AUDIO and m.status == pj.PJSUA_CALL_MEDIA_ACTIVE
            for m in info.media
        )
        if active:
            # (Re)connect on every update: an SDP change (e.g. Asterisk's answer after our
            # offer, a re-INVITE) can give the call a new conference slot, and connections to
            # the old one are silently gone. Connecting a connected pair again is a no-op.
            media = call.getAudioMedia(-1)
            if self.recorder is None:
                self._start_recording(media)
            else:
                media.startTransmit(self.recorder)
            if self.cfg.get("play"):
                if self.player is None:
                    self.player = pj.AudioMediaPlayer()
                    self.player.createPlayer(self.cfg["play"])  # loops until stopped
                self.player.startTransmit(media)
        self.emit("media", active=active)

    def _start_recording(self, media: pj.AudioMedia) -> None:
        self.segments += 1
        self.recording = self.record_dir / f"rx-{self.segments:03d}.wav"
        self.recorder = pj.AudioMediaRecorder()
        self.recorder.createRecorder(str(self.recording))
        media.startTransmit(self.recorder)

    def _stop_recording(self) -> Path | None:
        recorder, self.recorder = self.recorder, None
        path, self.recording = self.recording, None
        if recorder is None or path is None:
            return None
        del recorder
        _wait_wav_closed(path)
        return path

    def _stop_player(self) -> None:
        player, self.player = self.player, None
        del player

    def _shutdown(self) -> None:
        """Hang up and unregister (so Asterisk sees the phone offline), then exit fast."""
        if self.call is not None:
            try:
                self._hangup(0)
            except pj.Error:
                pass
        answers = self.reg_answers
        unregistering = False
        try:
            if self.cfg.get("registrar") and self.account.getInfo().regIsActive:
                self.account.setRegistration(False)
                unregistering = True
        except pj.Error:
            pass
        # Wait for Asterisk's answer to the unregistration (after its digest challenge), not
        # only for pjsua to stop counting itself registered: a contact left behind would make
        # the next phone on this account replace a contact that was already gone (and be reported
        # as a take-over).
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and (
            self.call is not None
            or (unregistering and self.reg_answers == answers)
            or self._registered_quietly()
        ):
            self.ep.libHandleEvents(10)
        self._stop_recording()
        self.out.flush()
        os._exit(0)  # libDestroy takes ~1 s and can crash at exit; nothing left to save

    def _registered_quietly(self) -> bool:
        try:
            return bool(self.cfg.get("registrar")) and self.account.getInfo().regIsActive
        except pj.Error:
            return False


def _wait_wav_closed(path: Path, timeout_s: float = 0.5) -> None:
    """Wait until pjmedia finished the WAV file of a destroyed recorder.

    Since pjsip 2.14 the conference bridge removes ports asynchronously, on its next clock
    tick (the null sound device's thread), and only then closes the file and writes the
    header's sizes, which stay 0 until then. No pumping of pjsip events is needed (and this
    may run inside a pjsua2 callback, where pumping would re-enter).
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with open(path, "rb") as wav:
                header = wav.read(8)
        except OSError:
            header = b""
        if len(header) == 8 and header[4:8] != b"\0\0\0\0":
            return
        time.sleep(0.005)


def main() -> None:
    cfg = json.loads(sys.argv[1])
    # Keep the protocol on a private copy of stdout; pjsip's printf output goes to stderr.
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    agent = Agent(cfg, out)
    try:
        agent.start()
    except pj.Error as exc:
        out.write(json.dumps({"event": "fatal", "error": exc.info()}) + "\n")
        out.flush()
        os._exit(2)
    agent.run()


if __name__ == "__main__":
    main()
