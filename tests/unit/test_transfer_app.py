"""The warm transfer through the engine, the ARI effector and reconciliation (fake ARI).

What goes to Asterisk for each step, what the record says, what the live bus hears, and how
a transfer in progress is found again after a restart of ours, from Asterisk's lists alone.
"""

from __future__ import annotations

from typing import Any

import acd
from acd import ContactState
from session import events as e
from session.ids import partner_leg_id
from session.referral import Referral
from session.states import SessionState
from session.transfer import TransferMode, TransferState, TransferView
from tests.unit.ari_support import (
    caller_enters,
    destroyed,
    leg_enters,
    started_app,
    vol_leg,
)
from tests.unit.fake_ari import bridge_json, channel_json
from tests.unit.test_ari_reconcile import (
    C1,
    after_snapshot,
    arrived,
    asterisk,
    caller,
    core_with,
    leg,
)
from tests.unit.transfer_helpers import VT

S = SessionState


def ptn(contact_id: str, mode: str = "consult") -> str:
    return partner_leg_id(contact_id, 1, mode, VT.partner_id, "utrecht")


def partner_channel(contact_id: str, state: str = "Up", mode: str = "consult") -> dict[str, Any]:
    return channel_json(
        ptn(contact_id, mode), state=state, name="PJSIP/carrier-out-1", context="default"
    )


async def ask(run: Any, event: e.Event) -> TransferView | None:
    result: TransferView | None = await run.engine.call(
        lambda: run.engine.volunteer_request("noor", event)
    )
    await run.settle()
    return result


def consult(mode: TransferMode = TransferMode.CONSULT) -> e.TransferRequested:
    return e.TransferRequested("noor", VT, mode, "utrecht")


async def talking_call(run: Any) -> str:
    await run.login_ready("noor")
    run.feed(caller_enters("c1"))
    await run.settle()
    contact_id = run.contact_of("c1")
    run.feed(leg_enters(vol_leg(contact_id), contact_id))
    await run.settle()
    assert run.engine.sessions[contact_id].state is S.TALKING
    run.fake.requests.clear()
    return contact_id


async def test_a_consult_conference_and_leave_as_asterisk_sees_them():
    async with started_app() as run:
        seen: list[TransferView] = []
        run.engine.transfer_observers.append(seen.append)
        cid = await talking_call(run)

        view = await ask(run, consult())
        assert view is not None and view.state == "dialing"
        originate = run.fake.matching("POST", "/channels")[0]
        assert originate.params["endpoint"] == VT.endpoint
        assert originate.params["channelId"] == ptn(cid)
        assert originate.params["callerId"] == VT.caller_id
        assert not originate.body  # no variables: ARI presents the callerId as given
        assert [line for line in run.fake.lines if "/bridges" in line] == [
            f"POST /bridges/hold-{cid}",
            f"POST /bridges/talk-{cid}/removeChannel",
            f"POST /bridges/hold-{cid}/addChannel",
            f"POST /bridges/hold-{cid}/moh",
        ]

        run.fake.requests.clear()
        run.feed(leg_enters(ptn(cid), cid))
        await run.settle()
        assert run.fake.lines == [f"POST /bridges/talk-{cid}/addChannel"]

        run.fake.requests.clear()
        await ask(run, e.TransferStep("noor", "conference"))
        assert run.fake.lines == [
            f"POST /bridges/hold-{cid}/removeChannel",
            f"POST /bridges/talk-{cid}/addChannel",
            f"DELETE /bridges/hold-{cid}",
        ]

        run.fake.requests.clear()
        await ask(run, e.TransferStep("noor", "leave"))
        assert run.fake.lines == [f"DELETE /channels/{vol_leg(cid)}"]
        # The volunteer is in wrap-up; the record notes the referral; the call goes on.
        assert run.app.acd.agent("noor").state is acd.AgentState.WRAP_UP
        assert run.records.referrals[cid] == Referral("veilig-thuis", "utrecht", True, False)
        assert run.engine.sessions[cid].state is S.HANDED_OVER
        assert [v.state for v in seen] == ["dialing", "consult", "conference", "handed_over"]

        run.fake.requests.clear()
        run.feed(destroyed("c1"))
        await run.settle()
        assert sorted(run.fake.lines) == sorted(
            [
                f"DELETE /channels/{ptn(cid)}",
                f"DELETE /bridges/hold-{cid}",
                f"DELETE /bridges/talk-{cid}",
            ]
        )
        assert cid not in run.engine.sessions
        assert seen[-1].state == "done" and seen[-1].reason == "caller_left"


async def test_a_second_request_is_refused_while_one_is_in_progress():
    async with started_app() as run:
        await talking_call(run)
        await ask(run, consult())
        try:
            await ask(run, consult())
        except Exception as exc:  # noqa: BLE001 - the type is what is checked
            assert type(exc).__name__ == "TransferRefused"
            assert exc.code == "transfer_in_progress"  # type: ignore[attr-defined]
        else:
            raise AssertionError("a second transfer was accepted")


async def test_no_call_no_transfer():
    async with started_app() as run:
        await run.login_ready("noor")
        try:
            await ask(run, consult())
        except Exception as exc:  # noqa: BLE001
            assert exc.code == "no_call"  # type: ignore[attr-defined]
        else:
            raise AssertionError("a transfer without a call was accepted")


async def test_volunteer_drops_while_the_partner_rings_the_child_is_offered_again():
    async with started_app() as run:
        cid = await talking_call(run)
        await run.login_ready("bram")  # free when the child comes back
        await ask(run, consult())
        run.fake.requests.clear()
        run.feed(destroyed(vol_leg(cid)))
        await run.settle()
        contact = run.app.acd.contact(cid)
        assert contact.state is ContactState.OFFERED and contact.agent_id == "bram"
        assert f"DELETE /channels/{ptn(cid)}" in run.fake.lines
        assert run.app.acd.agent("noor").state is acd.AgentState.WRAP_UP


# ---------------------------------------------------------------------- restarts


async def test_restart_mid_consult_rebuilds_the_transfer_and_it_completes():
    core = core_with(arrived(C1), acd.OfferAccepted(C1, "noor"))
    state = asterisk(
        channels=[caller("c1"), leg(C1), partner_channel(C1)],
        bridges=[
            bridge_json(f"hold-{C1}", ["c1"]),
            bridge_json(f"talk-{C1}", [vol_leg(C1), ptn(C1)], "mixing"),
        ],
    )
    seen: list[TransferView] = []

    def watch(run: Any) -> None:
        state(run)
        run.engine.transfer_observers.append(seen.append)

    async with started_app(core=core, before_connect=watch, clear=False) as run:
        assert after_snapshot(run) == []  # nothing touched
        # The live bus hears of it (after a restart it knew nothing of the transfer).
        assert [v.state for v in seen] == ["consult"]
        session = run.engine.sessions[C1]
        assert session.transfer is not None
        assert session.transfer.state is TransferState.CONSULT
        assert (session.transfer.partner_id, session.transfer.region) == ("veilig-thuis", "utrecht")
        run.fake.requests.clear()
        await ask(run, e.TransferStep("noor", "conference"))
        assert f"POST /bridges/talk-{C1}/addChannel" in run.fake.lines
        await ask(run, e.TransferStep("noor", "leave"))
        assert session.state is S.HANDED_OVER


async def test_restart_during_a_conference_keeps_all_three_together():
    core = core_with(arrived(C1), acd.OfferAccepted(C1, "noor"))
    state = asterisk(
        channels=[caller("c1"), leg(C1), partner_channel(C1)],
        bridges=[bridge_json(f"talk-{C1}", ["c1", vol_leg(C1), ptn(C1)], "mixing")],
    )
    async with started_app(core=core, before_connect=state, clear=False) as run:
        assert after_snapshot(run) == []
        transfer = run.engine.sessions[C1].transfer
        assert transfer is not None and transfer.state is TransferState.CONFERENCE


async def test_restart_after_the_hand_over_keeps_the_child_with_the_partner():
    core = core_with()  # the core finished the contact when the volunteer left
    state = asterisk(
        channels=[caller("c1"), partner_channel(C1)],
        bridges=[bridge_json(f"talk-{C1}", ["c1", ptn(C1)], "mixing")],
    )
    async with started_app(core=core, before_connect=state, clear=False) as run:
        assert after_snapshot(run) == []  # neither hung up nor destroyed
        session = run.engine.sessions[C1]
        assert session.state is S.HANDED_OVER
        run.fake.requests.clear()
        run.feed(destroyed(ptn(C1)))  # the partner hangs up: the call is over for the child
        await run.settle()
        assert "DELETE /channels/c1" in run.fake.lines
        assert C1 not in run.engine.sessions
        assert run.records.written == []  # written before the restart, not twice


async def test_restart_finds_the_partner_answered_while_we_were_away():
    core = core_with(arrived(C1), acd.OfferAccepted(C1, "noor"))
    state = asterisk(
        channels=[caller("c1"), leg(C1), partner_channel(C1, state="Up", mode="direct")],
        bridges=[bridge_json(f"talk-{C1}", ["c1", vol_leg(C1)], "mixing")],
    )
    async with started_app(core=core, before_connect=state, clear=False) as run:
        assert after_snapshot(run) == [f"POST /bridges/talk-{C1}/addChannel"]
        transfer = run.engine.sessions[C1].transfer
        assert transfer is not None and transfer.state is TransferState.CONFERENCE


async def test_restart_finds_the_volunteer_gone_mid_consult_and_joins_child_and_partner():
    core = core_with(arrived(C1), acd.OfferAccepted(C1, "noor"))
    state = asterisk(
        channels=[caller("c1"), partner_channel(C1)],
        bridges=[
            bridge_json(f"hold-{C1}", ["c1"]),
            bridge_json(f"talk-{C1}", [ptn(C1)], "mixing"),
        ],
    )
    async with started_app(core=core, before_connect=state, clear=False) as run:
        lines = after_snapshot(run)
        assert f"POST /bridges/talk-{C1}/addChannel" in lines
        assert run.engine.sessions[C1].state is S.HANDED_OVER
        assert run.app.acd.agent("noor").state is acd.AgentState.WRAP_UP
