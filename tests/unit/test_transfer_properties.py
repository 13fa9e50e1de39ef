"""Random event orders of the warm transfer, against a small model of Asterisk and the ACD.

Hypothesis drives one contact session through transfers started, stepped and cancelled at
random, while the partner answers, fails or hangs up, the volunteer's phone drops, the child
hangs up, originates fail, and the echoes of our own hang-ups arrive late. The session's
commands are carried out on a model of Asterisk (channels alive, bridges and who is in them)
and of the ACD (finish a contact, offer a returned child to the next volunteer). After every
step: the child is never alone on hold, never outside a bridge while the call lasts, and a
volunteer who left is no longer bridged. When the contact ends: no leg is left alive and no
bridge is left.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import acd
from session import commands as c
from session import events as e
from session.errors import TransferRefused
from session.ids import LegRole, parse_leg_id
from session.states import SessionState
from session.transfer import TransferMode, TransferState
from tests.unit.session_helpers import CALLER, HOLD, TALK, SessionScript, done
from tests.unit.transfer_helpers import request, step

S = SessionState


class World:
    """What Asterisk would hold after carrying out the commands."""

    def __init__(self) -> None:
        self.alive: set[str] = {CALLER}
        self.answered: set[str] = {CALLER}
        self.bridges: dict[str, set[str]] = {}
        self.echoes: list[str] = []
        """Channels we hung up whose end Asterisk has yet to report."""

    def bridge_of(self, channel: str) -> str | None:
        return next((b for b, members in self.bridges.items() if channel in members), None)

    def unbridge(self, channel: str) -> None:
        for members in self.bridges.values():
            members.discard(channel)

    def gone(self, channel: str) -> None:
        self.alive.discard(channel)
        self.answered.discard(channel)
        self.unbridge(channel)

    def apply(self, command: c.Command) -> None:
        if isinstance(command, c.Originate):
            self.alive.add(command.channel_id)
        elif isinstance(command, c.Hangup):
            if command.channel_id in self.alive:
                self.gone(command.channel_id)
                self.echoes.append(command.channel_id)
        elif isinstance(command, c.CreateBridge):
            self.bridges.setdefault(command.bridge_id, set())
        elif isinstance(command, c.AddToBridge):
            assert command.bridge_id in self.bridges, f"no bridge {command.bridge_id}"
            for channel in command.channel_ids:
                if channel in self.answered:
                    self.unbridge(channel)
                    self.bridges[command.bridge_id].add(channel)
        elif isinstance(command, c.RemoveFromBridge):
            self.bridges.get(command.bridge_id, set()).discard(command.channel_id)
        elif isinstance(command, c.DeleteBridge):
            self.bridges.pop(command.bridge_id, None)


class TransferMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = World()
        self.s = SessionScript()
        self.acd_state = "none"
        self.volunteers = 0
        self.now = 0.0
        self.steps: list[str] = []

    # -- plumbing ------------------------------------------------------------------

    def feed(self, event: e.Event) -> None:
        self.now += 1.0
        try:
            out = self.s.feed(event, self.now)
        except TransferRefused:
            return
        self.carry_out(out)

    def carry_out(self, out: list[c.Command]) -> None:
        pending = list(out)
        while pending:
            command = pending.pop(0)
            self.world.apply(command)
            if isinstance(command, c.ToAcd):
                pending += self.acd(command.event)

    def acd(self, event: acd.Event) -> list[c.Command]:
        """A minimal ACD: what the core would answer, fed straight back to the session."""
        reply: e.Event | None = None
        if isinstance(event, acd.ContactArrived | acd.ContactReturned | acd.OfferFailed):
            self.acd_state = "queued"
        elif isinstance(event, acd.OfferAccepted) and self.acd_state == "offered":
            self.acd_state = "connected"
            reply = e.AcdConnect(event.agent_id)
        elif isinstance(event, acd.ContactEnded) and self.acd_state != "finished":
            self.acd_state = "finished"
            reply = e.AcdFinished(done())
        if reply is None:
            return []
        self.now += 0.001
        return self.s.feed(reply, self.now)

    def legs(self, role: LegRole, *, answered: bool | None = None) -> list[str]:
        found = []
        for channel in sorted(self.world.alive):
            parsed = parse_leg_id(channel)
            if parsed is None or parsed[0] is not role:
                continue
            if answered is None or (channel in self.world.answered) == answered:
                found.append(channel)
        return found

    @property
    def ended(self) -> bool:
        return self.s.state is S.ENDED

    # -- rules ---------------------------------------------------------------------

    @initialize()
    def talking(self) -> None:
        self.carry_out(self.s.begin())
        self.offer()
        self.answer_volunteer()

    def offer(self) -> None:
        self.volunteers += 1
        self.acd_state = "offered"
        self.feed(e.AcdOffer(f"v{self.volunteers}", self.volunteers, 4.0))

    @precondition(lambda self: self.acd_state == "queued" and not self.ended)
    @rule()
    def next_volunteer_is_offered(self) -> None:
        self.offer()

    @precondition(lambda self: not self.ended)
    @rule()
    def answer_volunteer(self) -> None:
        for leg in self.legs(LegRole.VOLUNTEER, answered=False):
            self.world.answered.add(leg)
            self.feed(e.LegAnswered(leg))
            return

    def who(self, stranger: bool) -> str:
        """The volunteer with the child, or (now and then) someone else."""
        return "v99" if stranger else f"v{self.volunteers}"

    @rule(mode=st.sampled_from(TransferMode), music=st.booleans(), stranger=st.booleans())
    def volunteer_asks_for_a_transfer(
        self, mode: TransferMode, music: bool, stranger: bool
    ) -> None:
        self.feed(request(mode, agent=self.who(stranger and music), music=music))

    @rule(name=st.sampled_from(["conference", "leave", "stay", "cancel"]), stranger=st.booleans())
    def volunteer_takes_a_step(self, name: str, stranger: bool) -> None:
        self.feed(step(name, agent=self.who(stranger and name == "stay")))

    @rule()
    def straight_into_a_conference(self) -> None:
        """The common path in one go, so that random orders start from deep states too."""
        self.feed(request(TransferMode.CONSULT, agent=self.who(False)))
        self.partner_answers_first()
        self.feed(step("conference", agent=self.who(False)))

    def partner_answers_first(self) -> None:
        ringing = self.legs(LegRole.PARTNER, answered=False)
        if ringing:
            self.world.answered.add(ringing[0])
            self.feed(e.LegAnswered(ringing[0]))

    @rule(data=st.data())
    def partner_answers(self, data: st.DataObject) -> None:
        ringing = self.legs(LegRole.PARTNER, answered=False)
        if ringing:
            leg = data.draw(st.sampled_from(ringing))
            self.world.answered.add(leg)
            self.feed(e.LegAnswered(leg))

    @rule(data=st.data(), cause=st.sampled_from([None, 16, 17, 19, 21, 3, 34]))
    def a_leg_ends(self, data: st.DataObject, cause: int | None) -> None:
        """A partner or volunteer hangs up or fails, or a volunteer's phone drops."""
        legs = self.legs(LegRole.PARTNER) + self.legs(LegRole.VOLUNTEER)
        if legs:
            leg = data.draw(st.sampled_from(legs))
            self.world.gone(leg)
            self.feed(e.LegGone(leg, cause))

    @rule(data=st.data(), kind=st.sampled_from(["error", "timeout", "unavailable"]))
    def an_originate_fails(self, data: st.DataObject, kind: str) -> None:
        dialled = [x for x in self.s.log if isinstance(x, c.Originate)]
        ringing = [x for x in dialled if x.channel_id in self.world.alive]
        ringing = [x for x in ringing if x.channel_id not in self.world.answered]
        if ringing:
            failed = data.draw(st.sampled_from(ringing))
            if kind == "error":  # never reached Asterisk
                self.world.gone(failed.channel_id)
            self.feed(e.EffectFailed(failed, kind))

    @rule()
    def an_echo_arrives(self) -> None:
        if self.world.echoes:
            self.feed(e.LegGone(self.world.echoes.pop(0), 16))

    @precondition(lambda self: CALLER in self.world.alive)
    @rule()
    def the_child_hangs_up(self) -> None:
        self.world.gone(CALLER)
        self.feed(e.LegGone(CALLER))

    # -- invariants ----------------------------------------------------------------

    @invariant()
    def the_child_is_never_alone_on_hold(self) -> None:
        if CALLER not in self.world.alive or self.s.state in (S.ENDING, S.ENDED):
            return
        where = self.world.bridge_of(CALLER)
        assert where is not None, f"the child is outside every bridge in {self.s.state}"
        if where == HOLD:
            transfer = self.s.session.transfer
            waiting = self.s.state in (S.QUEUED, S.RINGING)
            consulting = (
                transfer is not None
                and transfer.child_on_hold
                and transfer.volunteer_leg in self.world.alive
            )
            assert waiting or consulting, f"the child is alone on hold ({self.s.state})"
        else:
            assert where == TALK
            others = self.world.bridges[TALK] - {CALLER}
            assert others & self.world.alive, "the child is alone in the talk bridge"

    @invariant()
    def a_volunteer_who_left_is_not_bridged(self) -> None:
        for leg in self.legs(LegRole.VOLUNTEER):
            if leg not in self.s.session.legs:
                assert self.world.bridge_of(leg) is None

    @invariant()
    def one_transfer_at_a_time(self) -> None:
        partners = [p for p in self.legs(LegRole.PARTNER) if p in self.s.session.legs]
        assert len(partners) <= 1

    def teardown(self) -> None:
        if CALLER in self.world.alive:
            self.the_child_hangs_up()
        while self.world.echoes:
            self.an_echo_arrives()
        assert self.ended, f"the session did not end: {self.s.state}"
        assert self.world.alive == set(), f"legs left alive: {self.world.alive}"
        assert self.world.bridges == {}, f"bridges left: {self.world.bridges}"
        assert not self.s.session.legs
        transfer = self.s.session.transfer
        assert transfer is None or transfer.state in (
            TransferState.DONE,
            TransferState.CANCELLED,
            TransferState.FAILED,
        )


TransferMachine.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_random_event_orders_keep_the_child_safe = TransferMachine.TestCase
