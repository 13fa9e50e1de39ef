"""Drive calls *from the carrier* (127.0.0.2) into the test Asterisk with sipp.

The INVITE carries a caller identity in every header a real carrier could use (From, PAI,
Remote-Party-ID, Diversion) so privacy tests can check that none of it comes through.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

CARRIER_IP = "127.0.0.2"
SECRET_CALLER_NUMBER = "0612345678"
SECRET_CALLER_NAME = "Secret Child"
SECRET_DIVERSION_NUMBER = "0687654321"

_INVITE = """
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "{name}" <sip:{number}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:{number}@[local_ip]:[local_port]>
      P-Asserted-Identity: "{name}" <sip:{number}@[local_ip]>
      Remote-Party-ID: "{name}" <sip:{number}@[local_ip]>;party=calling;screen=yes;privacy=off
      Diversion: <sip:{diversion}@[local_ip]>;reason=unconditional
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=carrier 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
"""

_ACK = """
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
"""

_FAILED_ACK = """
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
"""

_REMOTE_BYE = """
  <recv request="BYE"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
"""

_LOCAL_BYE = """
  <pause milliseconds="{ms}"/>
  <send retrans="500">
    <![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
"""


def carrier_scenario(final: int = 200, caller_hangs_up_after_ms: int | None = None) -> str:
    """A sipp UAC scenario: INVITE with a secret caller identity, expect ``final``.

    On 200 it ACKs and then either waits for Asterisk's BYE (default) or sends its own BYE
    after ``caller_hangs_up_after_ms`` (the child hangs up).
    """
    body = _INVITE.format(
        name=SECRET_CALLER_NAME, number=SECRET_CALLER_NUMBER, diversion=SECRET_DIVERSION_NUMBER
    )
    if final == 200:
        body += '  <recv response="200" rtd="true"/>\n' + _ACK
        if caller_hangs_up_after_ms is None:
            body += _REMOTE_BYE
        else:
            body += _LOCAL_BYE.format(ms=caller_hangs_up_after_ms)
    else:
        body += f'  <recv response="{final}"/>\n' + _FAILED_ACK
    return (
        '<?xml version="1.0" encoding="ISO-8859-1" ?>\n'
        '<!DOCTYPE scenario SYSTEM "sipp.dtd">\n'
        f'<scenario name="carrier call">\n{body}</scenario>\n'
    )


def free_udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class SippCall:
    """A running sipp process placing one carrier call; ``wait()`` returns sipp's exit code."""

    process: asyncio.subprocess.Process
    workdir: tempfile.TemporaryDirectory[str]

    async def wait(self, timeout_s: float = 20.0) -> tuple[int, str]:
        """Exit code (0 = the call went exactly as scripted) and sipp's output."""
        try:
            out, _ = await asyncio.wait_for(self.process.communicate(), timeout_s)
        finally:
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
            self.workdir.cleanup()
        assert self.process.returncode is not None
        return self.process.returncode, out.decode(errors="replace")


async def start_carrier_call(
    number: str,
    *,
    asterisk: str = "127.0.0.1:5060",
    final: int = 200,
    caller_hangs_up_after_ms: int | None = None,
    timeout_s: float = 15.0,
) -> SippCall:
    """Start sipp placing one call to ``number`` from the carrier address."""
    sipp = shutil.which("sipp")
    if sipp is None:
        raise RuntimeError("sipp is not installed: apt-get install -y sipp")
    workdir = tempfile.TemporaryDirectory(prefix="sipp-")
    scenario = Path(workdir.name) / "carrier.xml"
    scenario.write_text(carrier_scenario(final, caller_hangs_up_after_ms))
    cmd = [
        sipp,
        asterisk,
        "-sf",
        str(scenario),
        "-s",
        number,
        "-i",
        CARRIER_IP,
        "-p",
        str(free_udp_port(CARRIER_IP)),
        "-mi",
        CARRIER_IP,
        "-mp",
        str(free_udp_port(CARRIER_IP)),
        "-m",
        "1",
        "-timeout",
        f"{int(timeout_s)}s",
        "-timeout_error",
        "-recv_timeout",
        f"{int(timeout_s * 1000)}",
        "-nostdin",
    ]
    process = await asyncio.create_subprocess_exec(
        *cmd,
        cwd=workdir.name,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    return SippCall(process=process, workdir=workdir)


# -- a partner answering calls *out* (on the carrier address, as the carrier would deliver) ----

PARTNER_PORT = 5060
"""Where ``[transfer] dial_out_uri`` points in the test config (sip:127.0.0.2:5060)."""

_UAS_ANSWER = """
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=partner 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000

    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
"""

_UAS_REFUSE = """
  <send>
    <![CDATA[
      SIP/2.0 {final} Refused
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK"/>
"""


def partner_scenario(final: int = 200) -> str:
    """A sipp UAS scenario: take one INVITE, answer it (then wait for our BYE) or refuse it
    with ``final`` (486 busy, 603 declined...)."""
    body = '  <recv request="INVITE" crlf="true"/>\n'
    body += _UAS_ANSWER + _REMOTE_BYE if final == 200 else _UAS_REFUSE.format(final=final)
    return (
        '<?xml version="1.0" encoding="ISO-8859-1" ?>\n'
        '<!DOCTYPE scenario SYSTEM "sipp.dtd">\n'
        f'<scenario name="partner">\n{body}</scenario>\n'
    )


@dataclass
class SippPartner:
    """A running sipp UAS on the carrier address; ``wait()`` returns its exit code, output and
    every SIP message it sent and received (sipp's ``-trace_msg`` log)."""

    process: asyncio.subprocess.Process
    workdir: tempfile.TemporaryDirectory[str]
    messages: Path

    async def wait(self, timeout_s: float = 30.0) -> tuple[int, str, str]:
        try:
            out, _ = await asyncio.wait_for(self.process.communicate(), timeout_s)
            log = self.messages.read_text(errors="replace") if self.messages.exists() else ""
        finally:
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
            self.workdir.cleanup()
        assert self.process.returncode is not None
        return self.process.returncode, out.decode(errors="replace"), log


async def start_partner(final: int = 200, *, timeout_s: float = 20.0) -> SippPartner:
    """Start sipp answering one call on ``127.0.0.2:5060`` (never 127.0.0.1: Asterisk is there).

    Returns once sipp is bound, so an originate right after finds it listening.
    """
    sipp = shutil.which("sipp")
    if sipp is None:
        raise RuntimeError("sipp is not installed: apt-get install -y sipp")
    workdir = tempfile.TemporaryDirectory(prefix="sipp-partner-")
    scenario = Path(workdir.name) / "partner.xml"
    scenario.write_text(partner_scenario(final))
    messages = Path(workdir.name) / "messages.log"
    cmd = [
        sipp,
        "-sf",
        str(scenario),
        "-i",
        CARRIER_IP,
        "-p",
        str(PARTNER_PORT),
        "-mi",
        CARRIER_IP,
        "-mp",
        str(free_udp_port(CARRIER_IP)),
        "-m",
        "1",
        "-timeout",
        f"{int(timeout_s)}s",
        "-timeout_error",
        "-trace_msg",
        "-message_file",
        str(messages),
        "-nostdin",
    ]
    process = await asyncio.create_subprocess_exec(
        *cmd,
        cwd=workdir.name,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    await _wait_bound(CARRIER_IP, PARTNER_PORT, process)
    return SippPartner(process=process, workdir=workdir, messages=messages)


async def _wait_bound(host: str, port: int, process: asyncio.subprocess.Process) -> None:
    """Until something holds ``host:port`` (UDP), or fail if sipp exited first."""
    for _ in range(100):
        if process.returncode is not None:
            raise RuntimeError(f"sipp exited with {process.returncode} before listening")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                return  # taken: sipp is listening
        await asyncio.sleep(0.05)
    raise RuntimeError(f"sipp did not bind {host}:{port}")


def sip_requests(log: str, method: str) -> list[str]:
    """The ``method`` requests in a sipp message log, each as its header block (no body)."""
    found = []
    for chunk in log.split(f"\n{method} sip:")[1:]:
        head = (f"{method} sip:" + chunk).replace("\r\n", "\n").split("\n\n", 1)[0]
        found.append(head)
    return found
