"""A tiny SIP-over-WebSocket user agent (RFC 7118) for the browser path's tests: REGISTER with
a digest answer computed here, as JsSIP would send it, over any ``ws://`` URL with the ``sip``
subprotocol (the app's ``/sip`` proxy, or Asterisk's own ``/ws``). No media, no dialog.

    async with SipWsPhone(url, "test-web-1", "helpline", headers=bearer) as phone:
        assert await phone.register(password) == 200
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from types import TracebackType
from typing import Any

import aiohttp


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 (SIP digest is MD5)


def status_of(message: str) -> int:
    """The status code of a SIP response (0 for a request)."""
    first = message.split("\r\n", 1)[0]
    if not first.startswith("SIP/2.0 "):
        return 0
    return int(first.split(" ", 2)[1])


def header(message: str, name: str) -> list[str]:
    """Every value of header ``name`` (case-insensitive) in a SIP message."""
    head = message.split("\r\n\r\n", 1)[0]
    out = []
    for line in head.split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            out.append(value.strip())
    return out


def digest_challenge(message: str) -> dict[str, str]:
    """The parameters of the first MD5 ``WWW-Authenticate: Digest`` challenge."""
    for value in header(message, "WWW-Authenticate"):
        if not value.lower().startswith("digest "):
            continue
        params = dict(re.findall(r'(\w+)="?([^",]*)"?', value[7:]))
        if params.get("algorithm", "MD5").upper() == "MD5":
            return params
    raise AssertionError(f"no MD5 digest challenge in: {message!r}")


class SipWsPhone:
    """One WebSocket to a SIP server; ``register`` answers one digest challenge."""

    def __init__(
        self,
        url: str,
        user: str,
        domain: str,
        *,
        headers: dict[str, str] | None = None,
        auth_user: str | None = None,
    ) -> None:
        self.url = url
        self.user = user
        self.domain = domain
        self.auth_user = auth_user or user
        self.headers = headers or {}
        self.host = f"{uuid.uuid4().hex[:12]}.invalid"
        """The made-up host of our Via and Contact (as JsSIP does)."""
        self.contact = f"sip:{uuid.uuid4().hex[:8]}@{self.host};transport=ws"
        self.call_id = uuid.uuid4().hex
        self.tag = uuid.uuid4().hex[:10]
        self.cseq = 0
        self.last: str = ""
        """The last final response received."""
        self.received: list[str] = []
        """Every message Asterisk sent (requests too: OPTIONS, NOTIFY...)."""
        self._session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def __aenter__(self) -> SipWsPhone:
        self._session = aiohttp.ClientSession()
        try:
            self.ws = await self._session.ws_connect(
                self.url, protocols=("sip",), headers=self.headers, heartbeat=None
            )
        except BaseException:
            await self._session.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._session is not None:
            await self._session.close()

    @property
    def protocol(self) -> str | None:
        """The subprotocol the server chose."""
        assert self.ws is not None
        return self.ws.protocol

    def _register(self, expires: int, authorization: str | None) -> str:
        self.cseq += 1
        uri = f"sip:{self.domain}"
        lines = [
            f"REGISTER {uri} SIP/2.0",
            f"Via: SIP/2.0/WS {self.host};branch=z9hG4bK{uuid.uuid4().hex}",
            "Max-Forwards: 69",
            f"To: <sip:{self.user}@{self.domain}>",
            f"From: <sip:{self.user}@{self.domain}>;tag={self.tag}",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} REGISTER",
            f"Contact: <{self.contact}>;expires={expires}",
            f"Expires: {expires}",
            "Allow: INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY",
            "Supported: path,gruu,outbound",
            "User-Agent: helpline-test-ws",
        ]
        if authorization is not None:
            lines.append(f"Authorization: {authorization}")
        return "\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n"

    async def send(self, text: str) -> None:
        assert self.ws is not None
        await self.ws.send_str(text)

    async def final_response(self, timeout_s: float = 5.0) -> str:
        """The next final response (1xx skipped; requests from the server answered 200)."""
        assert self.ws is not None
        async with asyncio.timeout(timeout_s):
            while True:
                msg = await self.ws.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    raise ConnectionError(f"websocket ended: {msg.type.name} {msg.data!r}")
                text = str(msg.data)
                self.received.append(text)
                status = status_of(text)
                if status == 0:
                    await self._answer_request(text)
                elif status >= 200:
                    self.last = text
                    return text

    async def _answer_request(self, request: str) -> None:
        # An INVITE is refused as busy (this UA has no media); an ACK needs no answer; anything
        # else (OPTIONS, NOTIFY...) gets a plain 200 with the request's dialog headers.
        method = request.split(" ", 1)[0]
        if method == "ACK":
            return
        status = "486 Busy Here" if method == "INVITE" else "200 OK"
        lines = [f"SIP/2.0 {status}"]
        for name in ("Via", "From", "To", "Call-ID", "CSeq"):
            for value in header(request, name):
                if name == "To" and ";tag=" not in value:
                    value += f";tag={self.tag}"
                lines.append(f"{name}: {value}")
        await self.send("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n")

    async def wait_request(self, method: str, timeout_s: float = 10.0) -> str:
        """The next request ``method`` from the server (answered as ``_answer_request`` does,
        after it is recorded)."""
        assert self.ws is not None
        async with asyncio.timeout(timeout_s):
            while True:
                msg = await self.ws.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    raise ConnectionError(f"websocket ended: {msg.type.name} {msg.data!r}")
                text = str(msg.data)
                self.received.append(text)
                if status_of(text) == 0:
                    await self._answer_request(text)
                    if text.startswith(method + " "):
                        return text

    def _authorization(self, challenge: dict[str, str], password: str) -> str:
        uri = f"sip:{self.domain}"
        ha1 = md5(f"{self.auth_user}:{challenge['realm']}:{password}")
        ha2 = md5(f"REGISTER:{uri}")
        nonce = challenge["nonce"]
        parts = [
            f'username="{self.auth_user}"',
            f'realm="{challenge["realm"]}"',
            f'nonce="{nonce}"',
            f'uri="{uri}"',
            "algorithm=MD5",
        ]
        if "auth" in challenge.get("qop", "").split(","):
            cnonce, nc = uuid.uuid4().hex[:16], "00000001"
            response = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
            parts += ["qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
        else:
            response = md5(f"{ha1}:{nonce}:{ha2}")
        parts.append(f'response="{response}"')
        if "opaque" in challenge:
            parts.append(f'opaque="{challenge["opaque"]}"')
        return "Digest " + ", ".join(parts)

    async def register(self, password: str, expires: int = 600) -> int:
        """REGISTER (``expires=0``: unregister), answering the challenge with ``password``;
        the final status (200, or 401/403 when the credential is refused)."""
        await self.send(self._register(expires, None))
        first = await self.final_response()
        if status_of(first) != 401:
            return status_of(first)
        authorization = self._authorization(digest_challenge(first), password)
        await self.send(self._register(expires, authorization))
        return status_of(await self.final_response())

    def registered_contacts(self) -> list[str]:
        """The contact URIs of the last 200 OK (all bindings of the AOR)."""
        return [re.sub(r"^<|>.*$", "", value) for value in header(self.last, "Contact") if value]

    async def closed(self, timeout_s: float = 5.0) -> Any:
        """Wait until the server closes the WebSocket; returns its close code."""
        assert self.ws is not None
        async with asyncio.timeout(timeout_s):
            while True:
                msg = await self.ws.receive()
                if msg.type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSED,
                    aiohttp.WSMsgType.CLOSING,
                ):
                    return self.ws.close_code
                if msg.type == aiohttp.WSMsgType.TEXT:
                    text = str(msg.data)
                    self.received.append(text)
                    if status_of(text) == 0:
                        await self._answer_request(text)
