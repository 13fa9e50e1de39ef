"""The live state bus over ``/api/v1/live``: scoping, order, resume, slow clients, refusals.

The gateway is the web tests' fake over a real core, projection and hub; the integration test
(tests/integration/test_live_bus.py) runs the same against the real app and Asterisk.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from typing import Any

import aiohttp
import pytest

import acd
from live import Scope
from tests.unit.web_support import PASSWORD, WebEnv, web_env
from web import live_api
from web.gateway import StandbyGateway
from web.live_hub import LiveHub

CHILD_NUMBER = "0612345678"


@pytest.fixture
async def env(tmp_path):
    async with web_env(tmp_path) as e:
        e.directory.add("sofie", "Sofie", "utrecht", ["phone"], ["nl"], PASSWORD, role="supervisor")
        e.directory.add("tom", "Tom", "almelo", ["phone"], ["nl"], PASSWORD)
        yield e


async def _open(env: WebEnv, who: str, after: int | None = None) -> aiohttp.ClientWebSocketResponse:
    token = await env.login(who)
    query = "" if after is None else f"?after={after}"
    return await env.client.ws_connect(f"/api/v1/live{query}", headers=env.bearer(token))


_PENDING: weakref.WeakKeyDictionary[aiohttp.ClientWebSocketResponse, list[dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)
"""Messages of a frame that held several (a JSON array), not yet handed out, per socket (a
socket's leftovers go with it, never to a later socket)."""


async def _read(ws: aiohttp.ClientWebSocketResponse, timeout: float = 2.0) -> dict[str, Any]:
    pending = _PENDING.setdefault(ws, [])
    if not pending:
        msg = await asyncio.wait_for(ws.receive(), timeout)
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        data = json.loads(msg.data)
        pending.extend(data if isinstance(data, list) else [data])
    return pending.pop(0)


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    """Every message that arrives until the socket is quiet for a moment."""
    out = []
    while True:
        try:
            out.append(await _read(ws, timeout=0.3))
        except TimeoutError:
            return out


def _ready_and_offer(env: WebEnv) -> None:
    gw = env.gateway
    gw.handle(acd.AgentLoggedIn("tom", "almelo", frozenset({"phone"}), frozenset({"nl"})))
    gw.handle(acd.AgentReady("tom"))
    gw.offer_call("c1")


async def test_a_volunteer_sees_their_own_offer_and_nothing_of_others(env: WebEnv):
    ws = await _open(env, "anna")
    first = await _read(ws)
    assert first["type"] == "snapshot"
    # Signing in logged them in to the queue (paused): their own record, nothing else.
    assert [a["agent_id"] for a in first["agents"]] == ["anna"] and first["contacts"] == []
    assert set(first["queue"]) == {"date", "channels"}  # no counts of colleagues either
    env.gateway.handle(acd.AgentReachability("anna", True))
    env.gateway.handle(acd.AgentReady("anna"))
    _ready_and_offer(env)  # tom logs in too; c1 goes to whoever is longest idle: anna
    got = await _drain(ws)
    assert all(m["type"] == "delta" for m in got)
    ids = {m["id"] for m in got}
    assert "tom" not in json.dumps(got)
    assert "anna" in ids and "c1" in ids
    offer = [m for m in got if m["kind"] == "contact"][-1]
    assert offer["data"]["agent_id"] == "anna" and offer["data"]["state"] == "offered"
    assert CHILD_NUMBER not in json.dumps(got)
    await ws.close()


async def test_a_contact_that_moves_on_is_just_gone_for_the_first_volunteer(env: WebEnv):
    gw = env.gateway
    ws = await _open(env, "anna")
    await _read(ws)  # snapshot
    gw.handle(acd.AgentReachability("anna", True))
    gw.handle(acd.AgentReady("anna"))
    _ready_and_offer(env)
    gw.handle(acd.OfferFailed("c1", "anna", acd.OfferFailure.REJECTED))  # goes on to tom
    got = await _drain(ws)
    contact = [m for m in got if m["kind"] == "contact"]
    assert contact[-1] == {"type": "delta", "at": contact[-1]["at"], "seq": contact[-1]["seq"],
                           "kind": "contact", "id": "c1", "data": None}  # fmt: skip
    assert "tom" not in json.dumps(got)


async def test_a_supervisor_sees_every_change_in_order(env: WebEnv):
    ws = await _open(env, "sofie")
    snap = await _read(ws)
    assert snap["type"] == "snapshot"
    _ready_and_offer(env)
    env.gateway.handle(acd.OfferAccepted("c1", "tom"))
    got = await _drain(ws)
    seqs = [m["seq"] for m in got]
    assert seqs == list(range(snap["seq"] + 1, snap["seq"] + 1 + len(seqs)))
    assert {"tom", "c1", "queue"} <= {m["id"] for m in got}
    assert [m["data"]["state"] for m in got if m["id"] == "c1"][-1] == "connected"
    assert "agents_by_state" in [m for m in got if m["kind"] == "queue"][-1]["data"]


async def test_a_client_that_resumes_with_its_last_seq_misses_nothing(env: WebEnv):
    ws = await _open(env, "sofie")
    snap = await _read(ws)
    _ready_and_offer(env)
    seen = await _drain(ws)
    await ws.close()
    last = seen[1]["seq"]  # as if it lost the connection after the second message
    env.gateway.handle(acd.OfferAccepted("c1", "tom"))  # changes while it was away
    ws = await _open(env, "sofie", after=last)
    resumed = await _drain(ws)
    assert resumed[0]["type"] == "delta"  # no snapshot: the buffer had it all
    expected = [m for m in seen if m["seq"] > last]
    assert resumed[: len(expected)] == [
        {**m, "at": r["at"]} for m, r in zip(expected, resumed, strict=False)
    ]
    seqs = [m["seq"] for m in resumed]
    assert seqs == list(range(last + 1, last + 1 + len(seqs)))
    assert snap["seq"] < last


async def test_a_seq_the_buffer_does_not_have_gets_a_snapshot(env: WebEnv):
    ws = await _open(env, "sofie", after=10_000)  # from a future (another leader's) stream
    assert (await _read(ws))["type"] == "snapshot"


async def test_a_stalled_client_gets_a_snapshot_and_its_queue_stays_bounded():
    hub = LiveHub(lambda scope: {"seq": hub.seq, "agents": [], "contacts": [], "queue": {}},
                  client_queue=8)  # fmt: skip
    core = acd.Acd()
    from live import LiveView

    view = LiveView()
    hub.start_at(view.load(core, 0.0).seq)
    sub = hub.subscribe(Scope.supervisor(), after=hub.seq)
    for i in range(200):  # it never reads while 200 volunteers log in
        event = acd.AgentLoggedIn(f"v{i}", "utrecht", frozenset(), frozenset({"nl"}))
        hub.broadcast(view.observe(event, core.handle(event, 1.0), core, 1.0))
        assert len(sub.queue) <= 8
    assert sub.overflows >= 1
    batch = await hub.next_batch(sub)
    assert [json.loads(t)["type"] for t in batch] == ["snapshot"]
    assert json.loads(batch[0])["seq"] == view.seq


async def test_without_a_session_it_is_401_and_a_bad_after_is_400(env: WebEnv):
    resp = await env.client.get("/api/v1/live")
    assert resp.status == 401
    token = await env.login("anna")
    resp = await env.client.get("/api/v1/live?after=x1", headers=env.bearer(token))
    assert resp.status == 400
    assert (await resp.json())["message"].startswith("after:")


async def test_a_standby_process_answers_503(env: WebEnv):
    import time

    from aiohttp.test_utils import TestClient, TestServer

    from web import MemorySessionStore, create_app
    from web.auth import Session, new_token, token_hash

    sessions = MemorySessionStore()
    token = new_token()
    await sessions.put(token_hash(token), Session("anna", "utrecht", time.time()), 60)
    standby = create_app(env.cfg, env.directory, StandbyGateway(), sessions)
    async with TestClient(TestServer(standby)) as client:
        resp = await client.get("/api/v1/live", headers=env.bearer(token))
        assert resp.status == 503


async def test_the_socket_closes_when_the_account_is_disabled(env: WebEnv, monkeypatch):
    monkeypatch.setattr(live_api, "RECHECK_S", 0.1)
    ws = await _open(env, "tom")
    await _read(ws)
    env.directory.disable("tom")
    msg = await asyncio.wait_for(ws.receive(), 2.0)
    assert msg.type is aiohttp.WSMsgType.CLOSE
    assert msg.data == live_api.SESSION_ENDED


async def test_the_socket_closes_when_the_password_is_reset(env: WebEnv, monkeypatch):
    monkeypatch.setattr(live_api, "RECHECK_S", 0.1)
    ws = await _open(env, "tom")
    await _read(ws)
    env.directory.set_password("tom", "a brand new password")
    msg = await asyncio.wait_for(ws.receive(), 2.0)
    assert msg.type is aiohttp.WSMsgType.CLOSE
    assert msg.data == live_api.SESSION_ENDED


async def test_an_admin_sees_what_a_supervisor_sees(env: WebEnv):
    env.directory.set_role("tom", "admin")
    ws = await _open(env, "tom")
    await _read(ws)
    env.gateway.handle(acd.AgentLoggedIn("sofie", "utrecht", frozenset({"phone"}), frozenset()))
    assert "sofie" in {m["id"] for m in await _drain(ws)}  # another's change: the full view


def _transfer(agent_id: str, state: str) -> dict[str, Any]:
    """A transfer's JSON form (session.transfer.TransferView.to_json)."""
    return {
        "contact_id": "c1", "agent_id": agent_id, "partner_id": "veilig-thuis",
        "partner_name": "Veilig Thuis", "mode": "consult", "region": None, "state": state,
        "reason": "", "stayed": False, "started_at": 1.0, "updated_at": 2.0,
    }  # fmt: skip


async def test_each_transfer_step_reaches_its_volunteer_and_the_supervisors_only(env: WebEnv):
    gw = env.gateway
    anna, tom, sofie = await _open(env, "anna"), await _open(env, "tom"), await _open(env, "sofie")
    for ws in (anna, tom, sofie):
        await _read(ws)  # snapshot
    for state in ("dialing", "consult", "conference"):
        gw.hub.broadcast([gw.view.observe_transfer(_transfer("anna", state), ended=False)])
    gw.hub.broadcast([gw.view.observe_transfer(_transfer("anna", "handed_over"), ended=True)])
    for ws in (anna, sofie):
        got = [m for m in await _drain(ws) if m["kind"] == "transfer"]
        assert [m["data"]["state"] for m in got] == [
            "dialing", "consult", "conference", "handed_over"
        ]  # fmt: skip
        assert {m["id"] for m in got} == {"c1"}
    assert [m for m in await _drain(tom) if m["kind"] == "transfer"] == []
    # A snapshot holds transfers in progress (none now), scoped like the deltas.
    gw.hub.broadcast([gw.view.observe_transfer(_transfer("anna", "dialing"), ended=False)])
    assert gw.view.snapshot(Scope.volunteer("anna"))["transfers"][0]["state"] == "dialing"
    assert gw.view.snapshot(Scope.volunteer("tom"))["transfers"] == []
    assert len(gw.view.snapshot(Scope.supervisor())["transfers"]) == 1
