"""A tiny SIP-over-UDP client for guessing tests: REGISTER or INVITE, answer the digest
challenge with a chosen password, return the final status. No media, no dialog."""

from __future__ import annotations

import asyncio
import hashlib
import re
import socket
import uuid


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _challenge(response: str) -> dict[str, str]:
    header = re.search(r"^WWW-Authenticate: Digest (.*)$", response, re.M | re.I)
    assert header, response
    return dict(re.findall(r'(\w+)="?([^",]*)"?', header.group(1)))


def _status(response: str) -> int:
    return int(response.split(" ", 2)[1])


class SipGuesser:
    """One UDP socket at ``source`` sending to Asterisk at ``target`` (host, port)."""

    def __init__(self, source: str, target: tuple[str, int]) -> None:
        self.source = source
        self.target = target
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((source, 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()

    async def _exchange(self, message: str, timeout_s: float = 3.0) -> str:
        loop = asyncio.get_running_loop()
        await loop.sock_sendto(self.sock, message.encode(), self.target)
        async with asyncio.timeout(timeout_s):
            while True:
                data = (await loop.sock_recv(self.sock, 65535)).decode(errors="replace")
                if _status(data) >= 200:  # skip 100 Trying
                    return data

    def _request(
        self, method: str, uri: str, from_user: str, cseq: int, call_id: str, extra: str = ""
    ) -> str:
        host = f"{self.target[0]}:{self.target[1]}"
        me = f"{self.source}:{self.port}"
        to = f"<sip:{from_user}@{host}>" if method == "REGISTER" else f"<{uri}>"
        return (
            f"{method} {uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {me};rport;branch=z9hG4bK{uuid.uuid4().hex}\r\n"
            f"From: <sip:{from_user}@{me}>;tag={call_id[:8]}\r\n"
            f"To: {to}\r\n"
            f"Call-ID: {call_id}\r\n"
            f"CSeq: {cseq} {method}\r\n"
            f"Contact: <sip:{from_user}@{me}>\r\n"
            "Max-Forwards: 70\r\n"
            + ("Expires: 60\r\n" if method == "REGISTER" else "")
            + extra
            + "Content-Length: 0\r\n\r\n"
        )

    async def attempt(
        self, method: str, user: str, password: str, service: str = "116111"
    ) -> tuple[int, int]:
        """Send ``method`` as ``user``, answer the challenge with ``password``: the first and
        the final status (401, then 401/403 on a wrong password, 200 on a right one)."""
        host = f"{self.target[0]}:{self.target[1]}"
        uri = f"sip:{host}" if method == "REGISTER" else f"sip:{service}@{host}"
        call_id = uuid.uuid4().hex
        first = await self._exchange(self._request(method, uri, user, 1, call_id))
        if _status(first) != 401:
            return _status(first), _status(first)
        ch = _challenge(first)
        ha1 = _md5(f"{user}:{ch['realm']}:{password}")
        ha2 = _md5(f"{method}:{uri}")
        cnonce, nc = uuid.uuid4().hex[:8], "00000001"
        if "auth" in ch.get("qop", ""):
            response = _md5(f"{ha1}:{ch['nonce']}:{nc}:{cnonce}:auth:{ha2}")
            qop = f', qop=auth, nc={nc}, cnonce="{cnonce}"'
        else:
            response = _md5(f"{ha1}:{ch['nonce']}:{ha2}")
            qop = ""
        auth = (
            f'Authorization: Digest username="{user}", realm="{ch["realm"]}", '
            f'nonce="{ch["nonce"]}", uri="{uri}", response="{response}", algorithm=MD5'
            f'{qop}, opaque="{ch.get("opaque", "")}"\r\n'
        )
        final = await self._exchange(self._request(method, uri, user, 2, call_id, auth))
        return _status(first), _status(final)
