"""Random event orders of coaching, against a small model of Asterisk and the ACD.

Hypothesis drives one call through coachings requested, switched and stopped at random, while
the supervisor's phone answers, fails or hangs up, snoop channels show up late or cannot be
made, the volunteer or the child hangs up, and the echoes of our own hang-ups arrive late.
After every step: the child's bridge never holds a snoop, nor the supervisor unless barging;
the core is told a supervisor coaches exactly while a coaching of hers is ringing or active;
a snoop that whispers exists only in whisper mode, and there is at most one; a coaching that
is over has left nothing behind. When the call ends: no channel and no bridge is left.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import acd
from session import commands as c
from session import events as e
from session.coaching_states import SNOOP_DIRECTIONS, CoachMode
from session.errors import CoachingRefused
from session.states import SessionState
from tests.unit.session_helpers import CALLER, TALK, SessionScript, done, vol
from tests.unit.test_transfer_properties import World

S = SessionState
VOLUNTEER = vol(1)


class CoachingWorld(World):
    """Asterisk, with snoop channels: each dies with the channel it spies on."""

    def __init__(self) -> None:
        super().__init__()
        self.snoops: dict[str, c.Snoop] = {}

    def apply(self, command: c.Command) -> None:
        if isinstance(command, c.Snoop):
            if command.target_id in self.alive:  # ARI answers 404 for a channel that is gone
                self.alive.add(command.channel_id)
                self.snoops[command.channel_id] = command
            return
        super().apply(command)

    def gone(self, channel: str) -> None:
        super().gone(channel)
        for spy, made in list(self.snoops.items()):
            if made.target_id == channel and spy in self.alive:
                super().gone(spy)
                self.echoes.append(spy)


class CoachingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = CoachingWorld()
        self.s = SessionScript()
        self.acd_finished = False
        self.now = 0.0
        self.marked: set[str] = set()
        """Supervisors the core was told are coaching (``CoachingStarted``, not yet ended)."""

    # -- plumbing ------------------------------------------------------------------

    def feed(self, event: e.Event) -> None:
        self.now += 1.0
        try:
            out = self.s.feed(event, self.now)
        except CoachingRefused:
            return
        self.carry_out(out)

    def carry_out(self, out: list[c.Command]) -> None:
        pending = list(out)
        while pending:
            command = pending.pop(0)
            self.world.apply(command)
            if isinstance(command, c.ToAcd) and isinstance(command.event, acd.CoachingStarted):
                assert command.event.agent_id not in self.marked, "started twice"
                self.marked.add(command.event.agent_id)
            elif isinstance(command, c.ToAcd) and isinstance(command.event, acd.CoachingEnded):
                assert command.event.agent_id in self.marked, "ended, never started"
                self.marked.discard(command.event.agent_id)
            elif isinstance(command, c.ToAcd) and not self.acd_finished:
                # The only ACD word this call still needs: its end, once a party left.
                if type(command.event).__name__ == "ContactEnded":
                    self.acd_finished = True
                    self.now += 0.001
                    pending += self.s.feed(e.AcdFinished(done()), self.now)

    def ours(self, prefix: str, *, answered: bool | None = None) -> list[str]:
        found = sorted(ch for ch in self.world.alive if ch.startswith(prefix))
        if answered is None:
            return found
        return [ch for ch in found if (ch in self.world.answered) == answered]

    @property
    def coaching(self):  # type: ignore[no-untyped-def]
        return self.s.session.coaching

    # -- rules ---------------------------------------------------------------------

    @initialize()
    def talking(self) -> None:
        self.carry_out(self.s.begin())
        self.feed(e.AcdOffer("v1", 1, 4.0))
        self.world.answered.add(VOLUNTEER)
        self.feed(e.LegAnswered(VOLUNTEER))
        self.feed(e.AcdConnect("v1"))
        assert self.s.state is S.TALKING

    @rule(mode=st.sampled_from(CoachMode), stranger=st.booleans())
    def a_supervisor_asks(self, mode: CoachMode, stranger: bool) -> None:
        self.feed(e.CoachingRequested("tom" if stranger else "sara", "v1", mode))

    @rule(mode=st.none() | st.sampled_from(CoachMode))
    def a_supervisor_switches_or_stops(self, mode: CoachMode | None) -> None:
        self.feed(e.CoachingStep("sara", mode))

    @rule(data=st.data())
    def a_phone_or_snoop_enters_the_app(self, data: st.DataObject) -> None:
        waiting = self.ours("sup-", answered=False) + self.ours("spy-", answered=False)
        if waiting:
            channel = data.draw(st.sampled_from(waiting))
            self.world.answered.add(channel)
            self.feed(e.LegAnswered(channel))

    @rule(data=st.data(), cause=st.sampled_from([None, 16, 17, 21, 3]))
    def the_supervisor_hangs_up_or_never_answers(self, data: st.DataObject, cause: int | None):
        legs = self.ours("sup-")
        if legs:
            leg = data.draw(st.sampled_from(legs))
            self.world.gone(leg)
            self.feed(e.LegGone(leg, cause))

    @rule(data=st.data(), kind=st.sampled_from(["error", "timeout", "not_found"]))
    def an_effect_fails(self, data: st.DataObject, kind: str) -> None:
        made = [x for x in self.s.log if isinstance(x, (c.Originate, c.Snoop))]
        ringing = [
            x
            for x in made
            if x.channel_id in self.world.alive
            and x.channel_id not in self.world.answered
            and x.channel_id != VOLUNTEER
        ]
        if ringing:
            failed = data.draw(st.sampled_from(ringing))
            if kind != "timeout":  # never reached Asterisk
                self.world.gone(failed.channel_id)
            self.feed(e.EffectFailed(failed, kind))

    @rule()
    def an_echo_arrives(self) -> None:
        if self.world.echoes:
            self.feed(e.LegGone(self.world.echoes.pop(0), 16))

    @rule()
    def the_volunteer_hangs_up(self) -> None:
        if VOLUNTEER in self.world.alive:
            self.world.gone(VOLUNTEER)
            self.feed(e.LegGone(VOLUNTEER, 16))

    @rule()
    def the_child_hangs_up(self) -> None:
        if CALLER in self.world.alive:
            self.world.gone(CALLER)
            self.feed(e.LegGone(CALLER))

    # -- invariants ----------------------------------------------------------------

    @invariant()
    def the_childs_bridge_never_holds_a_snoop_or_a_listening_supervisor(self) -> None:
        talk = self.world.bridges.get(TALK, set())
        assert not [ch for ch in talk if ch.startswith("spy-")]
        co = self.coaching
        barging = co is not None and co.active and co.mode is CoachMode.BARGE
        if not barging:
            assert not [ch for ch in talk if ch.startswith("sup-")], "a supervisor in the talk"

    @invariant()
    def snoops_match_the_mode(self) -> None:
        snoops = self.ours("spy-")
        assert len(snoops) <= 1, f"several snoops: {snoops}"
        co = self.coaching
        for spy in snoops:
            assert co is not None and co.active and co.mode is not CoachMode.BARGE
            made = self.world.snoops[spy]
            assert (made.spy, made.whisper) == SNOOP_DIRECTIONS[co.mode]
            assert made.target_id == VOLUNTEER

    @invariant()
    def the_core_knows_who_coaches(self) -> None:
        co = self.coaching
        assert self.marked == ({co.supervisor_id} if co is not None and co.active else set())

    @invariant()
    def nothing_dangles_once_a_coaching_is_over(self) -> None:
        co = self.coaching
        if co is None or co.active:
            return
        assert self.ours("sup-") == [] and self.ours("spy-") == []
        assert not [b for b in self.world.bridges if b.startswith("coach-")]

    def teardown(self) -> None:
        self.the_child_hangs_up()
        while self.world.echoes:
            self.an_echo_arrives()
        assert self.s.state is S.ENDED, f"the call did not end: {self.s.state}"
        assert self.world.alive == set(), f"channels left: {self.world.alive}"
        assert self.world.bridges == {}, f"bridges left: {self.world.bridges}"
        assert self.coaching is None or not self.coaching.active
        assert self.marked == set(), f"still marked coaching: {self.marked}"


CoachingMachine.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCoaching = CoachingMachine.TestCase
