"""Where the machines' outputs go, inside a step.

An ACD command for a contact becomes an event for its session; a session's ``ToAcd`` becomes
work for the core; a record goes to the record sink and its observers; a transfer's or a
coaching's news goes to their observers; a closed session is dropped. Every other command is
an effect: held until the step's journal entries are written, then handed over, dialling
first, to the effector registered for its type (``add_effector``) or to Asterisk's.
Built on ``engine.base``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from acd import commands as cmd
from engine.base import EngineBase
from engine.protocols import ChatEffector, Effector
from session import chat_commands as cc
from session import commands as sc
from session import events as se
from session.chat import ChatSession
from session.errors import ChatRefused
from session.machine import ContactSession
from session.referral import Referral

log = logging.getLogger(__name__)

_DIALLING = (sc.Originate, sc.Hangup)
"""Effects handed over first in a step (see ``Engine._hand_over_effects``)."""


class Dispatch(EngineBase):
    """Turns the machines' outputs into work, records, observer news and held effects."""

    def add_effector(self, types: tuple[type, ...], effector: Effector | ChatEffector) -> None:
        """Hand the effects of these types to ``effector`` (the chat hub takes
        ``session.chat_commands.CHAT_EFFECT_TYPES``); any other effect goes to ``effector``
        given at construction (Asterisk's)."""
        self._effectors.append((types, effector.submit))

    # ------------------------------------------------------------------ machine outputs

    def _acd_commands(self, commands: list[cmd.Command]) -> None:
        for command in commands:
            if isinstance(command, cmd.OfferContact):
                # A chat's offer reaches the workspace on the live bus; its session notes it.
                token = self.acd.contact(command.contact_id).offer_token
                offer = se.AcdOffer(command.agent_id, token, command.ring_timeout_s)
                self._to_live_session(command.contact_id, offer)
            elif isinstance(command, cmd.WithdrawOffer):
                self._to_live_session(command.contact_id, se.AcdWithdraw(command.agent_id))
            elif isinstance(command, cmd.ConnectContact):
                self._to_live_session(command.contact_id, se.AcdConnect(command.agent_id))
            elif isinstance(command, cmd.OverflowContact):
                self._to_live_session(command.contact_id, se.AcdOverflow(command.reason))
            elif isinstance(command, cmd.ContactFinished):
                self._finished(command)
            elif isinstance(command, cmd.AgentStateChanged):
                log.info("volunteer %s is %s", command.agent_id, command.state.value)

    def _to_live_session(self, contact_id: str, event: se.Event) -> None:
        if self.session_of(contact_id) is not None:
            self.to_session(contact_id, event)
        else:
            log.warning("no session for contact %s (%s)", contact_id, type(event).__name__)

    def _finished(self, done: cmd.ContactFinished) -> None:
        if done.answered_at is not None:
            self.waits.record_answered(done.answered_at - done.arrived_at)
            self.waits.record_handled(
                done.ended_at - done.answered_at + self.acd.settings.wrap_up_s
            )
        if self.session_of(done.contact_id) is not None:
            self.to_session(done.contact_id, se.AcdFinished(done))
        else:
            self._write_record(done, self.default_line_id, done.language or "nl", None)

    def _write_record(
        self,
        done: cmd.ContactFinished,
        line_id: str,
        language: str,
        referral: Referral | None,
        channel: str | None = None,
    ) -> None:
        if self.records is not None:
            self.records.submit(done, line_id, language, referral=referral, channel=channel)
        for observer in self.record_observers:
            try:
                observer(done, line_id, language, referral, channel)
            except Exception:  # an observer's bug must not stop the line
                log.exception("record observer failed")

    def _session_commands(self, session: ContactSession, commands: list[sc.Command]) -> None:
        for command in commands:
            if isinstance(command, sc.ToAcd):
                self.to_acd(command.event, session.contact_id)
            elif isinstance(command, sc.WriteRecord):
                self._write_record(
                    command.done, command.line_id, command.language, command.referral
                )
            elif isinstance(command, sc.TransferChanged):
                self._notify(self.transfer_observers, command.view)
            elif isinstance(command, sc.CoachingChanged):
                self._notify(self.coaching_observers, command.view)
            elif isinstance(command, sc.SessionClosed):
                self.sessions.pop(command.contact_id, None)
                self._callers.pop(session.caller_channel, None)
            else:
                self._held.append(command)

    @staticmethod
    def _notify(observers: list[Callable[[Any], None]], news: object) -> None:
        for observer in observers:
            try:
                observer(news)
            except Exception:  # an observer's bug must not stop the line
                log.exception("observer failed")

    def _chat_event(self, chat: ChatSession, event: se.Event) -> None:
        try:
            commands = chat.handle(event, self._now)  # type: ignore[arg-type]
        except ChatRefused as exc:  # news the chat cannot place: not worth the whole step
            log.warning("chat %s: %s", chat.contact_id, exc)
            return
        self._chat_commands(chat, commands)

    def _chat_commands(self, session: ChatSession, commands: list[Any]) -> None:
        for command in commands:
            if isinstance(command, sc.ToAcd):
                self.to_acd(command.event, session.contact_id)
            elif isinstance(command, sc.WriteRecord):
                self._write_record(
                    command.done, command.line_id, command.language, None, command.channel
                )
            elif isinstance(command, sc.SessionClosed):
                self.chats.pop(command.contact_id, None)
            else:
                self._held.append(command)

    def _hand_over_effects(self) -> None:
        held, self._held = self._held, []
        # Dialling first (hang-ups of older legs keep their place before it): a
        # volunteer's phone starts ringing before the caller is answered and held. The
        # lanes are per leg and per contact, so every lane keeps its order.
        for effect in sorted(held, key=lambda e: not isinstance(e, _DIALLING)):
            submit = self._effector_for(effect)
            if submit is not None:
                submit(effect)

    def _effector_for(self, effect: object) -> Callable[[Any], None] | None:
        for types, submit in self._effectors:
            if isinstance(effect, types):
                return submit
        if isinstance(effect, cc.CHAT_EFFECT_TYPES):
            return None  # no chat hub (tests, a phone-only helpline)
        return self.effector.submit if self.effector is not None else None
