"""What the engine tells a contact session: facts from Asterisk, words from the ACD.

Frozen, slotted records. Channel events come from a router (``ari_app.router``); ``Acd*``
events are the ACD's commands for this contact, translated by the engine.
"""

from __future__ import annotations

from acd import Event as AcdEvent
from acd.commands import ContactFinished
from acd.record import record
from session.coaching_states import CoachMode
from session.transfer import PartnerDial, TransferMode


@record
class LegAnswered:
    """A leg we dialled answered (its channel entered our Stasis application)."""

    channel_id: str
    """The leg's channel id."""


@record
class LegGone:
    """A channel of this contact hung up or left our application."""

    channel_id: str
    """The caller's channel or one of our legs."""
    cause: int | None = None
    """Q.850 cause, when Asterisk gave one."""


@record
class CallerDigit:
    """The caller pressed a key."""

    digit: str
    """``0``-``9``, ``*`` or ``#``."""


@record
class PromptDone:
    """A prompt of this contact's IVR finished playing."""

    playback_id: str
    """The playback id the IVR chose."""


@record
class AcdOffer:
    """The ACD offers the contact to a volunteer: ring their phone."""

    agent_id: str
    """The volunteer."""
    token: int
    """The ACD's offer token: names the leg, so a late event of an older offer is told apart."""
    ring_timeout_s: float
    """How long the ACD lets it ring."""


@record
class AcdWithdraw:
    """The ACD withdrew the offer (timed out, paused, logged out)."""

    agent_id: str
    """The volunteer whose phone rings."""


@record
class AcdConnect:
    """The volunteer answered and the ACD gave them the contact: join the parties."""

    agent_id: str
    """The volunteer."""


@record
class AcdOverflow:
    """The ACD gave up on the contact: play the overflow message."""

    reason: str
    """``queue_full`` or ``max_wait``."""


@record
class AcdFinished:
    """The ACD released the contact: write its record and clean up."""

    done: ContactFinished
    """The ACD's own account of it."""


@record
class AcdRefused:
    """The ACD refused an event this session sent it (a race the session lost)."""

    event: AcdEvent
    """The refused event."""


@record
class EffectFailed:
    """A command of this session could not be carried out."""

    command: object
    """The session command that failed."""
    kind: str
    """``not_found`` (a normal race: the channel or bridge is gone), ``conflict``,
    ``timeout``, ``unavailable`` or ``error``."""


@record
class TransferRequested:
    """The volunteer asks to add a partner (the child consented; the partner is open)."""

    agent_id: str
    """The volunteer asking: must be the one with the child."""
    partner: PartnerDial
    """Whom to ring, from the directory."""
    mode: TransferMode
    """Consult first, or straight into the conference."""
    region: str | None = None
    """The partner's region the child named, if any."""
    hold_music: bool = True
    """Music for the child while on hold; ``False``: silence."""


@record
class TransferStep:
    """The volunteer's next step in the transfer: conference, leave, stay or cancel."""

    agent_id: str
    """The volunteer: must be the one who started the transfer."""
    step: str
    """A key of ``session.transfer.STEPS``."""


@record
class CoachingRequested:
    """A supervisor asks to listen to, whisper to or barge into a volunteer's call."""

    supervisor_id: str
    """The supervisor: their phone (``PJSIP/<id>``) is rung."""
    agent_id: str
    """The volunteer whose call it is."""
    mode: CoachMode
    """Listen, whisper or barge (switchable later)."""


@record
class CoachingStep:
    """A supervisor switches the coaching's mode, or stops it."""

    supervisor_id: str
    """Who asks (any supervisor may change or stop a colleague's coaching)."""
    mode: CoachMode | None
    """The new mode; ``None``: stop."""


Event = (
    LegAnswered
    | LegGone
    | CallerDigit
    | PromptDone
    | AcdOffer
    | AcdWithdraw
    | AcdConnect
    | AcdOverflow
    | AcdFinished
    | AcdRefused
    | EffectFailed
    | TransferRequested
    | TransferStep
    | CoachingRequested
    | CoachingStep
)
