"""Browser phones' SIP credentials, one per volunteer, each owned by one web session.

A browser phone (``webrtc``) has no static secret in pjsip.conf: while a web session of the
volunteer lives, a random password is pushed into Asterisk's memory (``softphone``) and kept
here, so that the page can ask for it again (a reload), the app can push it again after an
Asterisk restart, and a sweeper can delete what outlived its session. It is the same password
the page holds; it lets nothing in on its own: the endpoint admits only the app's ``/sip``
proxy, which admits only a signed-in session, and it dies with that session.

Redis keeps one hash, ``<prefix>sip-credentials``, field = volunteer id, value = JSON. There is
no TTL: an entry that expires by itself would leave its auth object behind in Asterisk, so the
sweeper deletes both. The one writer is the process that serves the queue
(``softphone.sip_credentials.SipCredentials`` holds a lock around every change).
"""

from __future__ import annotations

import builtins
import json
from dataclasses import asdict, dataclass
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from storage.errors import SipCredentialStoreError


@dataclass(frozen=True, slots=True)
class SipCredential:
    """A browser phone's SIP credential for one web session."""

    volunteer_id: str
    """The account; also the SIP user name and the PJSIP endpoint."""
    session_key: str
    """SHA-256 of the web session's token (the session store's key): the owner."""
    password: str
    """Random, minted for this session; never logged."""
    expires_at: float
    """Unix time the web session ends at; the credential ends with it."""

    def __repr__(self) -> str:  # never a password in a log line or a traceback
        return f"SipCredential(volunteer_id={self.volunteer_id!r}, expires_at={self.expires_at!r})"

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> SipCredential:
        """Parse a stored credential; ValueError when it is not one."""
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        vid, key, password, expires = (
            data.get("volunteer_id"),
            data.get("session_key"),
            data.get("password"),
            data.get("expires_at"),
        )
        if not all(isinstance(v, str) and v for v in (vid, key, password)):
            raise ValueError("volunteer_id, session_key and password must be strings")
        if not isinstance(expires, int | float) or isinstance(expires, bool):
            raise ValueError("expires_at must be a number")
        assert isinstance(vid, str) and isinstance(key, str) and isinstance(password, str)
        return cls(vid, key, password, float(expires))


class SipCredentialStore(Protocol):
    """Where the live credentials are kept, by volunteer id."""

    async def get(self, volunteer_id: str) -> SipCredential | None: ...

    async def put(self, credential: SipCredential) -> None:
        """Store ``credential``, replacing the volunteer's previous one."""
        ...

    async def delete(self, volunteer_id: str) -> None:
        """Forget the volunteer's credential (none is fine)."""
        ...

    async def all(self) -> builtins.list[SipCredential]:
        """Every stored credential, expired ones included."""
        ...


class MemorySipCredentialStore:
    """Credentials in a dict: unit tests and single-process development."""

    def __init__(self) -> None:
        self.items: dict[str, SipCredential] = {}

    async def get(self, volunteer_id: str) -> SipCredential | None:
        return self.items.get(volunteer_id)

    async def put(self, credential: SipCredential) -> None:
        self.items[credential.volunteer_id] = credential

    async def delete(self, volunteer_id: str) -> None:
        self.items.pop(volunteer_id, None)

    async def all(self) -> builtins.list[SipCredential]:
        return list(self.items.values())


class RedisSipCredentialStore:
    """Credentials in the Redis hash ``<prefix>sip-credentials``; the caller owns the client."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._redis = client
        self.key = prefix + "sip-credentials"

    async def get(self, volunteer_id: str) -> SipCredential | None:
        try:
            raw = await self._redis.hget(self.key, volunteer_id)
        except RedisError as exc:
            raise SipCredentialStoreError(f"cannot read: {type(exc).__name__}") from exc
        return None if raw is None else _parse(raw)

    async def put(self, credential: SipCredential) -> None:
        try:
            await self._redis.hset(self.key, credential.volunteer_id, credential.to_json())
        except RedisError as exc:
            raise SipCredentialStoreError(f"cannot store: {type(exc).__name__}") from exc

    async def delete(self, volunteer_id: str) -> None:
        try:
            await self._redis.hdel(self.key, volunteer_id)
        except RedisError as exc:
            raise SipCredentialStoreError(f"cannot delete: {type(exc).__name__}") from exc

    async def all(self) -> builtins.list[SipCredential]:
        try:
            raw = await self._redis.hgetall(self.key)
        except RedisError as exc:
            raise SipCredentialStoreError(f"cannot list: {type(exc).__name__}") from exc
        found = (_parse(value) for value in raw.values())
        return [cred for cred in found if cred is not None]


def _parse(raw: str | bytes) -> SipCredential | None:
    # Not ours (another version's shape): treated as absent; the sweeper cannot delete its
    # auth object without a volunteer id, but the next sign-in of that volunteer replaces it.
    try:
        return SipCredential.from_json(raw)
    except ValueError:
        return None
