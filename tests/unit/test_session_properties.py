"""Invariants of one contact session over random event orders (Hypothesis state machine).

The session hears from Asterisk and from the ACD in whatever order the races of a phone line
produce, nonsense orders and duplicates included. Whatever comes:
- it raises nothing but ``SessionError`` (h11's fuzz invariant), and a raised error changes
  nothing;
- once ended it says nothing more;
- every leg it dialled (or found in Asterisk) has been hung up, or reported gone or never
  created, by the time it closes;
- ``SessionClosed``, ``ToAcd(ContactEnded)``, ``ToAcd(ContactArrived)`` and ``WriteRecord``
  each come at most once, and ``SessionClosed`` exactly when it ends;
- once the caller has gone and the ACD has finished, it is closed.
"""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import acd
from acd import Outcome
from ivr import flow
from session import commands as c
from session import events as e
from session.errors import SessionError
from session.ids import LegRole
from session.machine import Leg, QueueNews
from session.states import LegState, SessionState
from tests.unit.session_helpers import CALLER, CID, MENU, SessionScript, done, pb, ptn, vol

AGENTS = ["v1", "v2"]
KINDS = ["not_found", "conflict", "timeout", "unavailable", "error"]
NEVER_CREATED = {"not_found", "conflict", "error"}
"""Outcomes of an originate after which no channel exists (a timeout may have rung anyway)."""


def _state_of(s: SessionScript) -> object:
    session = s.session
    ivr = session.ivr
    return (
        session.state,
        list(session.history),
        copy.deepcopy(session.legs),
        session.caller_gone,
        session.record_written,
        session.answered,
        session.language,
        None if ivr is None else (ivr.state, ivr.language, ivr.next_deadline()),
    )


class SessionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.s = SessionScript()
        self.now = 0.0
        self.next_token = 1
        self.tokens: list[int] = []
        self.pending: set[str] = set()
        """Legs dialled or recovered and not yet hung up, gone or known never created."""
        self.closed_count = 0

    # -- feeding the session -------------------------------------------------------------

    def feed(self, event: e.Event) -> None:
        self._run(lambda: self.s.session.handle(event, self.now), event)

    def _run(self, step, event: object) -> None:
        was_ended = self.s.state is SessionState.ENDED
        before = _state_of(self.s)
        try:
            out = step()
        except SessionError:
            assert _state_of(self.s) == before, f"{event} raised but changed the session"
            return
        # Anything else propagates and fails the test: the session raises only its own errors.
        if was_ended:
            assert out == [], f"{event} after the end said {out}"
        self.s.log.extend(out)
        if isinstance(event, e.LegGone):
            self.pending.discard(event.channel_id)
        if (
            isinstance(event, e.EffectFailed)
            and isinstance(event.command, c.Originate)
            and event.kind in NEVER_CREATED
        ):
            self.pending.discard(event.command.channel_id)
        for command in out:
            if isinstance(command, c.Originate):
                self.pending.add(command.channel_id)
            elif isinstance(command, c.Hangup):
                self.pending.discard(command.channel_id)
            elif isinstance(command, c.SessionClosed):
                self.closed_count += 1
                assert not self.pending, f"closed with legs never hung up: {self.pending}"

    # -- the start -----------------------------------------------------------------------

    # Weighted so that most runs reach the queue and the offers: a closed line, the welcome
    # and the menu are each one run in four or eight.
    @initialize(
        welcome=st.sampled_from([False, False, False, True]),
        open_=st.sampled_from([True] * 7 + [False]),
        menu=st.sampled_from([False, False, False, True]),
        comfort_every_s=st.sampled_from([10.0, 45.0]),
    )
    def begin(self, welcome: bool, open_: bool, menu: bool, comfort_every_s: float) -> None:
        self.s = SessionScript(welcome=welcome, comfort_every_s=comfort_every_s)
        self.s.log.extend(self.s.session.begin(_entered(open_, menu), self.now))

    # -- from Asterisk ---------------------------------------------------------------------

    def _legs(self) -> list[str]:
        return [vol(t) for t in self.tokens] + [ptn(1), vol(99)]

    @rule(data=st.data())
    def leg_answered(self, data: st.DataObject) -> None:
        self.feed(e.LegAnswered(data.draw(st.sampled_from(self._legs()))))

    @rule(data=st.data(), cause=st.sampled_from([None, 16, 17, 19, 21, -1]))
    def leg_gone(self, data: st.DataObject, cause: int | None) -> None:
        self.feed(e.LegGone(data.draw(st.sampled_from(self._legs())), cause))

    @rule(cause=st.sampled_from([None, 16]), now=st.integers(0, 3))
    def caller_gone(self, cause: int | None, now: int = 0) -> None:
        if now == 0:  # one draw in four: a session that ends at once explores little
            self.feed(e.LegGone(CALLER, cause))

    @rule(digit=st.sampled_from(["1", "2", "9", "#"]))
    def digit(self, digit: str) -> None:
        self.feed(e.CallerDigit(digit))

    @rule(n=st.integers(1, 4))
    def prompt_done(self, n: int) -> None:
        self.feed(e.PromptDone(pb(n)))

    @rule(data=st.data(), kind=st.sampled_from(KINDS))
    def effect_failed(self, data: st.DataObject, kind: str) -> None:
        effects = [x for x in self.s.log if isinstance(x, c.EFFECT_TYPES)][-6:]  # recent ones
        if effects:
            self.feed(e.EffectFailed(data.draw(st.sampled_from(effects)), kind))

    @rule(dt=st.sampled_from([0.5, 5.0, 11.0, 46.0]), position=st.integers(0, 4))
    def time_passes(self, dt: float, position: int) -> None:
        self.now += dt
        news = QueueNews(position, None) if position else None
        self._run(lambda: self.s.session.handle_timer(self.now, news), "timer")

    @rule()
    def partner_found(self) -> None:
        """Reconciliation found a partner leg up in the talk bridge."""
        if self.s.state is not SessionState.ENDED:
            self.s.session.add_recovered_leg(Leg(ptn(1), LegRole.PARTNER, LegState.UP))
            self.pending.add(ptn(1))

    # -- from the ACD ------------------------------------------------------------------------

    @rule(agent=st.sampled_from(AGENTS), again=st.booleans())
    def offer(self, agent: str, again: bool) -> None:
        token = self.tokens[-1] if again and self.tokens else self.next_token
        if token == self.next_token:
            self.next_token += 1
            self.tokens.append(token)
        self.feed(e.AcdOffer(agent, token, 4.0))

    @rule(accepted=st.sampled_from([True, True, True, False]))
    def volunteer_answers(self, accepted: bool) -> None:
        """The likely order: the ringing leg answers and the ACD connects it (or refuses)."""
        leg = self.s.session.ringing_leg()
        if leg is None:
            return
        self.feed(e.LegAnswered(leg.channel_id))
        agent = leg.agent_id or ""
        if accepted:
            self.feed(e.AcdConnect(agent))
        else:
            self.feed(e.AcdRefused(acd.OfferAccepted(CID, agent)))

    @rule(agent=st.sampled_from(AGENTS))
    def withdraw(self, agent: str) -> None:
        self.feed(e.AcdWithdraw(agent))

    @rule(agent=st.sampled_from(AGENTS))
    def connect(self, agent: str) -> None:
        self.feed(e.AcdConnect(agent))

    @rule(reason=st.sampled_from(["queue_full", "max_wait"]), now=st.integers(0, 3))
    def overflow(self, reason: str, now: int) -> None:
        if now == 0:
            self.feed(e.AcdOverflow(reason))

    @rule(outcome=st.sampled_from(list(Outcome)), now=st.integers(0, 3))
    def finished(self, outcome: Outcome, now: int = 0) -> None:
        if now == 0:
            self.feed(e.AcdFinished(done(outcome)))

    @rule(agent=st.sampled_from(AGENTS), accepted=st.booleans())
    def refused(self, agent: str, accepted: bool) -> None:
        refused = acd.OfferAccepted(CID, agent) if accepted else acd.ContactEnded(CID)
        self.feed(e.AcdRefused(refused))

    # -- invariants --------------------------------------------------------------------------

    def _count(self, kind: type, acd_kind: type | None = None) -> int:
        return sum(
            1
            for x in self.s.log
            if isinstance(x, kind) and (acd_kind is None or isinstance(x.event, acd_kind))
        )

    @invariant()
    def at_most_once(self) -> None:
        assert self.closed_count <= 1
        assert self._count(c.SessionClosed) == self.closed_count
        assert self._count(c.ToAcd, acd.ContactEnded) <= 1
        assert self._count(c.ToAcd, acd.ContactArrived) <= 1
        assert self._count(c.WriteRecord) <= 1

    @invariant()
    def closed_exactly_when_ended(self) -> None:
        assert (self.closed_count == 1) == (self.s.state is SessionState.ENDED)
        assert self.s.history[-1] is self.s.state
        assert all(a is not b for a, b in zip(self.s.history, self.s.history[1:], strict=False))

    def teardown(self) -> None:
        """The caller hangs up and the ACD finishes: whatever happened, the session closes."""
        self.caller_gone(16)
        if self.s.state is not SessionState.ENDED:
            self.finished(Outcome.ABANDONED)
        assert self.s.state is SessionState.ENDED, self.s.history
        assert self.closed_count == 1
        assert not self.pending


def _entered(open_: bool, menu: bool) -> flow.CallEntered:
    return flow.CallEntered("nl", open_, MENU if menu else None)


SessionMachine.TestCase.settings = settings(
    max_examples=400,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSessionProperties = SessionMachine.TestCase


def test_state_machine_is_not_vacuous():
    """The rules above reach a conversation and its end (guards against a dead harness)."""
    machine = SessionMachine()
    machine.begin(welcome=False, open_=True, menu=False, comfort_every_s=45.0)
    machine.offer("v1", again=False)
    machine.volunteer_answers(accepted=True)
    assert machine.s.state is SessionState.TALKING
    assert machine.pending == {vol(1)}
    machine.partner_found()
    machine.feed(e.LegGone(vol(1), 16))
    assert machine.s.state is SessionState.TALKING
    machine.teardown()
    assert machine.s.history[-2:] == [SessionState.ENDING, SessionState.ENDED]
