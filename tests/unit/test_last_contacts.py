"""Each volunteer's last contact, for the wrap-up form: fed by the engine's record and ACD
observers, read through ``AppGateway.last_contact`` (the real engine on the fake ARI)."""

from __future__ import annotations

import asyncio

import acd
from acd import commands as cmd
from engine.writer import Engine
from helpline.last_contacts import LastContacts
from session import events as e
from session.referral import Referral
from tests.unit.ari_support import SETTINGS, caller_enters, destroyed, leg_enters, started_app
from tests.unit.ari_support import vol_leg as vol
from tests.unit.test_engine_writer import gateway_for
from tests.unit.test_transfer_app import ask, consult, ptn, talking_call

KEYS = {
    "contact_id", "channel", "line_id", "language", "referral", "ended_at", "next_answered",
    "wrap_until",
}  # fmt: skip


def finished(contact_id: str, agent_id: str | None = "noor", at: float = 100.0):
    return cmd.ContactFinished(
        contact_id,
        acd.Channel.PHONE,
        acd.Outcome.ANSWERED if agent_id else acd.Outcome.ABANDONED,
        0,
        "nl",
        at - 60,
        at - 50 if agent_id else None,
        at,
        agent_id,
        "utrecht" if agent_id else None,
    )


def test_the_last_record_per_volunteer_and_a_next_answer_closes_it():
    last = LastContacts()
    last.on_record(finished("k1"), "116111", "nl", None)
    last.on_record(finished("k2", agent_id=None), "116111", "nl", None)  # nobody's
    got = last.get("noor")
    assert got is not None and got.contact_id == "k1" and not got.next_answered
    last.on_step(None, [cmd.ConnectContact("k1", "noor")])  # the same contact: no change
    assert not last.get("noor").next_answered
    last.on_step(None, [cmd.ConnectContact("k3", "sam")])  # someone else
    assert not last.get("noor").next_answered
    last.on_step(acd.OfferAccepted("k4", "noor"), [cmd.ConnectContact("k4", "noor")])
    assert last.get("noor").next_answered
    last.on_record(finished("k4", at=200.0), "0800-0432", "en", Referral("vt", None, True, True))
    now = last.get("noor")
    assert (now.contact_id, now.line_id, now.language, now.next_answered) == (
        "k4", "0800-0432", "en", False,
    )  # fmt: skip
    assert now.to_json()["referral"] == {
        "partner": "vt", "region": None, "consent": True, "volunteer_stayed": True,
    }  # fmt: skip


def test_the_map_is_bounded():
    last = LastContacts(max_volunteers=3)
    for i in range(5):
        last.on_record(finished(f"k{i}", agent_id=f"v{i}"), "116111", "nl", None)
    assert [last.get(f"v{i}") is not None for i in range(5)] == [False, False, True, True, True]


async def test_the_engine_tells_its_record_observers_of_contacts_without_a_session_too():
    engine = Engine(acd.Acd(SETTINGS), clock=lambda: 10.0, default_line_id="116111")
    seen: list[tuple[str, str, str, object]] = []
    engine.record_observers.append(
        lambda d, line, lang, ref, channel: seen.append((d.contact_id, line, lang, ref))
    )  # noqa: E501
    engine.record_observers.insert(0, lambda *a: 1 / 0)  # a broken observer stops nothing
    task = asyncio.create_task(engine.run())
    try:
        await engine.apply(acd.ContactArrived("k1", acd.Channel.PHONE, language="en"))
        await engine.apply(acd.ContactEnded("k1"))
        assert seen == [("k1", "116111", "en", None)]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_app_gateway_knows_the_volunteers_last_call_until_the_next_is_answered():
    async with started_app() as run:
        gateway = gateway_for(run.app)
        assert gateway.last_contact("noor") is None
        await run.login_ready("noor")
        run.feed(caller_enters("c1"))
        await run.settle()
        cid = run.contact_of("c1")
        run.feed(leg_enters(vol(cid), cid))
        await run.settle()
        assert gateway.last_contact("noor") is None  # talking: nothing finished yet
        run.feed(destroyed("c1"))  # the child hangs up
        await run.settle()
        last = gateway.last_contact("noor")
        assert set(last) == KEYS
        agent = run.app.acd.agent("noor")
        assert agent.state is acd.AgentState.WRAP_UP
        assert last == {
            "contact_id": cid,
            "channel": "phone",
            "line_id": "116111",
            "language": "nl",
            "referral": None,
            "ended_at": last["ended_at"],
            "next_answered": False,
            "wrap_until": agent.wrap_until,
        }
        assert "0612345678" not in repr(last)
        # Wrap-up over: the contact is still hers, without a wrap_until.
        await run.engine.apply(acd.WrapUpEnded("noor"))
        assert gateway.last_contact("noor")["wrap_until"] is None
        # She answers the next call: the previous form is closed.
        run.feed(caller_enters("c2"))
        await run.settle()
        cid2 = run.contact_of("c2")
        assert gateway.last_contact("noor")["next_answered"] is False  # only ringing
        run.feed(leg_enters(vol(cid2), cid2))
        await run.settle()
        last = gateway.last_contact("noor")
        assert (last["contact_id"], last["next_answered"]) == (cid, True)


async def test_app_gateway_gives_the_referral_of_a_call_the_volunteer_left_to_a_partner():
    async with started_app() as run:
        gateway = gateway_for(run.app)
        cid = await talking_call(run)
        await ask(run, consult())
        run.feed(leg_enters(ptn(cid), cid))
        await run.settle()
        await ask(run, e.TransferStep("noor", "conference"))
        await ask(run, e.TransferStep("noor", "leave"))
        last = gateway.last_contact("noor")
        assert last["contact_id"] == cid
        assert last["referral"] == {
            "partner": "veilig-thuis",
            "region": "utrecht",
            "consent": True,
            "volunteer_stayed": False,
        }
        assert last["wrap_until"] is not None


def test_a_volunteer_who_ends_several_chats_registers_each_and_a_next_answer_keeps_them():
    from dataclasses import replace

    last = LastContacts(recent=3)
    chat_a = replace(finished("chat-a", at=100.0), channel=acd.Channel.CHAT)
    chat_b = replace(finished("chat-b", at=110.0), channel=acd.Channel.CHAT)
    last.on_record(chat_a, "116111", "nl", None)
    last.on_record(chat_b, "116111", "nl", None, "peer_chat")
    last.on_record(finished("call-1", at=120.0), "116111", "nl", None)
    assert last.get("noor").contact_id == "call-1"  # the newest, without a contact id
    assert last.get("noor", "chat-a").channel == "chat"
    assert last.get("noor", "chat-b").channel == "peer_chat"
    assert last.get("sam", "chat-a") is None  # never another volunteer's
    # A next contact answered closes the call's form, not the chats' (chats overlap).
    last.on_step(None, [cmd.ConnectContact("chat-c", "noor")])
    assert last.get("noor", "call-1").next_answered is True
    assert last.get("noor", "chat-a").next_answered is False
    assert last.get("noor", "chat-b").next_answered is False
    # Only a few are kept per volunteer: the oldest goes first.
    last.on_record(finished("call-2", at=130.0), "116111", "nl", None)
    assert last.get("noor", "chat-a") is None and last.get("noor", "call-2") is not None
