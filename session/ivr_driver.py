"""The session's side of the IVR: what the caller hears until a volunteer answers.

The contact's IVR (``ivr.flow.IvrCall``) is sans-IO too and speaks of prompts, music and the
queue; ``IvrDriver`` turns its commands into effects on the caller's channel (while in the
menu) or on the holding bridge (once queued), answers the caller's channel only when there is
something to hear, hands the caller to the ACD when the IVR enqueues, and feeds it the
caller's digits and finished prompts. Built on ``session.legs``.
"""

from __future__ import annotations

import logging

import acd
from ivr import flow
from ivr.errors import IvrError
from ivr.media import media_uri
from session import commands as c
from session import events as e
from session.legs import CallLegs, Commands
from session.states import SessionState, SessionTrigger

log = logging.getLogger(__name__)


class IvrDriver(CallLegs):
    """Drives the contact's IVR: its events in, its commands out as effects."""

    def _on_digit(self, ev: e.CallerDigit, now: float, out: Commands) -> None:
        if self.ivr is not None and not self.caller_gone:
            self._ivr_event(flow.DigitPressed(ev.digit), now, out)

    def _on_prompt_done(self, ev: e.PromptDone, now: float, out: Commands) -> None:
        if self.ivr is not None:
            self._ivr_event(flow.PromptFinished(ev.playback_id), now, out)

    # ------------------------------------------------------------------ the IVR

    def _ivr_event(self, event: flow.Event, now: float, out: Commands) -> None:
        assert self.ivr is not None
        try:
            commands = self.ivr.handle(event, now)
        except IvrError as exc:
            log.warning("IVR refused %s: %s", type(event).__name__, exc)
            return
        self._ivr_commands(commands, out)

    def _ivr_commands(self, commands: list[flow.Command], out: Commands) -> None:
        for command in commands:
            if isinstance(command, flow.Play):
                self._answer(out)
                on_bridge, target = self._sound_target()
                media = tuple(media_uri(p) for p in command.prompts)
                out.append(
                    c.Play(
                        self.contact_id,
                        on_bridge,
                        target,
                        media,
                        command.playback_id,
                        command.language,
                    )
                )
            elif isinstance(command, flow.StopPlayback):
                out.append(c.StopPlayback(self.contact_id, command.playback_id))
            elif isinstance(command, flow.StartHold):
                self._answer(out)
                out.append(c.StartMoh(self.contact_id, *self._sound_target()))
            elif isinstance(command, flow.StopHold):
                out.append(c.StopMoh(self.contact_id, *self._sound_target()))
            elif isinstance(command, flow.Enqueue):
                self._enqueue(command.language, out)
            elif isinstance(command, flow.Hangup):
                self._move(SessionTrigger.IVR_DONE)
                self._clean_up(out, hang_up_caller=not self.caller_gone)

    def _enqueue(self, language: str, out: Commands) -> None:
        """Hand the caller to the ACD first (a free volunteer's phone rings at once), then
        answer and hold them while it rings."""
        self._move(SessionTrigger.ENQUEUE)
        self.language = language
        arrived = acd.ContactArrived(
            self.contact_id, acd.Channel.PHONE, language=language, priority=self.priority
        )
        out.append(c.ToAcd(arrived))
        self._answer(out)
        out.append(c.CreateBridge(self.contact_id, self.hold, "holding"))
        out.append(c.AddToBridge(self.contact_id, self.hold, (self.caller_channel,)))

    def _sound_target(self) -> tuple[bool, str]:
        if self.state is SessionState.IVR:
            return False, self.caller_channel
        return True, self.hold

    def _answer(self, out: Commands) -> None:
        if not self.answered:
            self.answered = True
            out.append(c.Answer(self.contact_id, self.caller_channel))
