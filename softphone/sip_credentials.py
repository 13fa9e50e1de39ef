"""Browser phones' SIP credentials: minted per signed-in web session, pushed into Asterisk's
memory without a config reload, and deleted when the session ends.

A browser (``webrtc``) account's endpoint in pjsip.conf names an auth object that is not in the
file (``dialplan.pjsip``). While a web session of the volunteer lives, this module keeps one
there: a random password, created with ARI's dynamic configuration (``auth=memory`` in
sorcery.conf), whose expiry is the session's. It dies with the session:

- sign-out (``end_session``), and every revocation the sweeper finds (session expired, deleted,
  account disabled or its password reset, account no longer a browser phone): the auth object
  is deleted (a REGISTER then fails), the session's ``/sip`` sockets are closed (Asterisk 22
  removes a contact whose WebSocket closes) and the endpoint's registered contacts are deleted
  over ARI too, in case a socket lives elsewhere;
- after an Asterisk restart memory is empty: every ARI (re)connect pushes the live sessions'
  credentials again (``on_connected``).

One credential per volunteer, as one phone per account (``max_contacts=1``): a second session
of the same account that asks takes the phone over with a new password, and the first one's
next REGISTER fails.

The decisions (``mint``, ``reusable``, ``contact_id``) are plain functions; the I/O goes through
the small Protocols below, which the composition root fills with the ARI client and the web
session store (``helpline.sip_edge``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from softphone.errors import AsteriskConfigFailed, NotServing
from storage.sip_credentials import SipCredential, SipCredentialStore

log = logging.getLogger(__name__)

PASSWORD_BYTES = 24
"""192 random bits, URL-safe base64: nothing to guess, nothing to escape in SIP or ARI."""

SWEEP_EVERY_S = 10.0
"""How often credentials are checked against their sessions: a session that expired, or an
account disabled from another process (the CLI), loses its phone within this long."""

SessionCheck = Callable[[str, str], Awaitable[bool]]
"""(volunteer id, session key) -> whether that web session still lives and may have a browser
phone. It should answer True when it cannot tell (a store outage): a blip must not hang up
every volunteer."""

ContactsOf = Callable[[str], Sequence[str]]
"""AOR (the volunteer id) -> the contact URIs Asterisk reported registered on it."""

Closer = Callable[[], None]
"""Closes one ``/sip`` socket (schedules it; must not block)."""


class AsteriskAuth(Protocol):
    """Asterisk's dynamic PJSIP configuration, as far as browser phones need it. Failures are
    ``AsteriskConfigFailed``; deleting what is not there is not a failure."""

    async def put_auth(self, auth_id: str, username: str, password: str, realm: str) -> None:
        """Create or replace the userpass auth object ``auth_id``."""
        ...

    async def delete_auth(self, auth_id: str) -> None: ...

    async def delete_contact(self, contact_id: str) -> None: ...


def auth_id(volunteer_id: str) -> str:
    """The auth object a volunteer's endpoint names (``dialplan.pjsip.auth_id``)."""
    return f"{volunteer_id}-auth"


def contact_id(aor: str, uri: str) -> str:
    """Asterisk 22's id of a registered contact: ``<aor>;@<md5 of the stored URI>`` (the URI as
    ARI's ``ContactStatusChange`` reports it, after Asterisk's own rewriting)."""
    return f"{aor};@{hashlib.md5(uri.encode()).hexdigest()}"  # noqa: S324 (Asterisk's id)


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def mint(
    volunteer_id: str,
    session_key: str,
    expires_at: float,
    password: Callable[[], str] = new_password,
) -> SipCredential:
    """A fresh credential for this session."""
    return SipCredential(volunteer_id, session_key, password(), expires_at)


def reusable(existing: SipCredential | None, session_key: str, now: float) -> bool:
    """Whether the session may have ``existing`` again (a reload of its page) rather than a new
    one: it is this session's and has not expired."""
    return (
        existing is not None and existing.session_key == session_key and now < existing.expires_at
    )


class SipCredentials:
    """Issues, re-pushes and revokes the browser phones' credentials.

    Runs in the process that serves the queue: ``attach`` hands it the ARI side once the
    lease is held; before that (a standby) ``issue`` raises ``NotServing``.
    """

    def __init__(
        self,
        store: SipCredentialStore,
        realm: str,
        session_live: SessionCheck,
        *,
        clock: Callable[[], float] = time.time,
        sweep_every_s: float = SWEEP_EVERY_S,
        password: Callable[[], str] = new_password,
    ) -> None:
        self.store = store
        self.realm = realm
        self._session_live = session_live
        self._clock = clock
        self._sweep_every_s = sweep_every_s
        self._password = password
        self._asterisk: AsteriskAuth | None = None
        self._contacts_of: ContactsOf = lambda aor: ()
        self._locks: dict[str, asyncio.Lock] = {}
        self._watchers: dict[tuple[str, str], set[Closer]] = {}
        self._push: asyncio.Task[None] | None = None
        self._push_again = False

    # ------------------------------------------------------------------ wiring

    def attach(self, asterisk: AsteriskAuth, contacts_of: ContactsOf | None = None) -> None:
        """Start serving: push through ``asterisk``; ``contacts_of`` tells which contacts to
        delete on a revocation."""
        self._asterisk = asterisk
        if contacts_of is not None:
            self._contacts_of = contacts_of

    @property
    def serving(self) -> bool:
        return self._asterisk is not None

    def _serving(self) -> AsteriskAuth:
        if self._asterisk is None:
            raise NotServing("standing by for the lease")
        return self._asterisk

    def _lock(self, volunteer_id: str) -> asyncio.Lock:
        # One lock per account: a slow ARI reply for one volunteer delays nobody else.
        return self._locks.setdefault(volunteer_id, asyncio.Lock())

    # ------------------------------------------------------------------ sockets

    def watch(self, volunteer_id: str, session_key: str, close: Closer) -> Callable[[], None]:
        """Have ``close`` called when this session's credential is revoked (its ``/sip``
        socket); returns the function that stops watching (call it when the socket ends)."""
        key = (volunteer_id, session_key)
        self._watchers.setdefault(key, set()).add(close)

        def unwatch() -> None:
            closers = self._watchers.get(key)
            if closers is not None:
                closers.discard(close)
                if not closers:
                    del self._watchers[key]

        return unwatch

    def sockets(self, volunteer_id: str) -> int:
        """How many ``/sip`` sockets of the volunteer are open here (any session)."""
        return sum(len(c) for (vid, _), c in self._watchers.items() if vid == volunteer_id)

    def _close_sockets(self, volunteer_id: str, session_key: str) -> None:
        for close in list(self._watchers.pop((volunteer_id, session_key), ())):
            try:
                close()
            except Exception:  # one socket's failure must not keep the others open
                log.exception("closing a /sip socket failed")

    # ------------------------------------------------------------------ issuing

    async def issue(self, volunteer_id: str, session_key: str, expires_at: float) -> SipCredential:
        """The session's credential, minted and pushed if it has none yet (or another session
        of the account had it); pushed again otherwise (cheap, and heals a push that failed).

        ``NotServing`` on a standby; ``AsteriskConfigFailed`` when Asterisk did not take it (the
        credential is kept: the next ARI connect pushes it again).
        """
        asterisk = self._serving()
        async with self._lock(volunteer_id):
            current = await self.store.get(volunteer_id)
            if reusable(current, session_key, self._clock()):
                assert current is not None
                cred = current
            else:
                cred = mint(volunteer_id, session_key, expires_at, self._password)
                await self.store.put(cred)  # first: a crash after the push leaves nothing unknown
                log.info("volunteer %s: browser phone credential issued", volunteer_id)
            await asterisk.put_auth(auth_id(volunteer_id), volunteer_id, cred.password, self.realm)
            return cred

    # ------------------------------------------------------------------ revoking

    async def end_session(self, volunteer_id: str, session_key: str) -> None:
        """Sign-out: revoke the session's credential (if it still owns one) and close its
        sockets. On a standby only the sockets close: the serving process's sweeper revokes
        the credential (it alone may touch Asterisk's objects)."""
        asterisk = self._asterisk
        if asterisk is not None:
            async with self._lock(volunteer_id):
                current = await self.store.get(volunteer_id)
                if current is not None and current.session_key == session_key:
                    await self._revoke(asterisk, current)
        self._close_sockets(volunteer_id, session_key)

    async def _revoke(self, asterisk: AsteriskAuth, cred: SipCredential) -> None:
        """Auth object, sockets, contacts, record: in that order (no new REGISTER can pass
        while the rest goes). Called with the volunteer's lock held."""
        vid = cred.volunteer_id
        # AsteriskConfigFailed propagates: the record stays and the next sweep tries again.
        await asterisk.delete_auth(auth_id(vid))
        self._close_sockets(vid, cred.session_key)
        for uri in list(self._contacts_of(vid)):
            try:
                await asterisk.delete_contact(contact_id(vid, uri))
            except AsteriskConfigFailed as exc:  # its socket is closed: Asterisk drops it
                log.warning("volunteer %s: registration not deleted (%s)", vid, exc)
        await self.store.delete(vid)
        log.info("volunteer %s: browser phone credential revoked", vid)

    async def _dead(self, cred: SipCredential, now: float) -> bool:
        if now >= cred.expires_at:
            return True
        try:
            return not await self._session_live(cred.volunteer_id, cred.session_key)
        except Exception as exc:  # cannot tell: keep it (SessionCheck should not raise)
            log.warning("cannot check a session (%s); its phone stays", type(exc).__name__)
            return False

    async def sweep(self) -> int:
        """Revoke every credential whose session is over; close sockets of sessions that ended
        without one. Returns how many credentials were revoked."""
        asterisk = self._asterisk
        if asterisk is None:
            return 0  # a standby: the serving process sweeps
        now = self._clock()
        revoked = 0
        checked: set[tuple[str, str]] = set()
        for cred in await self.store.all():
            checked.add((cred.volunteer_id, cred.session_key))
            if not await self._dead(cred, now):
                continue
            async with self._lock(cred.volunteer_id):
                if await self.store.get(cred.volunteer_id) != cred:
                    continue  # replaced or revoked meanwhile
                try:
                    await self._revoke(asterisk, cred)
                except AsteriskConfigFailed as exc:
                    log.warning("volunteer %s: revocation deferred (%s)", cred.volunteer_id, exc)
                    continue
                revoked += 1
        # Sockets of a session whose credential another session took over: they go with it.
        for vid, key in [k for k in list(self._watchers) if k not in checked]:
            try:
                live = await self._session_live(vid, key)
            except Exception:
                live = True
            if not live:
                self._close_sockets(vid, key)
        return revoked

    # ------------------------------------------------------------------ after a restart

    async def push_all(self) -> int:
        """Push every live credential again (Asterisk's memory is empty after its restart);
        revoke the dead. Returns how many were pushed."""
        asterisk = self._serving()
        now = self._clock()
        pushed = 0
        for cred in await self.store.all():
            if await self._dead(cred, now):
                async with self._lock(cred.volunteer_id):
                    if await self.store.get(cred.volunteer_id) == cred:
                        with contextlib.suppress(AsteriskConfigFailed):
                            await self._revoke(asterisk, cred)
                continue
            async with self._lock(cred.volunteer_id):
                if await self.store.get(cred.volunteer_id) != cred:
                    continue  # replaced meanwhile (and pushed by whoever replaced it)
                await asterisk.put_auth(
                    auth_id(cred.volunteer_id), cred.volunteer_id, cred.password, self.realm
                )
                pushed += 1
        return pushed

    def on_connected(self) -> None:
        """ARI is (re)connected: push the live credentials again, in the background (at most
        one push at a time; a connect during a push makes it run once more)."""
        if self._push is not None and not self._push.done():
            self._push_again = True
            return
        self._push = asyncio.get_running_loop().create_task(self._push_loop(), name="sip-push")

    async def _push_loop(self) -> None:
        while True:
            self._push_again = False
            try:
                pushed = await self.push_all()
                log.info("browser phone credentials pushed to Asterisk: %d", pushed)
            except Exception as exc:  # Asterisk went away again: its next connect retries
                log.warning("browser phone credentials not pushed (%s)", type(exc).__name__)
            if not self._push_again:
                return

    async def run(self) -> None:
        """The sweeper: every ``sweep_every_s`` while serving; until cancelled."""
        try:
            while True:
                await asyncio.sleep(self._sweep_every_s)
                if not self.serving:
                    continue
                try:
                    await self.sweep()
                except Exception as exc:  # a store outage: try again next round
                    log.warning("browser phone sweep failed (%s)", type(exc).__name__)
        finally:
            if self._push is not None:
                self._push.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._push
