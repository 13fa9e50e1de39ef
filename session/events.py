"""What the engine tells a contact session: facts from Asterisk, words from the ACD.

Frozen, slotted records. Channel events come from a router (``ari_app.router``); ``Acd*``
events are the ACD's commands for this contact, translated by the engine.
"""

from __future__ import annotations

from acd import Event as AcdEvent
from acd.commands import ContactFinished
from acd.record import record


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
)
