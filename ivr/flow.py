"""What one caller hears until a volunteer takes the call: a sans-IO state machine.

``IvrCall.handle(event, now)`` takes an event and returns commands; ``handle_timer(now)`` fires
the one pending deadline (menu input, next comfort message) once ``now >= next_deadline()``.
No I/O, no clock: the ARI adapter plays the prompts and feeds back ``PromptFinished``.

The path of a call::

    open:    [welcome] -> [menu, once more on no/wrong key] -> Enqueue + hold music
             -> every comfort_every_s: stop hold, comfort (+ position if it improved,
                + expected wait), hold again
    closed:  closed + when we open + forum + 112 [+ Veilig Thuis] + goodbye -> Hangup
    overflow (from the ACD): overflow + forum + 112 + goodbye -> Hangup
    Connected / CallerGone, at any moment: everything stops

Never silence: in every state a prompt or the hold music plays, or the call is over. The one
exception is the menu's input wait (``LineMenu.timeout_s``, at most 30 s, bounded by a deadline)
right after the question, where a pause is what the child expects.

The adapter must send ``PromptFinished`` for a playback that failed as well as for one that
finished, or a closed-line call would never hang up. ``Connected`` emits the stop commands so the
volunteer's bridge starts clean; ``CallerGone`` emits nothing (the channel is gone already).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from ivr.announce import announced_minutes
from ivr.errors import IllegalTransition, InvalidEvent
from ivr.ivr_config import MENU_DIGITS, IvrSection, LineMenu
from ivr.prompt_texts import (
    MAX_WAIT_MINUTES,
    UNAVAILABLE,
    WEEKDAYS,
    at_time_prompt,
    menu_prompt,
    opens_on_prompt,
    position_prompt,
    wait_prompt,
)

# -- events -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallEntered:
    """A child's call was answered and is ours to talk to."""

    language: str
    """The line's language: for the welcome and the menu's default."""
    open: bool
    """Whether the helpline is open now (from the opening hours)."""
    menu: LineMenu | None = None
    """The line's language menu, if it has one."""
    opens_at: datetime | None = None
    """When closed: the next opening, local time (``None``: we do not say when)."""
    local_now: datetime | None = None
    """Local time of arrival, same zone as ``opens_at``: to say "today" or "tomorrow"."""


@dataclass(frozen=True, slots=True)
class DigitPressed:
    """The caller pressed a key (ARI ``ChannelDtmfReceived``)."""

    digit: str
    """One of ``0-9 * # A-D``."""


@dataclass(frozen=True, slots=True)
class PromptFinished:
    """A playback ended, finished or failed (ARI ``PlaybackFinished``)."""

    playback_id: str
    """The id from our ``Play``; a stopped or stale one is ignored."""


@dataclass(frozen=True, slots=True)
class QueueUpdate:
    """The ACD's news about this call's place in the queue."""

    position: int
    """1-based place among waiting calls; 0 while a volunteer's phone rings for it."""
    expected_wait_s: float | None = None
    """Estimated remaining wait (``ivr.announce``), ``None`` when unknown."""


@dataclass(frozen=True, slots=True)
class Overflowed:
    """The ACD gave the call up (queue full, waited too long)."""

    reason: str
    """``queue_full`` or ``max_wait``."""


@dataclass(frozen=True, slots=True)
class Connected:
    """A volunteer took the call: the IVR stops everything."""


@dataclass(frozen=True, slots=True)
class CallerGone:
    """The child hung up."""


Event = (
    CallEntered | DigitPressed | PromptFinished | QueueUpdate | Overflowed | Connected | CallerGone
)

# -- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Play:
    """Play these prompts one after the other as one playback (ARI media list)."""

    playback_id: str
    """Ours; ``PromptFinished`` must carry it."""
    prompts: tuple[str, ...]
    """Prompt ids; ``runtime.prompts.media_uri`` turns each into a ``sound:`` URI."""
    language: str
    """Sound language (ARI ``lang``)."""


@dataclass(frozen=True, slots=True)
class StopPlayback:
    """Stop a playback (its ``PromptFinished`` will be ignored)."""

    playback_id: str
    """The playback to stop."""


@dataclass(frozen=True, slots=True)
class StartHold:
    """Start music on hold on the caller's channel."""


@dataclass(frozen=True, slots=True)
class StopHold:
    """Stop the music on hold."""


@dataclass(frozen=True, slots=True)
class Enqueue:
    """Hand the call to the ACD (``ContactArrived``), in this language."""

    language: str
    """The language chosen in the menu, or the line's."""


@dataclass(frozen=True, slots=True)
class Hangup:
    """End the call: the message is over."""

    reason: str
    """``closed`` or ``overflow``, for the call record."""


Command = Play | StopPlayback | StartHold | StopHold | Enqueue | Hangup

# -- states and the transition table ----------------------------------------------------------


class IvrState(str, Enum):
    """Where a call is; ``ENDED`` is terminal."""

    NEW = "new"
    WELCOME = "welcome"
    MENU = "menu"
    """The menu prompt plays."""
    MENU_WAIT = "menu_wait"
    """Waiting for a key after the menu (bounded by ``timeout_s``)."""
    QUEUED = "queued"
    """In the ACD's queue, hold music playing."""
    COMFORT = "comfort"
    """In the queue, the comfort message playing instead of the music."""
    CLOSED = "closed"
    """The out-of-hours message plays."""
    OVERFLOW = "overflow"
    """The overflow message plays."""
    ENDED = "ended"


class IvrTrigger(str, Enum):
    """What moves a call between states."""

    WELCOME = "welcome"
    MENU = "menu"
    """Play the menu (the first time or once more)."""
    AWAIT_KEY = "await_key"
    ENQUEUE = "enqueue"
    COMFORT = "comfort"
    HOLD = "hold"
    """The comfort message finished: music again."""
    CLOSED = "closed"
    OVERFLOW = "overflow"
    HANGUP = "hangup"
    QUEUE_NEWS = "queue_news"
    IGNORE = "ignore"
    """A stray key, a stale playback, anything after the end: a normal race, no effect."""
    CONNECT = "connect"
    GONE = "gone"
    RESUME = "resume"
    """A caller found waiting after a restart of the app: back to the queue's routine."""


_S = IvrState
_T = IvrTrigger
_ENDINGS = {_T.CONNECT: _S.ENDED, _T.GONE: _S.ENDED}

TRANSITIONS: dict[IvrState, dict[IvrTrigger, IvrState]] = {
    _S.NEW: {
        _T.WELCOME: _S.WELCOME,
        _T.MENU: _S.MENU,
        _T.ENQUEUE: _S.QUEUED,
        _T.CLOSED: _S.CLOSED,
        _T.RESUME: _S.QUEUED,
        _T.GONE: _S.ENDED,
    },
    _S.WELCOME: {_T.MENU: _S.MENU, _T.ENQUEUE: _S.QUEUED, _T.IGNORE: _S.WELCOME, **_ENDINGS},
    _S.MENU: {
        _T.AWAIT_KEY: _S.MENU_WAIT,
        _T.MENU: _S.MENU,
        _T.ENQUEUE: _S.QUEUED,
        _T.IGNORE: _S.MENU,
        **_ENDINGS,
    },
    _S.MENU_WAIT: {_T.MENU: _S.MENU, _T.ENQUEUE: _S.QUEUED, _T.IGNORE: _S.MENU_WAIT, **_ENDINGS},
    _S.QUEUED: {
        _T.COMFORT: _S.COMFORT,
        _T.QUEUE_NEWS: _S.QUEUED,
        _T.OVERFLOW: _S.OVERFLOW,
        _T.IGNORE: _S.QUEUED,
        **_ENDINGS,
    },
    _S.COMFORT: {
        _T.HOLD: _S.QUEUED,
        _T.QUEUE_NEWS: _S.COMFORT,
        _T.OVERFLOW: _S.OVERFLOW,
        _T.IGNORE: _S.COMFORT,
        **_ENDINGS,
    },
    _S.CLOSED: {_T.HANGUP: _S.ENDED, _T.IGNORE: _S.CLOSED, **_ENDINGS},
    _S.OVERFLOW: {
        _T.HANGUP: _S.ENDED,
        _T.QUEUE_NEWS: _S.OVERFLOW,
        _T.IGNORE: _S.OVERFLOW,
        **_ENDINGS,
    },
    # After the end everything is a late race (CallerGone after Hangup, a last QueueUpdate).
    _S.ENDED: {_T.QUEUE_NEWS: _S.ENDED, _T.IGNORE: _S.ENDED, **_ENDINGS},
}

_DTMF_KEYS = MENU_DIGITS | frozenset("ABCD")
_MENU_ATTEMPTS = 2
_HALF_HOUR = timedelta(minutes=30)

# -- the machine ------------------------------------------------------------------------------


class IvrCall:
    """One call's IVR. ``call_id`` is random (never derived from the caller) and prefixes our
    playback ids, so they are unique across calls."""

    def __init__(self, call_id: str, settings: IvrSection | None = None) -> None:
        self.call_id = call_id
        self.settings = settings or IvrSection()
        self.state = IvrState.NEW
        self.history: list[IvrState] = [IvrState.NEW]
        """Every state the call has been in, in order (self-transitions not repeated)."""
        self.language = ""
        """The line's language until the menu chose another."""
        self._menu: LineMenu | None = None
        self._menu_plays = 0
        self._playing: str | None = None
        self._holding = False
        self._deadline: float | None = None
        self._seq = 0
        self._position: int | None = None
        self._wait_s: float | None = None
        self._announced_position: int | None = None
        self._announced_minutes: int | None = None

    # -------------------------------------------------------------------------- public API

    def handle(self, event: Event, now: float) -> list[Command]:
        """Apply one event at ``now``; return the commands it causes."""
        out: list[Command] = []
        if isinstance(event, CallEntered):
            self._on_entered(event, now, out)
        elif isinstance(event, DigitPressed):
            self._on_digit(event, now, out)
        elif isinstance(event, PromptFinished):
            self._on_prompt_finished(event, now, out)
        elif isinstance(event, QueueUpdate):
            self._on_queue_update(event)
        elif isinstance(event, Overflowed):
            self._on_overflowed(out)
        elif isinstance(event, Connected):
            self._on_connected(out)
        elif isinstance(event, CallerGone):
            self._end(_T.GONE)
        else:
            raise InvalidEvent(f"not an IVR event: {type(event).__name__}")
        return out

    def handle_timer(self, now: float) -> list[Command]:
        """Fire the deadline if it is due at ``now``; return the commands."""
        out: list[Command] = []
        if self._deadline is None or now < self._deadline:
            return out
        self._deadline = None
        if self.state is IvrState.MENU_WAIT:
            self._menu_again_or_default(now, out)
        elif self.state is IvrState.QUEUED:
            self._move(_T.COMFORT)
            self._holding = False
            out.append(StopHold())
            self._play(self._comfort_prompts(), out)
        return out

    def next_deadline(self) -> float | None:
        """When ``handle_timer`` must next be called, or ``None``."""
        return self._deadline

    def resume_waiting(self, language: str, now: float) -> None:
        """Take over a caller who already waits with hold music (after a restart of the app).

        Nothing is played at once: the hold music still runs in Asterisk; the next comfort
        message comes ``comfort_every_s`` from now.
        """
        self._check(_T.RESUME)
        self._move(_T.RESUME)
        self.language = language
        self._holding = True
        self._deadline = now + self.settings.comfort_every_s

    @property
    def ended(self) -> bool:
        return self.state is IvrState.ENDED

    # ---------------------------------------------------------------------- event handlers

    def _on_entered(self, e: CallEntered, now: float, out: list[Command]) -> None:
        if not e.language:
            raise InvalidEvent("CallEntered.language is empty")
        if e.opens_at is not None and e.local_now is None:
            raise InvalidEvent("CallEntered.opens_at needs local_now")
        trigger = (
            _T.CLOSED
            if not e.open
            else _T.WELCOME
            if self.settings.welcome
            else _T.MENU
            if e.menu is not None
            else _T.ENQUEUE
        )
        self._check(trigger)
        self.language = e.language
        self._menu = e.menu
        if trigger is _T.CLOSED:
            self._move(trigger)
            self._play(self._closed_prompts(e), out)
        elif trigger is _T.WELCOME:
            self._move(trigger)
            self._play(("welcome",), out)
        else:
            self._after_welcome(now, out)

    def _on_digit(self, e: DigitPressed, now: float, out: list[Command]) -> None:
        if len(e.digit) != 1 or e.digit not in _DTMF_KEYS:
            raise InvalidEvent(f"not a DTMF key: {e.digit!r}")
        menu = self._menu
        choice = menu.language_for(e.digit) if menu is not None else None
        in_menu = self.state in (IvrState.MENU, IvrState.MENU_WAIT)
        if choice is not None and (in_menu or self.state is IvrState.WELCOME):
            self._stop_playback(out)  # a child who knows the menu need not wait for it
            self._enqueue(choice, now, out)
        elif in_menu:
            self._menu_again_or_default(now, out)
        else:
            self._move(_T.IGNORE)

    def _on_prompt_finished(self, e: PromptFinished, now: float, out: list[Command]) -> None:
        if e.playback_id != self._playing:
            self._move(_T.IGNORE)
            return
        self._playing = None
        if self.state is IvrState.WELCOME:
            self._after_welcome(now, out)
        elif self.state is IvrState.MENU:
            assert self._menu is not None
            self._move(_T.AWAIT_KEY)
            self._deadline = now + self._menu.timeout_s
        elif self.state is IvrState.COMFORT:
            self._move(_T.HOLD)
            self._hold(now, out)
        elif self.state in (IvrState.CLOSED, IvrState.OVERFLOW):
            reason = "closed" if self.state is IvrState.CLOSED else "overflow"
            self._move(_T.HANGUP)
            out.append(Hangup(reason))

    def _on_queue_update(self, e: QueueUpdate) -> None:
        if e.position < 0:
            raise InvalidEvent("QueueUpdate.position must not be negative")
        self._move(_T.QUEUE_NEWS)
        self._position = e.position
        self._wait_s = e.expected_wait_s

    def _on_overflowed(self, out: list[Command]) -> None:
        trigger = _T.IGNORE if self.state is IvrState.ENDED else _T.OVERFLOW
        self._move(trigger)
        if trigger is _T.OVERFLOW:
            self._deadline = None
            self._stop_sound(out)
            self._play(("overflow", "forum", "danger_112", "goodbye"), out)

    def _on_connected(self, out: list[Command]) -> None:
        if self.state is not IvrState.ENDED:
            self._stop_sound(out)
        self._end(_T.CONNECT)

    # ------------------------------------------------------------------------------ steps

    def _after_welcome(self, now: float, out: list[Command]) -> None:
        if self._menu is not None:
            self._move(_T.MENU)
            self._play_menu(out)
        else:
            self._enqueue(self.language, now, out)

    def _play_menu(self, out: list[Command]) -> None:
        assert self._menu is not None
        self._menu_plays += 1
        prompts = tuple(menu_prompt(lang, key) for key, lang in self._menu.options.items())
        self._play(prompts, out)

    def _menu_again_or_default(self, now: float, out: list[Command]) -> None:
        assert self._menu is not None
        self._stop_playback(out)
        self._deadline = None
        if self._menu_plays < _MENU_ATTEMPTS:
            self._move(_T.MENU)
            self._play_menu(out)
        else:
            self._enqueue(self._menu.default_language or self.language, now, out)

    def _enqueue(self, language: str, now: float, out: list[Command]) -> None:
        self._move(_T.ENQUEUE)
        self.language = language
        out.append(Enqueue(language))
        self._hold(now, out)

    def _hold(self, now: float, out: list[Command]) -> None:
        self._holding = True
        out.append(StartHold())
        self._deadline = now + self.settings.comfort_every_s

    def _play(self, prompts: tuple[str, ...], out: list[Command]) -> None:
        self._seq += 1
        self._playing = f"{self.call_id}-p{self._seq}"
        out.append(Play(self._playing, prompts, self.language))

    def _stop_playback(self, out: list[Command]) -> None:
        if self._playing is not None:
            out.append(StopPlayback(self._playing))
            self._playing = None

    def _stop_sound(self, out: list[Command]) -> None:
        self._stop_playback(out)
        if self._holding:
            out.append(StopHold())
            self._holding = False

    def _end(self, trigger: IvrTrigger) -> None:
        self._move(trigger)
        self._deadline = None
        self._playing = None
        self._holding = False

    # ---------------------------------------------------------------------------- messages

    def _comfort_prompts(self) -> tuple[str, ...]:
        prompts = ["comfort"]
        s = self.settings
        pos = self._position
        if s.announce_position and pos is not None and 1 <= pos <= s.max_announced_position:
            # Only good news: a place is said when it is better than the last one said.
            if self._announced_position is None or pos < self._announced_position:
                prompts.append(position_prompt(pos))
                self._announced_position = pos
        minutes = announced_minutes(self._wait_s) if s.announce_expected_wait else None
        if minutes is not None and pos != 0:
            # Likewise never a longer wait than we said before.
            if self._announced_minutes is None or minutes <= self._announced_minutes:
                prompts.append(wait_prompt(min(minutes, MAX_WAIT_MINUTES)))
                self._announced_minutes = minutes
        return tuple(prompts)

    def _closed_prompts(self, e: CallEntered) -> tuple[str, ...]:
        prompts = ["closed", *_when_we_open(e.opens_at, e.local_now), "forum", "danger_112"]
        if self.settings.veilig_thuis_out_of_hours:
            prompts.append("veilig_thuis")
        prompts.append("goodbye")
        return tuple(prompts)

    # ------------------------------------------------------------------------- the table

    def _check(self, trigger: IvrTrigger) -> IvrState:
        try:
            return TRANSITIONS[self.state][trigger]
        except KeyError:
            raise IllegalTransition(self.call_id, self.state, trigger) from None

    def _move(self, trigger: IvrTrigger) -> None:
        new = self._check(trigger)
        if new is not self.state:
            self.state = new
            self.history.append(new)


def _when_we_open(opens_at: datetime | None, local_now: datetime | None) -> list[str]:
    """``opens_tomorrow`` + ``at_hour_14`` etc.; nothing when unknown or over a week away.

    A time off the half hour is rounded *up* to the next half hour: saying "from 14:30" for
    14:15 is safe, saying "from 14:00" would send a child to a closed line.
    """
    if opens_at is None or local_now is None:
        return []
    at = opens_at.replace(second=0, microsecond=0)
    if at != opens_at or at.minute % 30:
        at = at.replace(minute=at.minute // 30 * 30) + _HALF_HOUR
    days = (at.date() - local_now.date()).days
    if days == 0:
        day = "opens_today"
    elif days == 1:
        day = "opens_tomorrow"
    elif 2 <= days <= 6:
        day = opens_on_prompt(at.weekday())
    else:
        return []
    return [day, at_time_prompt(at.hour, at.minute)]


def required_prompt_ids(settings: IvrSection, menus: list[LineMenu | None]) -> tuple[str, ...]:
    """Every prompt a call may play with these settings and line menus: the start-up check."""
    ids = {"comfort", "closed", "opens_today", "opens_tomorrow", "forum", "danger_112"}
    ids |= {"overflow", "goodbye", UNAVAILABLE}  # unavailable: the dialplan plays it
    ids |= {f"opens_on_{day}" for day in WEEKDAYS}
    ids |= {at_time_prompt(h, m) for h in range(24) for m in (0, 30)}
    if settings.welcome:
        ids.add("welcome")
    if settings.veilig_thuis_out_of_hours:
        ids.add("veilig_thuis")
    if settings.announce_position:
        ids |= {position_prompt(n) for n in range(1, settings.max_announced_position + 1)}
    if settings.announce_expected_wait:
        ids |= {wait_prompt(m) for m in range(1, MAX_WAIT_MINUTES + 1)}
    for menu in menus:
        if menu is not None:
            ids |= {menu_prompt(lang, key) for key, lang in menu.options.items()}
    return tuple(sorted(ids))
