"""A volunteer's side of the distributor: log-in, ready, pause, log-out and wrap-up.

The volunteers' own events (``AgentLoggedIn``, ``AgentReady``, ``AgentPaused``,
``AgentLoggedOut``, ``AgentReachability``, ``WrapUpEnded``), a supervisor's coaching
(``CoachingStarted``, ``CoachingEnded``: no offers meanwhile) and the steps that move a
volunteer's state for other reasons: an offer withdrawn or failed (the no-answer streak and
the automatic pause), a contact let go, and the wrap-up after the last one. A pause or a
log-out asked for mid-conversation waits for its end (``pending_pause``, ``pending_logout``).
Built on ``acd.routing``: each change puts the volunteer in the pool again or takes them out.
"""

from __future__ import annotations

from acd import commands as cmd
from acd import events as ev
from acd.base import Commands
from acd.errors import IllegalTransition, InvalidEvent
from acd.model import Agent, Contact
from acd.routing import Routing
from acd.states import AgentState, AgentTrigger, next_agent_state
from acd.timers import TimerKind


class Volunteers(Routing):
    """The volunteers' events, and the steps that move a volunteer's state."""

    # ------------------------------------------------------------------ event handlers

    def _on_login(self, e: ev.AgentLoggedIn, now: float, out: Commands) -> None:
        existing = self._agents.get(e.agent_id)
        if existing is not None:
            raise IllegalTransition(f"agent {e.agent_id}", existing.state.value, "login")
        max_chats = self.settings.max_chats if e.max_chats is None else e.max_chats
        if max_chats < 1:
            raise InvalidEvent("max_chats must be at least 1")
        agent = Agent(
            agent_id=e.agent_id,
            location_id=e.location_id,
            skills=frozenset(e.skills),
            languages=frozenset(e.languages),
            max_chats=max_chats,
            phone_reachable=e.phone_reachable,
            coaching=e.agent_id in self._coaching,
            idle_since=now,
        )
        self._agents[e.agent_id] = agent
        self._transition(agent, AgentTrigger.LOGIN, "not_ready", now, out)

    def _on_ready(self, e: ev.AgentReady, now: float, out: Commands) -> None:
        agent = self.agent(e.agent_id)
        next_agent_state(agent.agent_id, agent.state, AgentTrigger.READY)
        agent.pending_pause = None
        agent.pending_logout = False
        if agent.state in (AgentState.PAUSED, AgentState.WRAP_UP):
            agent.no_answer_streak = 0
            agent.idle_since = now
            agent.wrap_until = None
            self._transition(agent, AgentTrigger.READY, "", now, out)
        self._refresh(agent)

    def _on_pause(self, e: ev.AgentPaused, now: float, out: Commands) -> None:
        agent = self.agent(e.agent_id)
        next_agent_state(agent.agent_id, agent.state, AgentTrigger.PAUSE)
        self._pause(agent, e.reason, now, out)

    def _on_logout(self, e: ev.AgentLoggedOut, now: float, out: Commands) -> None:
        agent = self.agent(e.agent_id)
        next_agent_state(agent.agent_id, agent.state, AgentTrigger.LOGOUT)
        self._withdraw_offer(agent, "logged_out", now, out)
        if agent.state is AgentState.BUSY:
            agent.pending_logout = True
            self._refresh(agent)
            return
        self._transition(agent, AgentTrigger.LOGOUT, "", now, out)
        self._refresh(agent)
        del self._agents[agent.agent_id]

    def _on_reachability(self, e: ev.AgentReachability, now: float, out: Commands) -> None:
        agent = self.agent(e.agent_id)
        agent.phone_reachable = e.phone_reachable
        self._refresh(agent)

    def _on_wrap_up_ended(self, e: ev.WrapUpEnded, now: float, out: Commands) -> None:
        agent = self.agent(e.agent_id)
        next_agent_state(agent.agent_id, agent.state, AgentTrigger.WRAP_UP_DONE)
        self._end_wrap_up(agent, now, out)

    def _on_coaching_started(self, e: ev.CoachingStarted, now: float, out: Commands) -> None:
        _check_agent_id(e.agent_id)
        self._coaching.add(e.agent_id)
        agent = self._agents.get(e.agent_id)
        if agent is None or agent.coaching:
            return  # not logged in (a login takes it from the set), or started already
        agent.coaching = True
        if agent.offer is not None:
            # Her phone is busy with the coaching: the offer goes to the next one at once.
            self._withdraw_offer(agent, "coaching", now, out)
            self._transition(agent, AgentTrigger.OFFER_VOID, agent.reason, now, out)
        self._refresh(agent)

    def _on_coaching_ended(self, e: ev.CoachingEnded, now: float, out: Commands) -> None:
        _check_agent_id(e.agent_id)
        self._coaching.discard(e.agent_id)
        agent = self._agents.get(e.agent_id)
        if agent is None or not agent.coaching:
            return
        agent.coaching = False
        if agent.state is AgentState.AVAILABLE:
            agent.idle_since = now  # coaching is work, not idling: to the back of the line
        self._refresh(agent)

    # ------------------------------------------------------------------ shared steps

    def _pause(self, agent: Agent, reason: str, now: float, out: Commands) -> None:
        self._withdraw_offer(agent, "paused", now, out)
        if agent.state is AgentState.BUSY:
            agent.pending_pause = reason
            self._refresh(agent)
            return
        agent.wrap_until = None
        self._transition(agent, AgentTrigger.PAUSE, reason, now, out)
        self._refresh(agent)

    def _withdraw_offer(self, agent: Agent, reason: str, now: float, out: Commands) -> None:
        """Void the volunteer's pending offer and put the contact back in its place."""
        if agent.offer is None:
            return
        contact = self._contacts[agent.offer]
        agent.offer = None
        out.append(cmd.WithdrawOffer(contact.contact_id, agent.agent_id, reason))
        self._requeue(contact, now, out)

    def _offer_failed(
        self,
        contact: Contact,
        agent: Agent,
        reason: ev.OfferFailure,
        now: float,
        out: Commands,
    ) -> None:
        agent.offer = None
        contact.last_failure = reason
        if reason is ev.OfferFailure.UNREACHABLE and contact.channel is ev.Channel.PHONE:
            agent.phone_reachable = False
        counted = reason in ev.COUNTED_FAILURES
        if counted:
            agent.no_answer_streak += 1
        # To the back of the line, so a failing phone does not keep catching the same contact.
        agent.idle_since = now
        self._transition(agent, AgentTrigger.OFFER_VOID, agent.reason, now, out)
        if counted and agent.no_answer_streak >= self.settings.max_no_answer:
            self._pause(agent, "no_answer", now, out)
        self._refresh(agent)
        self._requeue(contact, now, out)

    def _let_go(self, agent: Agent, contact_id: str, now: float, out: Commands) -> None:
        """The volunteer no longer holds this contact; wrap-up if it was their last."""
        del agent.contacts[contact_id]
        if agent.contacts:
            self._transition(agent, AgentTrigger.CONTACT_ENDED, "", now, out)
            self._refresh(agent)
        else:
            self._start_wrap_up(agent, now, out)

    def _start_wrap_up(self, agent: Agent, now: float, out: Commands) -> None:
        # A chat still ringing for them goes back to its place: wrap-up takes no offers.
        self._withdraw_offer(agent, "wrap_up", now, out)
        self._transition(agent, AgentTrigger.LAST_CONTACT_ENDED, "", now, out)
        if self.settings.wrap_up_s <= 0:
            self._end_wrap_up(agent, now, out)
            return
        agent.wrap_token += 1
        agent.wrap_until = now + self.settings.wrap_up_s
        self._deadlines.add(agent.wrap_until, TimerKind.WRAP_UP, agent.agent_id, agent.wrap_token)
        self._refresh(agent)

    def _end_wrap_up(self, agent: Agent, now: float, out: Commands) -> None:
        agent.wrap_until = None
        if agent.pending_logout:
            self._transition(agent, AgentTrigger.LOGOUT, "", now, out)
            self._refresh(agent)
            del self._agents[agent.agent_id]
            return
        if agent.pending_pause is not None:
            reason, agent.pending_pause = agent.pending_pause, None
            self._transition(agent, AgentTrigger.PAUSE, reason, now, out)
        else:
            agent.idle_since = now
            self._transition(agent, AgentTrigger.WRAP_UP_DONE, "", now, out)
        self._refresh(agent)


def _check_agent_id(agent_id: object) -> None:
    if not isinstance(agent_id, str) or not agent_id:
        raise InvalidEvent(f"agent_id must be a non-empty string, got {agent_id!r}")
