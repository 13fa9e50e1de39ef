"""Invariants of the ACD core over random event orders (Hypothesis state machine).

Whatever the order of logins, pauses, arrivals, answers, hang-ups, timeouts and volunteers
gone mid-call (``ContactReturned``):
- a contact is never offered to two volunteers at once, and a volunteer never has two offers;
- every contact ends exactly once, answered, abandoned or overflowed; answered if a volunteer
  ever answered it;
- a returned contact is offered before any other waiting contact a volunteer could take, the
  earliest returned first; its maximum wait counts from its return;
- no free volunteer stays idle while a contact they could take waits;
- a supervisor coaching a call (``CoachingStarted``) is never offered a contact;
- no contact waits longer than its relaxation time while a volunteer who could take it
  (without the relaxed requirements) is free, and a preference is kept only while a volunteer
  who meets it is available, ringing or in wrap-up;
- fairness: each offer goes to the best waiting contact the volunteer could take, and to the
  best-ranked volunteer who could take it;
- the core only ever raises its own named errors, and a raised error changes nothing;
- a snapshot restores a distributor that behaves identically.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from acd import (
    Acd,
    AcdError,
    AcdSettings,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReachability,
    AgentReady,
    AgentState,
    Channel,
    CoachingEnded,
    CoachingStarted,
    ConnectContact,
    ContactArrived,
    ContactEnded,
    ContactFinished,
    ContactReturned,
    ContactState,
    OfferAccepted,
    OfferContact,
    OfferFailed,
    OfferFailure,
    OverflowContact,
    WithdrawOffer,
    WrapUpEnded,
    strategy_by_name,
)
from acd.model import Agent, Contact, contact_requirements

AGENT_IDS = [f"v{i}" for i in range(6)]
SKILL_SETS = [
    frozenset({"phone", "chat"}),
    frozenset({"phone"}),
    frozenset({"chat"}),
    frozenset({"peer_chat"}),
]
LANGUAGE_SETS = [frozenset({"nl"}), frozenset({"nl", "en"}), frozenset({"en"})]
# Timeouts whose fractions never coincide with each other on a half-second event grid.
SETTINGS = AcdSettings(
    ring_timeout_s=7.3,
    wrap_up_s=11.7,
    max_wait_s=61.1,
    max_no_answer=2,
    max_queue_length=5,
    language_wait_s=17.9,
)
PEER_ESCALATION_S = 23.3
RELAX_MODES = ["default", "required", "short", "escalate_peer"]


class FairnessCheckingAcd(Acd):
    """The real core, with a check at the instant of every offer (before it changes state)."""

    violations: list[str]

    def _offer(self, contact: Contact, agent: Agent, now: float, out: list) -> None:  # type: ignore[override]
        caps = agent.capabilities()
        if caps is None or not contact.requires <= caps:
            self.violations.append(f"offer of {contact.contact_id} to ineligible {agent.agent_id}")
        for other in self.contacts():
            if (
                other is not contact
                and other.state is ContactState.QUEUED
                and caps is not None
                and other.requires <= caps
                and other.queue_key < contact.queue_key
            ):
                self.violations.append(
                    f"{agent.agent_id} got {contact.contact_id}"
                    f" while better {other.contact_id} waited"
                )
            if (
                other is not contact
                and other.state is ContactState.QUEUED
                and other.returned_at is not None
                and other.channel is contact.channel
                and caps is not None
                and other.requires <= caps
                and (contact.returned_at is None or contact.returned_at > other.returned_at)
            ):
                self.violations.append(
                    f"{agent.agent_id} got {contact.contact_id}"
                    f" while returned {other.contact_id} waited"
                )
        mine = (*agent.indexed_rank, agent.eligible_seq)
        for rival in self.agents():
            rival_caps = rival.capabilities()
            if (
                rival is not agent
                and rival_caps is not None
                and rival.state is not AgentState.LOGGED_OUT
                and contact.requires <= rival_caps
                and (*rival.indexed_rank, rival.eligible_seq) < mine
            ):
                self.violations.append(
                    f"{contact.contact_id} went to {agent.agent_id}"
                    f" though {rival.agent_id} ranked first"
                )
        super()._offer(contact, agent, now, out)


class AcdMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.acd = FairnessCheckingAcd(SETTINGS, strategy_by_name("longest_idle"))
        self.acd.violations = []
        self.now = 0.0
        self.next_contact = 0
        self.arrived: set[str] = set()
        self.finished: dict[str, str] = {}
        self.pending_offer_by_contact: dict[str, str] = {}
        self.pending_offer_by_agent: dict[str, str] = {}
        self.log: list[tuple[object, float]] = []
        self.returned: dict[str, float] = {}
        """Contacts whose volunteer went missing mid-call, and when they last returned."""
        self.answered: set[str] = set()
        self.relaxing: dict[str, tuple[float, dict[str, float], frozenset[str]]] = {}
        """Per contact: arrival time, each relaxing requirement's wait, the preferred ones."""

    # -- feeding the core

    def feed(self, event: object) -> None:
        before = json.dumps(self.acd.snapshot(), sort_keys=True)
        try:
            commands = self.acd.handle(event, self.now)  # type: ignore[arg-type]
        except AcdError:
            after = json.dumps(self.acd.snapshot(), sort_keys=True)
            assert before == after, f"{event} raised but changed state"
            return
        self.log.append((event, self.now))
        if isinstance(event, ContactReturned):
            self.returned[event.contact_id] = self.now
        if isinstance(event, OfferFailed):
            self.clear_offer(event.contact_id)  # the adapter reported it; no command needed
        self.observe(commands)

    def observe(self, commands: list) -> None:
        for c in commands:
            if isinstance(c, OfferContact):
                assert c.contact_id not in self.pending_offer_by_contact, f"second offer {c}"
                assert c.agent_id not in self.pending_offer_by_agent, f"two offers for {c.agent_id}"
                self.pending_offer_by_contact[c.contact_id] = c.agent_id
                self.pending_offer_by_agent[c.agent_id] = c.contact_id
            elif isinstance(c, (WithdrawOffer, ConnectContact)):
                assert self.pending_offer_by_contact.get(c.contact_id) == c.agent_id, c
                self.clear_offer(c.contact_id)
                if isinstance(c, ConnectContact):
                    self.answered.add(c.contact_id)
            elif isinstance(c, ContactFinished):
                assert c.contact_id in self.arrived, c
                assert c.contact_id not in self.finished, f"finished twice: {c}"
                self.finished[c.contact_id] = c.outcome.value
                self.clear_offer(c.contact_id)
                # Answered once, answered: also a returned child who then left or overflowed.
                assert (c.outcome.value == "answered") == (c.contact_id in self.answered), c
                assert (c.answered_at is not None) == (c.contact_id in self.answered), c
            elif isinstance(c, OverflowContact):
                assert c.reason in ("queue_full", "max_wait")
                if c.reason == "max_wait":
                    # Never before its maximum wait, counted from its last return if any.
                    since = self.returned.get(c.contact_id, self.relaxing[c.contact_id][0])
                    assert self.now >= since + SETTINGS.max_wait_s, c

    def clear_offer(self, contact_id: str) -> None:
        agent_id = self.pending_offer_by_contact.pop(contact_id, None)
        if agent_id is not None:
            self.pending_offer_by_agent.pop(agent_id, None)

    def logged_in(self) -> list[str]:
        return sorted(a.agent_id for a in self.acd.agents())

    def connected(self, channel: Channel | None = None) -> list[Contact]:
        return sorted(
            (
                c
                for c in self.acd.contacts()
                if c.state is ContactState.CONNECTED and channel in (None, c.channel)
            ),
            key=lambda c: c.seq,
        )

    def offered(self) -> list[Contact]:
        return sorted(
            (c for c in self.acd.contacts() if c.state is ContactState.OFFERED),
            key=lambda c: c.seq,
        )

    # -- rules

    @rule(
        agent=st.sampled_from(AGENT_IDS),
        skills=st.sampled_from(SKILL_SETS),
        languages=st.sampled_from(LANGUAGE_SETS),
        max_chats=st.integers(1, 3),
        reachable=st.booleans(),
    )
    def login(self, agent, skills, languages, max_chats, reachable):
        self.feed(AgentLoggedIn(agent, "utrecht", skills, languages, max_chats, reachable))

    @rule(agent=st.sampled_from(AGENT_IDS))
    def ready(self, agent):
        self.feed(AgentReady(agent))

    @rule(agent=st.sampled_from(AGENT_IDS), reason=st.sampled_from(["break", "training"]))
    def pause(self, agent, reason):
        self.feed(AgentPaused(agent, reason))

    @rule(agent=st.sampled_from(AGENT_IDS))
    def logout(self, agent):
        self.feed(AgentLoggedOut(agent))

    # Rules aimed at volunteers who are logged in, so that contacts wait for a speaker who
    # is ringing or wrapping up, and that speaker then steps away.
    @precondition(lambda self: self.logged_in())
    @rule(data=st.data())
    def someone_gets_ready(self, data):
        self.feed(AgentReady(data.draw(st.sampled_from(self.logged_in()))))

    @precondition(lambda self: self.logged_in())
    @rule(data=st.data(), leave=st.booleans())
    def someone_steps_away(self, data, leave):
        agent = data.draw(st.sampled_from(self.logged_in()))
        self.feed(AgentLoggedOut(agent) if leave else AgentPaused(agent))

    @rule(agent=st.sampled_from(AGENT_IDS), reachable=st.booleans())
    def reachability(self, agent, reachable):
        self.feed(AgentReachability(agent, reachable))

    @rule(agent=st.sampled_from(AGENT_IDS), on=st.booleans())
    def coaching(self, agent, on):
        # Logged in or not, ready or not, ringing or busy: a supervisor starts or ends one.
        self.feed(CoachingStarted(agent) if on else CoachingEnded(agent))
        if on:
            assert agent not in self.pending_offer_by_agent, f"{agent} rings while coaching"

    @rule(agent=st.sampled_from(AGENT_IDS))
    def end_wrap_up(self, agent):
        self.feed(WrapUpEnded(agent))

    @rule(
        channel=st.sampled_from(list(Channel)),
        peer=st.booleans(),
        language=st.sampled_from([None, "nl", "en"]),
        priority=st.integers(0, 2),
        mode=st.sampled_from(RELAX_MODES),
    )
    def arrive(self, channel, peer, language, priority, mode="default"):
        self.next_contact += 1
        cid = f"c{self.next_contact}"
        self.arrived.add(cid)
        skills = frozenset({"peer_chat"}) if peer and channel is Channel.CHAT else frozenset()
        before = self.acd.waiting_count(channel)
        overflowed_before = sum(1 for v in self.finished.values() if v == "overflowed")
        lang = {} if language is None else {"language": SETTINGS.language_wait_s}
        prefer, escalate = {
            "default": (None, None),
            "required": ({}, None),
            "short": ({"language": 3.1} if language else {}, None),
            "escalate_peer": (None, {"peer_chat": PEER_ESCALATION_S} if skills else None),
        }[mode]
        waits = {**(escalate or {}), **(lang if prefer is None else prefer)}
        self.relaxing[cid] = (self.now, waits, frozenset(lang if prefer is None else prefer))
        self.feed(ContactArrived(cid, channel, skills, language, priority, prefer, escalate))
        # An arrival that must wait is admitted only while its channel's queue has room;
        # a contact put back after a failed offer keeps its place even past the limit.
        held = {c.contact_id: c for c in self.acd.contacts()}
        if cid in held and held[cid].state is ContactState.QUEUED:
            assert before < SETTINGS.max_queue_length
        overflowed_now = sum(1 for v in self.finished.values() if v == "overflowed")
        if self.finished.get(cid) == "overflowed":
            assert before >= SETTINGS.max_queue_length
            assert overflowed_now == overflowed_before + 1

    @precondition(lambda self: self.offered())
    @rule(data=st.data())
    def answer(self, data):
        contact = data.draw(st.sampled_from(self.offered()))
        self.feed(OfferAccepted(contact.contact_id, contact.agent_id))

    @precondition(lambda self: self.offered())
    @rule(data=st.data(), reason=st.sampled_from(list(OfferFailure)))
    def fail(self, data, reason):
        contact = data.draw(st.sampled_from(self.offered()))
        self.feed(OfferFailed(contact.contact_id, contact.agent_id, reason))

    @precondition(lambda self: self.arrived - set(self.finished))
    @rule(data=st.data())
    def hang_up(self, data):
        cid = data.draw(st.sampled_from(sorted(self.arrived - set(self.finished))))
        self.feed(ContactEnded(cid))

    @precondition(lambda self: self.connected(Channel.PHONE))
    @rule(data=st.data())
    def volunteer_gone(self, data):
        contact = data.draw(st.sampled_from(self.connected(Channel.PHONE)))
        cid, agent_id, channel = contact.contact_id, contact.agent_id, contact.channel
        self.feed(ContactReturned(cid, agent_id or ""))
        assert cid in self.returned
        agent = self.acd.agent(agent_id or "")
        assert cid not in agent.contacts
        assert agent.state is AgentState.WRAP_UP  # SETTINGS has a wrap-up; a call is one contact
        # It was offered at once, or waits first in line for the volunteers who could take it.
        after = self.acd.contact(cid)
        if after.state is ContactState.QUEUED:
            assert after.returned_at == self.now
            waiting_returned = [
                c
                for c in self.acd.contacts()
                if c.state is ContactState.QUEUED
                and c.returned_at is not None
                and c.channel is channel
            ]
            # Behind earlier returns only (one at this very instant may come first by seq).
            assert self.acd.queue_position(cid) <= len(waiting_returned)

    @precondition(lambda self: any(c.channel is Channel.PHONE for c in self.offered()))
    @rule(data=st.data())
    def answered_then_gone(self, data):
        # Calls are rarely connected at a random step; this makes returns common enough.
        phones = [c for c in self.offered() if c.channel is Channel.PHONE]
        contact = data.draw(st.sampled_from(phones))
        self.feed(OfferAccepted(contact.contact_id, contact.agent_id or ""))
        self.volunteer_gone(_Pick(self.acd.contact(contact.contact_id)))

    @rule(agent=st.sampled_from(AGENT_IDS), data=st.data())
    def stale_return(self, agent, data):
        # Races: the volunteer's phone drops as the child hangs up, or the drop is reported twice.
        if not self.arrived:
            return
        cid = data.draw(st.sampled_from(sorted(self.arrived)))
        self.feed(ContactReturned(cid, agent))

    @rule(agent=st.sampled_from(AGENT_IDS), data=st.data())
    def stale_answer(self, agent, data):
        # Races with the outside world: answers for offers that are not (or no longer) current.
        if not self.arrived:
            return
        cid = data.draw(st.sampled_from(sorted(self.arrived)))
        self.feed(OfferAccepted(cid, agent))

    @rule(dt=st.sampled_from([0.0, 0.5, 1.0, 3.0, 7.5, 12.0, 30.0]))
    def advance(self, dt):
        target = self.now + dt
        while (deadline := self.acd.next_deadline()) is not None and deadline <= target:
            self.now = max(self.now, deadline)
            self.log.append(("timer", self.now))
            self.observe(self.acd.handle_timer(self.now))
        self.now = target

    # -- invariants

    @invariant()
    def fair_offers(self):
        assert self.acd.violations == []

    @invariant()
    def offers_match_state(self):
        for contact in self.acd.contacts():
            if contact.state is ContactState.OFFERED:
                agent = self.acd.agent(contact.agent_id)
                assert agent.offer == contact.contact_id
                assert self.pending_offer_by_contact.get(contact.contact_id) == agent.agent_id
        for agent in self.acd.agents():
            if agent.offer is not None:
                assert self.acd.contact(agent.offer).state is ContactState.OFFERED
            assert len(agent.contacts) <= agent.max_chats
            if agent.in_call():
                assert len(agent.contacts) == 1

    @invariant()
    def nothing_is_offered_to_a_supervisor_who_coaches(self):
        for agent in self.acd.agents():
            assert agent.coaching == (agent.agent_id in self.acd.coaching)
            if agent.coaching:
                assert agent.offer is None, f"{agent.agent_id} is offered while coaching"

    @invariant()
    def no_idle_volunteer_while_a_takeable_contact_waits(self):
        waiting = [c for c in self.acd.contacts() if c.state is ContactState.QUEUED]
        for agent in self.acd.agents():
            caps = agent.capabilities()
            if caps is None:
                continue
            for contact in waiting:
                assert not contact.requires <= caps, (
                    f"{agent.agent_id} ({agent.state.value}) idle while {contact.contact_id} waits"
                )

    @invariant()
    def no_contact_waits_past_its_relaxation_while_someone_could_take_it(self):
        free = [(a, a.capabilities()) for a in self.acd.agents()]
        for contact in self.acd.contacts():
            if contact.state is not ContactState.QUEUED:
                continue
            arrived, waits, _preferred = self.relaxing[contact.contact_id]
            due = {name for name, wait in waits.items() if arrived + wait <= self.now}
            needed = contact_requirements(
                contact.channel,
                contact.skills - due,
                None if "language" in due else contact.language,
            )
            for agent, caps in free:
                assert caps is None or not needed <= caps, (
                    f"{contact.contact_id} waits past its relaxation while {agent.agent_id} is free"
                )

    @invariant()
    def a_preference_holds_only_while_someone_who_meets_it_may_soon_be_free(self):
        soon = []
        for agent in self.acd.agents():
            if agent.pending_pause is not None or agent.pending_logout or agent.coaching:
                continue
            if agent.state in (AgentState.AVAILABLE, AgentState.OFFERED, AgentState.WRAP_UP):
                soon.append(agent.caps_any if agent.phone_reachable else agent.caps_chat)
            elif (
                agent.state is AgentState.BUSY
                and len(agent.contacts) < agent.max_chats
                and not agent.in_call()
            ):
                soon.append(agent.caps_chat)
        for contact in self.acd.contacts():
            if contact.state is ContactState.CONNECTED:
                continue
            _arrived, _waits, preferred = self.relaxing[contact.contact_id]
            if preferred - contact.relaxed:
                assert any(contact.requires <= caps for caps in soon), (
                    f"{contact.contact_id} keeps a preference nobody may soon meet"
                )

    @invariant()
    def no_contact_waits_past_its_maximum(self):
        # Counted from arrival, or from its last return: a returned child never overflows at once.
        for contact in self.acd.contacts():
            if contact.state is ContactState.QUEUED:
                assert contact.waiting_since() + SETTINGS.max_wait_s > self.now, contact.contact_id
            assert (contact.returned_at is not None) == (contact.contact_id in self.returned)

    @invariant()
    def every_contact_is_held_or_finished_once(self):
        held = {c.contact_id for c in self.acd.contacts()}
        assert held.isdisjoint(self.finished)
        assert held | set(self.finished) == self.arrived

    def teardown(self):
        # Snapshot round trip: the restored core continues identically.
        restored = Acd.from_snapshot(
            json.loads(json.dumps(self.acd.snapshot())),
            SETTINGS,
            strategy_by_name(self.acd.strategy.name),
        )
        assert restored.snapshot() == self.acd.snapshot()
        assert restored.next_deadline() == self.acd.next_deadline()
        # Every contact ends: hang up whatever is left and check all are accounted for.
        for contact in sorted(self.acd.contacts(), key=lambda c: c.seq):
            cmds = self.acd.handle(ContactEnded(contact.contact_id), self.now)
            twin = restored.handle(ContactEnded(contact.contact_id), self.now)
            assert cmds == twin
            self.observe(cmds)
        assert set(self.finished) == self.arrived
        assert set(self.finished.values()) <= {"answered", "abandoned", "overflowed"}


AcdMachine.TestCase.settings = settings(
    max_examples=400,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestAcdProperties = AcdMachine.TestCase


class StaffedAcdMachine(AcdMachine):
    """The same rules and invariants, from a shift already at work with children waiting.

    From an empty start calls are seldom connected at a random step; here they often are, so
    volunteers going missing mid-call (and returned children) are common.
    """

    @initialize(
        staff=st.integers(1, 4),
        priorities=st.lists(st.integers(0, 2), min_size=1, max_size=6),
    )
    def shift_at_work(self, staff, priorities):
        for i, agent in enumerate(AGENT_IDS[:staff]):
            self.login(agent, frozenset({"phone", "chat"}), LANGUAGE_SETS[i % 3], 2, True)
            self.ready(agent)
        for priority in priorities:
            self.arrive(Channel.PHONE, False, None, priority)


StaffedAcdMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestStaffedAcdProperties = StaffedAcdMachine.TestCase


def test_state_machine_is_not_vacuous():
    """The machine above reaches offers, answers and overflows (guards against a dead harness)."""
    machine = AcdMachine()
    machine.login("v0", frozenset({"phone", "chat"}), frozenset({"nl"}), 2, True)
    machine.ready("v0")
    machine.arrive(Channel.PHONE, False, None, 0)
    assert machine.pending_offer_by_agent == {"v0": "c1"}
    machine.advance(7.5)
    assert machine.pending_offer_by_agent == {"v0": "c1"}  # re-offered to the only volunteer
    machine.fair_offers()
    machine.teardown()
    assert machine.finished == {"c1": "abandoned"}


@pytest.mark.parametrize("strategy", ["longest_idle", "fewest_contacts_today"])
def test_strategies_keep_the_invariants(strategy):
    machine = AcdMachine()
    machine.acd = FairnessCheckingAcd(SETTINGS, strategy_by_name(strategy))
    machine.acd.violations = []
    for i, agent in enumerate(AGENT_IDS):
        machine.login(agent, SKILL_SETS[i % 4], LANGUAGE_SETS[i % 3], 2, True)
        machine.ready(agent)
    for _ in range(12):
        machine.arrive(Channel.PHONE, False, None, 0)
        machine.arrive(Channel.CHAT, False, "nl", 1)
    machine.fair_offers()
    machine.no_idle_volunteer_while_a_takeable_contact_waits()
    machine.teardown()


def test_relaxation_invariants_are_not_vacuous():
    """A preference held while its speaker rings elsewhere, then dropped when they pause."""
    machine = AcdMachine()
    machine.login("v0", frozenset({"phone"}), frozenset({"en"}), 1, True)
    machine.ready("v0")
    machine.arrive(Channel.PHONE, False, None, 0)  # c1 rings at v0
    machine.login("v1", frozenset({"phone"}), frozenset({"nl"}), 1, True)
    machine.ready("v1")
    machine.arrive(Channel.PHONE, False, "en", 0, "default")  # c2 waits for v0
    assert machine.acd.contact("c2").state is ContactState.QUEUED
    machine.no_contact_waits_past_its_relaxation_while_someone_could_take_it()
    machine.a_preference_holds_only_while_someone_who_meets_it_may_soon_be_free()
    machine.pause("v0", "break")
    assert machine.pending_offer_by_agent["v1"] == "c1"  # c1 first: it waited longer
    machine.advance(SETTINGS.language_wait_s)
    machine.a_preference_holds_only_while_someone_who_meets_it_may_soon_be_free()
    assert machine.acd.contact("c2").relaxed == {"language"}
    machine.teardown()


class _Pick:
    """Stands in for ``st.data()`` when a test calls a rule itself: draws the value given."""

    def __init__(self, value: object) -> None:
        self.value = value

    def draw(self, strategy: object) -> object:
        return self.value


def test_returns_are_not_vacuous():
    """A returned child waits first in line, ahead of a waiting contact of higher priority."""
    machine = AcdMachine()
    machine.login("v0", frozenset({"phone"}), frozenset({"nl"}), 1, True)
    machine.ready("v0")
    machine.arrive(Channel.PHONE, False, None, 0)  # c1 rings at v0
    machine.answer(_Pick(machine.offered()[0]))
    machine.arrive(Channel.PHONE, False, None, 2)  # c2 waits
    machine.volunteer_gone(_Pick(machine.connected(Channel.PHONE)[0]))
    assert machine.returned == {"c1": machine.now}
    assert [machine.acd.queue_position(c) for c in ("c1", "c2")] == [1, 2]
    machine.no_contact_waits_past_its_maximum()
    machine.login("v1", frozenset({"phone"}), frozenset({"nl"}), 1, True)
    machine.ready("v1")
    assert machine.pending_offer_by_agent == {"v1": "c1"}
    machine.fair_offers()
    machine.teardown()
    assert machine.finished == {"c1": "answered", "c2": "abandoned"}
