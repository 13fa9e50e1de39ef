"""The browser phone's edge, assembled: ARI as the credentials' Asterisk, the web session store
as their judge, and the web layer's ``SipAccess`` in front of them.

``softphone.sip_credentials.SipCredentials`` decides; this module only adapts: ARI's errors to
``softphone``'s, ``softphone``'s and ``storage``'s to the web's (a 503), and the web's sessions
and accounts into one yes/no per session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ari_app.client import AriClient
from ari_app.errors import AriError, AriNotFound
from config.settings import HelplineConfig
from softphone.errors import AsteriskConfigFailed, NotServing
from softphone.sip_credentials import SessionCheck, SipCredentials
from storage.errors import SipCredentialStoreError
from storage.sip_credentials import SipCredential
from web.auth import SessionStore
from web.errors import SipUnavailable
from web.ports import Accounts

log = logging.getLogger(__name__)

PJSIP = "res_pjsip"


class AriSipConfig:
    """``softphone.sip_credentials.AsteriskAuth`` over ARI's dynamic configuration."""

    def __init__(self, ari: AriClient) -> None:
        self._ari = ari

    async def put_auth(self, auth_id: str, username: str, password: str, realm: str) -> None:
        fields = {
            "auth_type": "userpass",
            "username": username,
            "password": password,
            "realm": realm,
        }
        try:
            await self._ari.asterisk.config_dynamic_put(PJSIP, "auth", auth_id, fields)
        except AriError as exc:  # its message names the path only, never the password
            raise AsteriskConfigFailed(str(exc)) from exc

    async def delete_auth(self, auth_id: str) -> None:
        await self._delete("auth", auth_id)

    async def delete_contact(self, contact_id: str) -> None:
        await self._delete("contact", contact_id)

    async def _delete(self, object_type: str, object_id: str) -> None:
        try:
            await self._ari.asterisk.config_dynamic_delete(PJSIP, object_type, object_id)
        except AriNotFound:
            pass  # gone already (a restart, or the socket's close removed the contact)
        except AriError as exc:
            raise AsteriskConfigFailed(str(exc)) from exc


def session_check(cfg: HelplineConfig, sessions: SessionStore, accounts: Accounts) -> SessionCheck:
    """Whether a web session still lives and may have a browser phone: the session exists and
    is this volunteer's, the account is enabled with the session's credential version (no
    reset or disable since), and the account's phone is still the browser. True when the
    stores cannot be read (an outage must not hang up every volunteer)."""

    async def live(volunteer_id: str, session_key: str) -> bool:
        try:
            session = await sessions.get(session_key)
            info = await asyncio.to_thread(accounts.get, volunteer_id)
        except Exception as exc:
            log.warning("cannot check a browser phone's session (%s)", type(exc).__name__)
            return True
        return (
            session is not None
            and session.volunteer_id == volunteer_id
            and info is not None
            and info.enabled
            and info.credential_version == session.credential_version
            and cfg.phone_of(volunteer_id) == "webrtc"
        )

    return live


class WebSipAccess:
    """``web.ports.SipAccess`` over ``SipCredentials``."""

    def __init__(self, credentials: SipCredentials) -> None:
        self.credentials = credentials

    async def credential(
        self, volunteer_id: str, session_key: str, expires_at: float
    ) -> SipCredential:
        try:
            return await self.credentials.issue(volunteer_id, session_key, expires_at)
        except NotServing as exc:
            raise SipUnavailable(str(exc)) from exc
        except AsteriskConfigFailed as exc:
            log.warning("volunteer %s: credential not pushed to Asterisk (%s)", volunteer_id, exc)
            raise SipUnavailable("Asterisk did not take the credential") from exc
        except SipCredentialStoreError as exc:
            log.warning("browser phone credentials unavailable (%s)", exc)
            raise SipUnavailable("credential store unavailable") from exc

    async def session_ended(self, volunteer_id: str, session_key: str) -> None:
        # Sign-out always succeeds: what cannot be revoked now, the sweeper revokes later.
        try:
            await self.credentials.end_session(volunteer_id, session_key)
        except (AsteriskConfigFailed, SipCredentialStoreError) as exc:
            log.warning("volunteer %s: browser phone revocation deferred (%s)", volunteer_id, exc)

    def serving(self) -> bool:
        return self.credentials.serving

    def watch(
        self, volunteer_id: str, session_key: str, close: Callable[[], None]
    ) -> Callable[[], None]:
        return self.credentials.watch(volunteer_id, session_key, close)

    def sockets(self, volunteer_id: str) -> int:
        return self.credentials.sockets(volunteer_id)
