"""Browser phones' per-session SIP credentials (``softphone.sip_credentials``), with a fake
Asterisk, an in-memory store, a scripted session check and a fake clock."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from softphone.errors import AsteriskConfigFailed, NotServing
from softphone.sip_credentials import (
    SipCredentials,
    auth_id,
    contact_id,
    mint,
    reusable,
)
from storage.sip_credentials import MemorySipCredentialStore, SipCredential

REALM = "helpline"


class FakeAsterisk:
    """Records what was asked of Asterisk's dynamic configuration; ``auths`` is its memory."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.auths: dict[str, tuple[str, str, str]] = {}
        self.fail: set[str] = set()
        """Operations that raise AsteriskConfigFailed (``put``, ``delete_auth``, ...)."""
        self.gate: asyncio.Event | None = None
        """When set, a PUT waits for it (an Asterisk that is slow to answer)."""

    async def put_auth(self, auth_id: str, username: str, password: str, realm: str) -> None:
        self.calls.append(("put", auth_id, username, realm))
        if self.gate is not None:
            await self.gate.wait()
        if "put" in self.fail:
            raise AsteriskConfigFailed("PUT: Asterisk unreachable")
        self.auths[auth_id] = (username, password, realm)

    async def delete_auth(self, auth_id: str) -> None:
        self.calls.append(("delete_auth", auth_id))
        if "delete_auth" in self.fail:
            raise AsteriskConfigFailed("DELETE: Asterisk unreachable")
        self.auths.pop(auth_id, None)

    async def delete_contact(self, contact_id: str) -> None:
        self.calls.append(("delete_contact", contact_id))
        if "delete_contact" in self.fail:
            raise AsteriskConfigFailed("DELETE: Asterisk unreachable")


class Env:
    def __init__(self) -> None:
        self.now = 1000.0
        self.live: dict[tuple[str, str], bool] = {}
        self.check_fails = False
        self.store = MemorySipCredentialStore()
        self.asterisk = FakeAsterisk()
        self.contacts: dict[str, list[str]] = {}
        self._n = 0

        async def session_live(vid: str, key: str) -> bool:
            if self.check_fails:
                raise ConnectionError("session store down")
            return self.live.get((vid, key), False)

        def password() -> str:
            self._n += 1
            return f"pw-{self._n}"

        self.creds = SipCredentials(
            self.store, REALM, session_live, clock=lambda: self.now, password=password
        )

    def attach(self) -> None:
        self.creds.attach(self.asterisk, lambda aor: self.contacts.get(aor, []))

    async def issue(self, vid: str = "anna", key: str = "s1", ttl: float = 3600) -> SipCredential:
        self.live[(vid, key)] = True
        return await self.creds.issue(vid, key, self.now + ttl)


@pytest.fixture
def env() -> Env:
    e = Env()
    e.attach()
    return e


def test_contact_id_is_asterisks():
    # Measured on Asterisk 22: ARI's ContactStatusChange URI, and the id its GET/DELETE take.
    uri = "sip:eaf9a8f1@127.0.0.1:46552;transport=ws;x-ast-orig-host=730cadf4b697.invalid:0"
    assert contact_id("test-web-1", uri) == ("test-web-1;@" + hashlib.md5(uri.encode()).hexdigest())
    assert auth_id("anna") == "anna-auth"


def test_minted_credentials_are_random_and_never_printed():
    a = mint("anna", "s1", 2000.0)
    b = mint("anna", "s1", 2000.0)
    assert a.password != b.password and len(a.password) >= 32
    assert a.password not in repr(a) and a.password not in str(a)
    assert SipCredential.from_json(a.to_json()) == a


def test_reusable_only_by_its_own_session_before_it_expires():
    cred = SipCredential("anna", "s1", "pw", 2000.0)
    assert reusable(cred, "s1", 1999.0)
    assert not reusable(cred, "s2", 1999.0)
    assert not reusable(cred, "s1", 2000.0)
    assert not reusable(None, "s1", 0.0)


async def test_a_standby_issues_nothing():
    e = Env()
    with pytest.raises(NotServing):
        await e.issue()
    assert not e.creds.serving and e.store.items == {}


async def test_issue_mints_once_per_session_and_pushes_a_userpass_auth(env: Env):
    cred = await env.issue(ttl=600)
    assert (cred.volunteer_id, cred.session_key, cred.password) == ("anna", "s1", "pw-1")
    assert cred.expires_at == env.now + 600
    assert env.asterisk.auths == {"anna-auth": ("anna", "pw-1", REALM)}
    again = await env.issue(ttl=600)  # the page reloads: the same password, pushed again
    assert again == cred
    assert env.asterisk.calls == [("put", "anna-auth", "anna", REALM)] * 2
    assert await env.store.get("anna") == cred


async def test_another_session_of_the_account_takes_the_phone_over(env: Env):
    first = await env.issue(key="s1")
    second = await env.issue(key="s2")
    assert second.password != first.password
    assert env.asterisk.auths["anna-auth"][1] == second.password
    # The first session signing out now revokes nothing of the second's.
    await env.creds.end_session("anna", "s1")
    assert env.asterisk.auths["anna-auth"][1] == second.password
    assert await env.store.get("anna") == second


async def test_sign_out_deletes_the_auth_closes_sockets_and_drops_the_contact(env: Env):
    await env.issue()
    uri = "sip:x@127.0.0.1:5555;transport=ws;x-ast-orig-host=y.invalid:0"
    env.contacts["anna"] = [uri]
    closed: list[str] = []
    env.creds.watch("anna", "s1", lambda: closed.append("s1"))
    env.creds.watch("anna", "s2", lambda: closed.append("s2"))  # another session's socket
    assert env.creds.sockets("anna") == 2
    env.asterisk.calls.clear()
    await env.creds.end_session("anna", "s1")
    assert env.asterisk.calls == [
        ("delete_auth", "anna-auth"),
        ("delete_contact", contact_id("anna", uri)),
    ]
    assert closed == ["s1"]
    assert env.asterisk.auths == {} and await env.store.get("anna") is None
    assert env.creds.sockets("anna") == 1


async def test_unwatch_forgets_a_socket(env: Env):
    unwatch = env.creds.watch("anna", "s1", lambda: None)
    assert env.creds.sockets("anna") == 1
    unwatch()
    unwatch()  # twice is harmless
    assert env.creds.sockets("anna") == 0


async def test_the_sweeper_revokes_expired_and_ended_sessions_only(env: Env):
    await env.issue("anna", "s1", ttl=60)
    await env.issue("bram", "s2", ttl=3600)
    await env.issue("cees", "s3", ttl=3600)
    env.live[("bram", "s2")] = False  # signed out elsewhere, reset or disabled
    env.now += 30
    assert await env.creds.sweep() == 1
    assert set(env.asterisk.auths) == {"anna-auth", "cees-auth"}
    env.now += 31  # anna's session has expired
    assert await env.creds.sweep() == 1
    assert set(env.asterisk.auths) == {"cees-auth"}
    assert [c.volunteer_id for c in await env.store.all()] == ["cees"]


async def test_a_session_store_outage_hangs_up_nobody(env: Env):
    await env.issue()
    env.check_fails = True
    assert await env.creds.sweep() == 0
    assert "anna-auth" in env.asterisk.auths


async def test_a_revocation_asterisk_missed_is_tried_again(env: Env):
    await env.issue()
    env.live[("anna", "s1")] = False
    env.asterisk.fail.add("delete_auth")
    assert await env.creds.sweep() == 0
    assert await env.store.get("anna") is not None  # kept, so the next sweep sees it
    env.asterisk.fail.clear()
    assert await env.creds.sweep() == 1
    assert env.asterisk.auths == {} and await env.store.get("anna") is None


async def test_a_contact_that_cannot_be_deleted_does_not_stop_the_revocation(env: Env):
    await env.issue()
    env.contacts["anna"] = ["sip:x@127.0.0.1:1;transport=ws"]
    env.asterisk.fail.add("delete_contact")
    await env.creds.end_session("anna", "s1")
    assert env.asterisk.auths == {} and await env.store.get("anna") is None


async def test_sockets_of_a_session_that_lost_its_credential_close_when_it_ends(env: Env):
    await env.issue(key="s1")
    await env.issue(key="s2")  # took over: s1 owns no credential now
    closed: list[str] = []
    env.creds.watch("anna", "s1", lambda: closed.append("s1"))
    assert await env.creds.sweep() == 0 and closed == []
    env.live[("anna", "s1")] = False
    await env.creds.sweep()
    assert closed == ["s1"]


async def test_after_an_asterisk_restart_the_live_credentials_are_pushed_again(env: Env):
    live = await env.issue("anna", "s1")
    await env.issue("bram", "s2")
    env.live[("bram", "s2")] = False
    env.asterisk.auths.clear()  # Asterisk restarted: its memory is empty
    env.asterisk.calls.clear()
    assert await env.creds.push_all() == 1
    assert env.asterisk.auths == {"anna-auth": ("anna", live.password, REALM)}
    assert ("delete_auth", "bram-auth") in env.asterisk.calls
    assert [c.volunteer_id for c in await env.store.all()] == ["anna"]


async def test_on_connected_pushes_in_the_background_once_at_a_time(env: Env):
    await env.issue()
    env.asterisk.auths.clear()
    env.asterisk.calls.clear()
    put = ("put", "anna-auth", "anna", REALM)
    env.creds.on_connected()
    env.creds.on_connected()  # before the push began: one push serves both
    for _ in range(20):
        await asyncio.sleep(0)
    assert env.asterisk.calls == [put]
    assert "anna-auth" in env.asterisk.auths

    env.asterisk.calls.clear()
    env.asterisk.gate = asyncio.Event()
    env.creds.on_connected()
    for _ in range(20):
        await asyncio.sleep(0)
    assert env.asterisk.calls == [put]  # waiting for Asterisk's answer
    env.creds.on_connected()  # a connect during that push: it runs once more after it
    env.asterisk.gate.set()
    for _ in range(20):
        await asyncio.sleep(0)
    assert env.asterisk.calls == [put, put]


async def test_a_failed_push_is_an_error_for_the_caller_but_the_credential_is_kept(env: Env):
    env.asterisk.fail.add("put")
    with pytest.raises(AsteriskConfigFailed):
        await env.issue()
    kept = await env.store.get("anna")
    assert kept is not None  # the next connect pushes it
    env.asterisk.fail.clear()
    assert (await env.issue()).password == kept.password


async def test_the_sweeper_runs_until_cancelled(env: Env):
    e = Env()
    e.creds = SipCredentials(
        e.store, REALM, lambda vid, key: _false(), clock=lambda: e.now, sweep_every_s=0.01
    )
    e.attach()
    await e.creds.issue("anna", "s1", e.now + 3600)
    task = asyncio.create_task(e.creds.run())
    for _ in range(100):
        await asyncio.sleep(0.01)
        if not e.asterisk.auths:
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert e.asterisk.auths == {}


async def _false() -> bool:
    return False
