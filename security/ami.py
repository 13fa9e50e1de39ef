"""Listening to Asterisk's AMI for security events and turning failures into log lines.

Asterisk reports every failed SIP authentication as an AMI event of class ``security``
(``ChallengeResponseFailed``, ``InvalidAccountID``, ...); ARI does not carry them. The AMI user
may read that class only and write nothing (``dialplan.base.render_manager``).

``describe`` is the whole decision, free of I/O: which events are failures, and what of an
event may be written. An event's ``AccountID`` is whatever the remote party put in From or
the digest username; for a carrier call that is the child's number. So the account is written
only when it is a volunteer account and the event did not come from a trunk address.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from panoramisk import Manager

from security import log as security_log

log = logging.getLogger(__name__)

FAILURES = frozenset(
    {
        "ChallengeResponseFailed",
        "InvalidAccountID",
        "InvalidPassword",
        "FailedACL",
        "UnexpectedAddress",
        "RequestNotAllowed",
        "AuthMethodNotAllowed",
        "RequestBadFormat",
        "InvalidTransport",
    }
)
"""Security events that are a failure. Not ``ChallengeSent`` (every phone's first REGISTER
gets one) nor ``SuccessfulAuth``."""

ACCOUNTS_REFRESH_S = 30.0
"""How often the set of volunteer accounts is reloaded: a volunteer added since shows as
``unknown`` until then, which errs on the side of writing less."""


@dataclass(frozen=True, slots=True)
class AuthFailure:
    """What of one failure event may be written to the security log."""

    event: str
    """Asterisk's event name, e.g. ``ChallengeResponseFailed``."""
    service: str
    """``SIP`` or ``AMI`` (or another service Asterisk named)."""
    account: str
    """A volunteer account, ``unknown`` or ``carrier``; never other text from the event."""
    address: str
    """The remote IP address, or ``unknown``."""


def describe(
    fields: Mapping[str, str], accounts: Collection[str], trunks: Collection[str]
) -> AuthFailure | None:
    """The loggable part of an AMI event, or None when it is not an authentication failure.

    ``fields``: the event's headers; ``accounts``: the volunteer accounts; ``trunks``: the
    carrier's addresses (events from there name no account: anyone can spoof a UDP source
    address, and the carrier's From is a child's number).
    """
    event = fields.get("Event", "")
    if event not in FAILURES:
        return None
    address = security_log.address_of(fields.get("RemoteAddress"))
    claimed = fields.get("AccountID", "")
    if address in trunks:
        account = security_log.CARRIER
    elif claimed in accounts:
        account = claimed
    else:
        account = security_log.UNKNOWN
    service = "SIP" if fields.get("Service", "") == "PJSIP" else fields.get("Service", "")
    return AuthFailure(event=event, service=service, account=account, address=address)


def write(failure: AuthFailure) -> None:
    security_log.failed_sip_auth(
        failure.account, failure.address, failure.event, service=failure.service
    )


class _Manager(Manager):  # type: ignore[misc]  # panoramisk ships no type hints
    """panoramisk's manager, with a reconnect that stops once ``stop`` was called (its own
    ``close`` leaves a scheduled reconnect behind) and a warning when the login is refused."""

    def __init__(self, on_login_result: Callable[[bool], None], **config: Any) -> None:
        super().__init__(**config)
        self._stopped = False
        self._connecting: asyncio.Future[Any] | None = None
        self._on_login_result = on_login_result

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        if self._stopped:
            return None
        self._connecting = super().connect(*args, **kwargs)
        return self._connecting

    def connection_made(self, f: asyncio.Future[Any]) -> None:
        if self._stopped:  # a connection that completed after stop(): not ours any more
            if not f.cancelled() and f.exception() is None:
                f.result()[0].close()
            return
        super().connection_made(f)

    def login(self, future: Any) -> bool:
        ok = bool(super().login(future))
        self._on_login_result(ok)
        return ok

    def connection_lost(self, exc: object) -> None:
        self._on_login_result(False)
        super().connection_lost(exc)

    def stop(self) -> None:
        self._stopped = True
        if self._connecting is not None:
            self._connecting.cancel()
        self.close()


class AmiSecurityListener:
    """Logs in to AMI, writes a security log line per failure event, reconnects when Asterisk
    goes away. ``run()`` is a task of ``helpline.service.serve``; cancel it to stop."""

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        secret: str,
        accounts: Callable[[], Awaitable[Collection[str]]],
        trunks: Collection[str],
        reconnect_s: float = 1.0,
    ) -> None:
        self._config = {"host": host, "port": port, "username": user, "secret": secret}
        self._load_accounts = accounts
        self._accounts: frozenset[str] = frozenset()
        self._trunks = frozenset(security_log.address_of(t) for t in trunks)
        # panoramisk counts whole seconds.
        self._reconnect_s = max(1, round(reconnect_s))
        self._events: asyncio.Queue[Mapping[str, str]] = asyncio.Queue(maxsize=10_000)
        self.logged_in = asyncio.Event()
        """Set while AMI has accepted our login (tests wait for it)."""
        self.dropped = 0
        """Events dropped because the queue was full (a flood faster than we write)."""

    def _login_result(self, ok: bool) -> None:
        if ok:
            log.info("AMI: logged in, listening for security events")
            self.logged_in.set()
            return
        if self.logged_in.is_set():
            log.warning("AMI: connection lost; reconnecting")
        else:
            log.warning("AMI: login refused or connection lost; security events not logged")
        self.logged_in.clear()

    def _on_event(self, _manager: object, message: Mapping[str, str]) -> None:
        # Only enqueue: panoramisk calls this from its protocol's data_received.
        try:
            self._events.put_nowait(dict(message))
        except asyncio.QueueFull:
            self.dropped += 1

    async def run(self) -> None:
        manager = _Manager(
            self._login_result,
            loop=asyncio.get_running_loop(),
            reconnect_timeout=self._reconnect_s,
            events="on",
            **self._config,
        )
        manager.register_event("*", self._on_event)
        await self._refresh_accounts()
        refresher = asyncio.create_task(self._refresh_forever(), name="security-accounts")
        manager.connect()
        try:
            while True:
                fields = await self._events.get()
                failure = describe(fields, self._accounts, self._trunks)
                if failure is not None:
                    write(failure)
        finally:
            manager.stop()
            refresher.cancel()
            await asyncio.gather(refresher, return_exceptions=True)
            self.logged_in.clear()

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(ACCOUNTS_REFRESH_S)
            await self._refresh_accounts()

    async def _refresh_accounts(self) -> None:
        try:
            self._accounts = frozenset(await self._load_accounts())
        except Exception:  # a database outage: keep the last set (or none: all "unknown")
            log.warning("security log: cannot load the volunteer accounts", exc_info=True)
