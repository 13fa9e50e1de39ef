"""The phone contacts' sessions, inside a step: opened, adopted, and asked for things.

A caller's session is kept (and its IVR started) when the call arrives, or rebuilt by
reconciliation with Asterisk; a volunteer's transfer steps and a supervisor's coaching reach
the session of the call the volunteer is in. A refusal raises before anything changes. After
reconciliation the core's coaching marks are made to agree with the sessions' coachings.
Built on ``engine.dispatch``, which takes what the sessions answer.
"""

from __future__ import annotations

import logging

import acd
from engine.dispatch import Dispatch
from ivr import flow
from session import commands as sc
from session import events as se
from session.coaching_states import CoachingView
from session.errors import CoachingRefused, TransferRefused
from session.machine import ContactSession
from session.transfer import TransferView

log = logging.getLogger(__name__)


class Calls(Dispatch):
    """The phone sessions' lifecycle and the volunteers' and supervisors' requests on a call."""

    def open_session(self, session: ContactSession, entered: flow.CallEntered) -> None:
        """A caller arrived: keep its session and start its IVR."""
        self.sessions[session.contact_id] = session
        self._callers[session.caller_channel] = session.contact_id
        self._session_commands(session, session.begin(entered, self._now))

    def adopt_session(self, session: ContactSession) -> None:
        """Reconciliation rebuilt a session from Asterisk's lists (nothing to play)."""
        self.sessions[session.contact_id] = session
        self._callers[session.caller_channel] = session.contact_id

    def contact_of_caller(self, channel_id: str) -> str | None:
        return self._callers.get(channel_id)

    def phone_session(self, agent_id: str) -> ContactSession | None:
        """The session of the phone contact the volunteer is connected with, if any."""
        try:
            agent = self.acd.agent(agent_id)
        except acd.UnknownAgent:
            return None
        for contact_id, channel in agent.contacts.items():
            if channel is acd.Channel.PHONE and contact_id in self.sessions:
                return self.sessions[contact_id]
        return None

    def volunteer_request(self, agent_id: str, event: se.Event) -> TransferView | None:
        """Apply a volunteer's request (a transfer step) to their call's session, inside a
        step (``call``); returns the call's transfer as it is now. Raises ``TransferRefused``
        when there is no call or the session refuses; nothing has changed then."""
        session = self.phone_session(agent_id)
        if session is None:
            raise TransferRefused("no_call", "you are not in a call with a child")
        self._session_commands(session, session.handle(event, self._now))
        transfer = session.transfer
        return None if transfer is None else transfer.view(session.contact_id)

    def coaching_request(self, agent_id: str, event: se.Event) -> CoachingView:
        """Apply a supervisor's coaching request or step to the call of volunteer
        ``agent_id``, inside a step (``call``); returns the coaching as it is now. Raises
        ``CoachingRefused``; nothing has changed then."""
        session = self.phone_session(agent_id)
        if session is None:
            raise CoachingRefused("no_call", "the volunteer is not in a call with a child")
        if isinstance(event, se.CoachingRequested) and any(
            s.coaching is not None
            and s.coaching.active
            and s.coaching.supervisor_id == event.supervisor_id
            for s in self.sessions.values()
        ):
            raise CoachingRefused("coaching_in_progress", "you are coaching another call")
        self._session_commands(session, session.handle(event, self._now))
        assert session.coaching is not None  # a request the session accepted made one
        return session.coaching.view()

    def settle_coachings(self) -> None:
        """Make the core's coaching marks (no offers to a supervisor who coaches) agree with
        the coachings the sessions hold, once reconciliation's work is applied: after a
        restart of ours no coaching is rebuilt, and a step that failed may have lost a mark's
        start or end. Without this a supervisor could stay out of routing for ever."""
        coaching = {
            s.coaching.supervisor_id
            for s in self.sessions.values()
            if s.coaching is not None and s.coaching.active
        }
        marked = self.acd.coaching
        for supervisor_id in sorted(marked - coaching):
            log.info("supervisor %s coaches no call any more", supervisor_id)
            self.to_acd(acd.CoachingEnded(supervisor_id))
        for supervisor_id in sorted(coaching - marked):
            self.to_acd(acd.CoachingStarted(supervisor_id))

    def publish_transfer(self, session: ContactSession) -> None:
        """Tell the transfer observers where a session's transfer is (reconciliation found
        one in progress: the live bus knew nothing of it after a restart)."""
        if session.transfer is not None:
            self._session_commands(
                session, [sc.TransferChanged(session.transfer.view(session.contact_id))]
            )
