"""Coaching: a supervisor listens to, whispers to, or barges into a volunteer's call.

One coaching per contact at a time, as a transition table like the transfer's:
``COACHING_TRANSITIONS[state][trigger] -> state``; a missing pair is refused
(``CoachingRefused("not_allowed")``). The supervisor's phone is rung as a volunteer's is for
an offer (``PJSIP/<supervisor>``); once it answers:

- **listen**: a snoop channel on the volunteer's leg spies on both directions (the child and
  the volunteer) and sits with the supervisor's leg in the coach bridge; nothing the
  supervisor says goes anywhere;
- **whisper**: the same, and the snoop whispers the supervisor's voice *out* to the volunteer's
  phone only: it never enters the talk bridge, so the child does not hear it;
- **barge**: the supervisor's leg joins the talk bridge; all three hear each other.

A snoop channel's directions are fixed when it is made, so switching between listen and
whisper replaces it (``spy-<contact>-<n>``, ``n`` counting up); a late snoop of an older mode
is hung up when it shows up. The coaching ends when the supervisor stops it or hangs up, when
the volunteer leaves the call, or when the call ends; its supervisor leg, snoop channel and
coach bridge go with it. The supervisor's leg never counts as a party of the conversation:
a volunteer who hangs up ends the child's call as without a supervisor.

The core hears of it (``acd.CoachingStarted`` when her phone is rung for it, and
``acd.CoachingEnded`` on every way it ends, both through ``_end``): her phone is busy with
the coaching, so the core offers her no child meanwhile, even if she is ready. After a restart
of ours no coaching is rebuilt; the engine ends the core's marks that no session holds then.

Sans-IO: the session (``session.machine``) feeds it and appends what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import acd
from session import commands as c
from session.coaching_states import (
    SNOOP_DIRECTIONS,
    SUPERVISOR_RING_S,
    CoachingState,
    CoachingTrigger,
    CoachingView,
    CoachMode,
    next_coaching_state,
)
from session.errors import CoachingRefused
from session.events import CoachingRequested, CoachingStep
from session.ids import LegRole, coach_bridge_id, leg_id, snoop_id

T = CoachingTrigger

Commands = list[c.Command]


@dataclass(slots=True)
class Coaching:
    """One coaching of one contact (kept after it ends, until the next one starts)."""

    contact_id: str
    talk_bridge: str
    supervisor_id: str
    agent_id: str
    volunteer_leg: str
    """The coached volunteer's leg: what the snoop channel listens to."""
    supervisor_leg: str
    n: int
    """Numbers the supervisor leg: one more than the contact's previous coaching's."""
    mode: CoachMode
    started_at: float
    updated_at: float
    state: CoachingState = CoachingState.RINGING
    reason: str = ""
    snoop: str | None = None
    """The current snoop channel (listen and whisper only)."""
    snoops: int = 0
    """Snoop channels made so far (numbers the next one)."""
    history: list[CoachingState] = field(default_factory=lambda: [CoachingState.RINGING])

    @classmethod
    def start(
        cls,
        contact_id: str,
        talk_bridge: str,
        n: int,
        *,
        supervisor_id: str,
        agent_id: str,
        volunteer_leg: str,
        mode: CoachMode,
        originator: str,
        caller_id: str,
        now: float,
    ) -> tuple[Coaching, Commands]:
        """Ring the supervisor's phone (the ``n``-th supervisor leg of this contact)."""
        leg = leg_id(LegRole.SUPERVISOR, contact_id, n)
        coaching = cls(
            contact_id, talk_bridge, supervisor_id, agent_id, volunteer_leg, leg, n, mode, now, now
        )
        dial = c.Originate(
            contact_id,
            leg,
            LegRole.SUPERVISOR,
            f"PJSIP/{supervisor_id}",
            SUPERVISOR_RING_S,
            originator,
            caller_id,
        )
        # Before the dial: a child's call must not be offered to her phone as it rings for this.
        busy = c.ToAcd(acd.CoachingStarted(supervisor_id))
        return coaching, [busy, dial, c.CoachingChanged(coaching.view())]

    @property
    def active(self) -> bool:
        return self.state is not CoachingState.ENDED

    @property
    def coach_bridge(self) -> str:
        return coach_bridge_id(self.contact_id)

    def owns(self, channel_id: str) -> bool:
        """Whether the channel is this coaching's supervisor leg or one of its snoops."""
        return channel_id == self.supervisor_leg or channel_id.startswith(f"spy-{self.contact_id}-")

    def view(self) -> CoachingView:
        return CoachingView(
            self.contact_id,
            self.supervisor_id,
            self.agent_id,
            self.mode.value,
            self.state.value,
            self.reason,
            self.started_at,
            self.updated_at,
        )

    # ------------------------------------------------------------------ events

    def answered(self, channel_id: str, now: float) -> Commands:
        """A channel of ours entered Stasis: the supervisor's leg or a snoop channel."""
        out: Commands = []
        if channel_id != self.supervisor_leg:
            if self.active and channel_id == self.snoop and self.mode is not CoachMode.BARGE:
                out.append(c.AddToBridge(self.contact_id, self.coach_bridge, (channel_id,)))
            else:  # a snoop of an older mode, or of a coaching that is over
                out.append(c.Hangup(self.contact_id, channel_id))
            return out
        if self.state is not CoachingState.RINGING:
            out.append(c.Hangup(self.contact_id, channel_id))
            return out
        self._move(T.SUPERVISOR_ANSWERED, now)
        if self.mode is CoachMode.BARGE:
            out.append(c.AddToBridge(self.contact_id, self.talk_bridge, (self.supervisor_leg,)))
        else:
            self._listen(out)
        out.append(c.CoachingChanged(self.view()))
        return out

    def gone(self, channel_id: str, reason_if_ringing: str, now: float) -> Commands:
        """A channel of this coaching ended (``reason_if_ringing``: why the phone did not
        answer, from its cause)."""
        out: Commands = []
        if channel_id == self.snoop:
            # Asterisk ends a snoop with the channel it spies on: the volunteer's leg ends too,
            # and that ends the coaching. Nothing to do until then.
            self.snoop = None
            return out
        if channel_id != self.supervisor_leg or not self.active:
            return out
        ringing = self.state is CoachingState.RINGING
        reason = reason_if_ringing if ringing else "supervisor_left"
        self._end(T.SUPERVISOR_GONE, reason, now, out, hang_up_supervisor=False)
        return out

    def set_mode(self, mode: CoachMode, now: float) -> Commands:
        out: Commands = []
        was = self.mode
        self._move(T.MODE, now)
        self.mode = mode
        if self.state is CoachingState.ACTIVE and mode is not was:
            sup = self.supervisor_leg
            if mode is CoachMode.BARGE:
                self._drop_snoop(out)
                out.append(c.RemoveFromBridge(self.contact_id, self.coach_bridge, sup))
                out.append(c.AddToBridge(self.contact_id, self.talk_bridge, (sup,)))
                out.append(c.DeleteBridge(self.contact_id, self.coach_bridge))
            elif was is CoachMode.BARGE:
                out.append(c.RemoveFromBridge(self.contact_id, self.talk_bridge, sup))
                self._listen(out)
            else:  # listen <-> whisper: a snoop's directions are fixed; make a new one
                self._drop_snoop(out)
                self._new_snoop(out)
        out.append(c.CoachingChanged(self.view()))
        return out

    def stop(self, now: float) -> Commands:
        out: Commands = []
        self._end(T.STOP, "stopped", now, out)
        return out

    def volunteer_gone(self, now: float) -> Commands:
        out: Commands = []
        if self.active:
            self._end(T.VOLUNTEER_GONE, "volunteer_left", now, out)
        return out

    def call_ended(self, now: float) -> Commands:
        out: Commands = []
        if self.active:
            self._end(T.CALL_ENDED, "call_ended", now, out)
        return out

    # ------------------------------------------------------------------ effects

    def _listen(self, out: Commands) -> None:
        out.append(c.CreateBridge(self.contact_id, self.coach_bridge, "mixing"))
        out.append(c.AddToBridge(self.contact_id, self.coach_bridge, (self.supervisor_leg,)))
        self._new_snoop(out)

    def _new_snoop(self, out: Commands) -> None:
        self.snoops += 1
        self.snoop = snoop_id(self.contact_id, self.snoops)
        spy, whisper = SNOOP_DIRECTIONS[self.mode]
        out.append(c.Snoop(self.contact_id, self.snoop, self.volunteer_leg, spy, whisper))

    def _drop_snoop(self, out: Commands) -> None:
        if self.snoop is not None:
            out.append(c.Hangup(self.contact_id, self.snoop))
            self.snoop = None

    def _end(
        self,
        trigger: CoachingTrigger,
        reason: str,
        now: float,
        out: Commands,
        *,
        hang_up_supervisor: bool = True,
    ) -> None:
        self._move(trigger, now)
        self.reason = reason
        self._drop_snoop(out)
        if hang_up_supervisor:
            out.append(c.Hangup(self.contact_id, self.supervisor_leg))
        # Unconditional: a coach bridge of a mode switched away from is already gone (a 404).
        out.append(c.DeleteBridge(self.contact_id, self.coach_bridge))
        out.append(c.ToAcd(acd.CoachingEnded(self.supervisor_id)))  # offers may reach her again
        out.append(c.CoachingChanged(self.view()))

    def _move(self, trigger: CoachingTrigger, now: float) -> None:
        new = next_coaching_state(self.state, trigger)
        self.updated_at = now
        if new is not self.state:
            self.state = new
            self.history.append(new)

    def effect_failed(self, failed: c.Originate | c.Snoop, kind: str, now: float) -> Commands:
        """The supervisor's phone could not be dialled, or the snoop could not be made."""
        out: Commands = []
        # After a timeout the request may have reached Asterisk: the channel may exist.
        maybe_made = kind in ("timeout", "unavailable")
        current = self.active and failed.channel_id in (self.supervisor_leg, self.snoop)
        if isinstance(failed, c.Snoop) and not current:
            if maybe_made:  # a snoop of an older mode or coaching
                out.append(c.Hangup(self.contact_id, failed.channel_id))
            return out
        if not current:
            return out
        if isinstance(failed, c.Originate):
            self._end(T.SUPERVISOR_GONE, "unreachable", now, out, hang_up_supervisor=maybe_made)
        else:
            if not maybe_made:
                self.snoop = None
            # The supervisor would hear nothing: say so rather than pretend.
            self._end(T.STOP, "failed", now, out)
        return out


def request_coaching(
    current: Coaching | None,
    ev: CoachingRequested,
    volunteer_leg: str | None,
    *,
    contact_id: str,
    talk_bridge: str,
    originator: str,
    caller_id: str,
    now: float,
) -> tuple[Coaching, Commands]:
    """Start a coaching of the call (``volunteer_leg``: the volunteer's leg if they are
    talking with the child, else ``None``); ``CoachingRefused`` leaves ``current`` as it was."""
    if volunteer_leg is None:
        raise CoachingRefused("no_call", "the volunteer is not in a call with a child")
    if ev.supervisor_id == ev.agent_id:
        raise CoachingRefused("not_allowed", "you cannot coach your own call")
    if current is not None and current.active:
        raise CoachingRefused("coaching_in_progress", "this call is being coached already")
    return Coaching.start(
        contact_id,
        talk_bridge,
        current.n + 1 if current is not None else 1,
        supervisor_id=ev.supervisor_id,
        agent_id=ev.agent_id,
        volunteer_leg=volunteer_leg,
        mode=ev.mode,
        originator=originator,
        caller_id=caller_id,
        now=now,
    )


def step_coaching(current: Coaching | None, ev: CoachingStep, now: float) -> Commands:
    """Switch the mode of the call's coaching, or stop it."""
    if current is None or not current.active:
        raise CoachingRefused("no_coaching", "there is no coaching on this call")
    return current.stop(now) if ev.mode is None else current.set_mode(ev.mode, now)
