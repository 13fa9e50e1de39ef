"""What a contact session asks for: effects on Asterisk, and words for the engine.

Effects carry the contact id so the effector can report the outcome back to the right
session (``EffectFailed``). ``ToAcd``, ``WriteRecord`` and ``SessionClosed`` are for the engine.
"""

from __future__ import annotations

from acd import Event as AcdEvent
from acd.commands import ContactFinished
from acd.record import record
from session.coaching_states import CoachingView
from session.ids import LegRole
from session.referral import Referral
from session.transfer import TransferView


@record
class Answer:
    """Answer the caller's channel."""

    contact_id: str
    """The contact."""
    channel_id: str
    """The caller's channel."""


@record
class Originate:
    """Dial a party; the new channel enters our application when it answers."""

    contact_id: str
    """The contact."""
    channel_id: str
    """The leg's id (``session.ids.leg_id``)."""
    role: LegRole
    """Whom we dial."""
    endpoint: str
    """E.g. ``PJSIP/noor``."""
    timeout_s: int
    """Give up ringing after this long (the ACD's own ring timeout fires first)."""
    originator: str
    """The caller's channel (for codecs and linked ids; never its identity)."""
    caller_id: str
    """What the dialled phone shows: the helpline's own name and number, never the child's."""
    variables: tuple[tuple[str, str], ...] = ()
    """Channel variables for the new channel (a partner leg's caller id presentation)."""


@record
class Hangup:
    """Hang up a channel of this contact."""

    contact_id: str
    """The contact."""
    channel_id: str
    """The channel."""


@record
class CreateBridge:
    """Create one of this contact's bridges (an existing one is used as it is)."""

    contact_id: str
    """The contact."""
    bridge_id: str
    """``hold-<contact>`` or ``talk-<contact>``."""
    kind: str
    """``holding`` or ``mixing``."""


@record
class AddToBridge:
    """Put channels in a bridge."""

    contact_id: str
    """The contact."""
    bridge_id: str
    """The bridge."""
    channel_ids: tuple[str, ...]
    """The channels."""


@record
class RemoveFromBridge:
    """Take a channel out of a bridge."""

    contact_id: str
    """The contact."""
    bridge_id: str
    """The bridge."""
    channel_id: str
    """The channel."""


@record
class DeleteBridge:
    """Destroy a bridge of this contact."""

    contact_id: str
    """The contact."""
    bridge_id: str
    """The bridge."""


@record
class Play:
    """Play prompts to the caller, on its channel or in its holding bridge."""

    contact_id: str
    """The contact."""
    on_bridge: bool
    """True: play in ``target_id`` as a bridge; False: on the channel ``target_id``."""
    target_id: str
    """The caller's channel or the holding bridge."""
    media: tuple[str, ...]
    """Media URIs (``sound:helpline/welcome``)."""
    playback_id: str
    """Our id for the playback (``<contact>-p<n>``)."""
    language: str
    """Language of the prompts."""


@record
class StopPlayback:
    """Stop a playback."""

    contact_id: str
    """The contact."""
    playback_id: str
    """The playback."""


@record
class StartMoh:
    """Start music on hold for the caller."""

    contact_id: str
    """The contact."""
    on_bridge: bool
    """As in ``Play``."""
    target_id: str
    """The caller's channel or the holding bridge."""


@record
class StopMoh:
    """Stop music on hold."""

    contact_id: str
    """The contact."""
    on_bridge: bool
    """As in ``Play``."""
    target_id: str
    """The caller's channel or the holding bridge."""


@record
class RecheckPhone:
    """Look at a volunteer's phone registration again after a while (an originate failed)."""

    contact_id: str
    """The contact whose offer failed."""
    agent_id: str
    """The volunteer."""
    after_s: float
    """How long to wait first."""


@record
class Snoop:
    """Make a snoop channel on the volunteer's leg (coaching); it enters our application."""

    contact_id: str
    """The contact."""
    channel_id: str
    """The snoop channel's id (``session.ids.snoop_id``)."""
    target_id: str
    """The volunteer's leg it spies on and whispers to."""
    spy: str
    """Audio to hear: ``both`` (the child and the volunteer)."""
    whisper: str
    """Where the supervisor's voice goes: ``none`` (listen) or ``out`` (to the volunteer's
    phone only: whisper)."""


@record
class CoachingChanged:
    """A coaching moved on: for the live state bus (the supervisors' screens)."""

    view: CoachingView
    """The coaching as it is now."""


@record
class ToAcd:
    """An event for the ACD, queued behind the current input."""

    event: AcdEvent
    """The event."""


@record
class WriteRecord:
    """Write the contact's anonymous record."""

    done: ContactFinished
    """The ACD's account."""
    line_id: str
    """The line the child called."""
    language: str
    """The language the child was served in."""
    referral: Referral | None = None
    """The partner the child was put through to, if any."""
    channel: str | None = None
    """The record's channel when it is not the ACD's (``peer_chat``); ``None``: the ACD's
    (``phone`` or ``chat``)."""


@record
class TransferChanged:
    """A transfer moved on: for the live state bus (the volunteer's screen, the wallboard)."""

    view: TransferView
    """The transfer as it is now."""


@record
class SessionClosed:
    """The session is over; the engine forgets it."""

    contact_id: str
    """The contact."""


Effect = (
    Answer
    | Originate
    | Hangup
    | CreateBridge
    | AddToBridge
    | RemoveFromBridge
    | DeleteBridge
    | Play
    | StopPlayback
    | StartMoh
    | StopMoh
    | RecheckPhone
    | Snoop
)
Command = Effect | ToAcd | WriteRecord | TransferChanged | CoachingChanged | SessionClosed

EFFECT_TYPES: tuple[type, ...] = (
    Answer,
    Originate,
    Hangup,
    CreateBridge,
    AddToBridge,
    RemoveFromBridge,
    DeleteBridge,
    Play,
    StopPlayback,
    StartMoh,
    StopMoh,
    RecheckPhone,
    Snoop,
)
