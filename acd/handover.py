"""Warm hand-over of a chat (``ContactHandedOver``): the rules, apart from the core's routing.

A chat connected to one volunteer goes to a colleague who could be offered it right now:
logged in and ready or holding chats with room for one more, not paused or leaving, no offer
ringing, not in a call, with every skill and language the chat still requires. The core
(``acd.contacts``) checks with ``check_hand_over`` before it changes anything, then moves the
chat with ``take_over`` and lets the old volunteer go as after ``ContactEnded``.
"""

from __future__ import annotations

from acd import events as ev
from acd.errors import InvalidEvent, NotConnected
from acd.model import Agent, Contact
from acd.states import ContactState


def check_hand_over(e: ev.ContactHandedOver, contact: Contact, to: Agent | None) -> None:
    """Raise unless ``contact`` may go from ``e.from_agent_id`` to ``to`` now."""
    if contact.state is not ContactState.CONNECTED or contact.agent_id != e.from_agent_id:
        raise NotConnected(e.contact_id, e.from_agent_id)
    if contact.channel is not ev.Channel.CHAT:
        # A call has one line and its own transfer (session.transfer), not a hand-over.
        raise InvalidEvent(f"contact {e.contact_id}: only a chat is handed over")
    if e.to_agent_id == e.from_agent_id:
        raise InvalidEvent(f"contact {e.contact_id}: handed over to the same volunteer")
    # capabilities() is what routing offers on: None while paused, leaving, offered, in a
    # call, in wrap-up or full; otherwise the tokens (skills, languages, @chat) held.
    caps = to.capabilities() if to is not None else None
    if caps is None or not contact.requires <= caps:
        raise InvalidEvent(f"contact {e.contact_id}: {e.to_agent_id} cannot take this chat now")


def take_over(contact: Contact, to: Agent) -> None:
    """``to`` holds the chat from now, and its record names them (the last holder)."""
    contact.agent_id = to.agent_id
    contact.answered_by = to.agent_id
    to.contacts[contact.contact_id] = contact.channel
    to.handled += 1
    to.no_answer_streak = 0
