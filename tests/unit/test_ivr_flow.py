"""The per-call IVR machine: whole command lists and state histories at a fake ``now``."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ivr.errors import IllegalTransition, InvalidEvent
from ivr.flow import (
    TRANSITIONS,
    CallEntered,
    CallerGone,
    Connected,
    DigitPressed,
    Enqueue,
    Hangup,
    IvrCall,
    IvrState,
    Overflowed,
    Play,
    PromptFinished,
    QueueUpdate,
    StartHold,
    StopHold,
    StopPlayback,
    required_prompt_ids,
)
from ivr.ivr_config import IvrSection, LineMenu
from ivr.prompt_texts import PROMPT_IDS

S = IvrState
MENU = LineMenu(options={"1": "nl", "2": "en"})
MENU_PROMPTS = ("menu_nl_1", "menu_en_2")
OPEN = CallEntered(language="nl", open=True)


def call(**settings) -> IvrCall:
    return IvrCall("c1", IvrSection(**settings))


def pid(n: int) -> str:
    return f"c1-p{n}"


def finish(c: IvrCall, n: int, now: float) -> list:
    return c.handle(PromptFinished(pid(n)), now)


# -- open line --------------------------------------------------------------------------------


def test_welcome_then_queue_then_comfort_cycle():
    c = call(comfort_every_s=45)
    assert c.handle(OPEN, 0) == [Play(pid(1), ("welcome",), "nl")]
    assert c.next_deadline() is None
    assert finish(c, 1, 6) == [Enqueue("nl"), StartHold()]
    assert c.next_deadline() == 51
    assert c.handle_timer(50.9) == []
    assert c.handle_timer(51) == [StopHold(), Play(pid(2), ("comfort",), "nl")]
    assert c.next_deadline() is None
    assert finish(c, 2, 55) == [StartHold()]
    assert c.next_deadline() == 100
    assert c.history == [S.NEW, S.WELCOME, S.QUEUED, S.COMFORT, S.QUEUED]


def test_no_welcome_no_menu_goes_straight_to_the_queue():
    c = call(welcome=False)
    assert c.handle(OPEN, 0) == [Enqueue("nl"), StartHold()]
    assert c.history == [S.NEW, S.QUEUED]


def test_menu_choice_after_the_welcome_sets_the_language():
    c = call()
    c.handle(CallEntered(language="nl", open=True, menu=MENU), 0)
    assert finish(c, 1, 5) == [Play(pid(2), MENU_PROMPTS, "nl")]
    assert finish(c, 2, 8) == []
    assert c.next_deadline() == 13  # timeout_s = 5
    assert c.handle(DigitPressed("2"), 9) == [Enqueue("en"), StartHold()]
    assert c.language == "en"
    assert c.handle_timer(54) == [StopHold(), Play(pid(3), ("comfort",), "en")]
    assert c.history == [S.NEW, S.WELCOME, S.MENU, S.MENU_WAIT, S.QUEUED, S.COMFORT]


def test_pressing_a_key_during_the_menu_stops_it():
    c = call(welcome=False)
    assert c.handle(CallEntered(language="nl", open=True, menu=MENU), 0) == [
        Play(pid(1), MENU_PROMPTS, "nl")
    ]
    assert c.handle(DigitPressed("1"), 1) == [StopPlayback(pid(1)), Enqueue("nl"), StartHold()]
    assert finish(c, 1, 1.1) == []  # the stopped playback's late end is ignored
    assert c.history == [S.NEW, S.MENU, S.QUEUED]


def test_a_valid_key_during_the_welcome_skips_the_menu():
    c = call()
    c.handle(CallEntered(language="nl", open=True, menu=MENU), 0)
    assert c.handle(DigitPressed("2"), 1) == [StopPlayback(pid(1)), Enqueue("en"), StartHold()]


def test_other_keys_during_the_welcome_are_ignored():
    c = call()
    c.handle(CallEntered(language="nl", open=True, menu=MENU), 0)
    assert c.handle(DigitPressed("9"), 1) == []
    assert c.state is S.WELCOME


def test_no_input_repeats_the_menu_once_then_takes_the_default():
    c = call(welcome=False)
    c.handle(CallEntered(language="nl", open=True, menu=MENU), 0)
    assert finish(c, 1, 4) == []
    assert c.handle_timer(9) == [Play(pid(2), MENU_PROMPTS, "nl")]
    assert finish(c, 2, 13) == []
    assert c.handle_timer(18) == [Enqueue("nl"), StartHold()]
    assert c.history == [S.NEW, S.MENU, S.MENU_WAIT, S.MENU, S.MENU_WAIT, S.QUEUED]


def test_a_wrong_key_repeats_the_menu_then_the_menus_default_language():
    c = call(welcome=False)
    menu = LineMenu(options={"1": "nl", "2": "en"}, default_language="en")
    c.handle(CallEntered(language="nl", open=True, menu=menu), 0)
    assert c.handle(DigitPressed("7"), 1) == [
        StopPlayback(pid(1)),
        Play(pid(2), MENU_PROMPTS, "nl"),
    ]
    assert finish(c, 2, 5) == []
    assert c.handle(DigitPressed("#"), 6) == [Enqueue("en"), StartHold()]


def test_position_is_announced_only_when_it_improved():
    c = call(welcome=False, comfort_every_s=30)
    c.handle(OPEN, 0)
    assert c.handle(QueueUpdate(5), 1) == []
    assert c.handle_timer(30) == [StopHold(), Play(pid(1), ("comfort", "position_5"), "nl")]
    assert c.handle(QueueUpdate(6), 31) == []  # someone with priority came in
    assert finish(c, 1, 35) == [StartHold()]
    assert c.handle_timer(65)[1] == Play(pid(2), ("comfort",), "nl")
    finish(c, 2, 70)
    c.handle(QueueUpdate(5), 71)
    assert c.handle_timer(100)[1] == Play(pid(3), ("comfort",), "nl")  # same as said: not again
    finish(c, 3, 104)
    c.handle(QueueUpdate(2), 105)
    assert c.handle_timer(134)[1] == Play(pid(4), ("comfort", "position_2"), "nl")


def test_position_beyond_the_maximum_or_while_ringing_is_not_announced():
    c = call(welcome=False, comfort_every_s=30, max_announced_position=10)
    c.handle(OPEN, 0)
    c.handle(QueueUpdate(11), 1)
    assert c.handle_timer(30)[1] == Play(pid(1), ("comfort",), "nl")
    finish(c, 1, 33)
    c.handle(QueueUpdate(0), 34)
    assert c.handle_timer(63)[1] == Play(pid(2), ("comfort",), "nl")


def test_expected_wait_is_added_when_enabled_and_never_grows():
    c = call(welcome=False, comfort_every_s=30, announce_expected_wait=True)
    c.handle(OPEN, 0)
    c.handle(QueueUpdate(3, expected_wait_s=250), 1)
    assert c.handle_timer(30)[1] == Play(pid(1), ("comfort", "position_3", "wait_4_minutes"), "nl")
    finish(c, 1, 34)
    c.handle(QueueUpdate(3, expected_wait_s=400), 35)  # fewer volunteers now
    assert c.handle_timer(64)[1] == Play(pid(2), ("comfort",), "nl")
    finish(c, 2, 68)
    c.handle(QueueUpdate(1, expected_wait_s=9000), 69)  # capped at 30, but longer than said
    assert c.handle_timer(98)[1] == Play(pid(3), ("comfort", "position_1"), "nl")


def test_announcements_can_be_switched_off():
    c = call(welcome=False, comfort_every_s=30, announce_position=False)
    c.handle(OPEN, 0)
    c.handle(QueueUpdate(3, expected_wait_s=250), 1)
    assert c.handle_timer(30)[1] == Play(pid(1), ("comfort",), "nl")


# -- closed line ------------------------------------------------------------------------------

TUESDAY_22 = datetime(2024, 5, 14, 22, 0)  # a Tuesday


@pytest.mark.parametrize(
    ("opens_at", "when"),
    [
        (datetime(2024, 5, 15, 14, 0), ("opens_tomorrow", "at_hour_14")),
        (datetime(2024, 5, 14, 23, 30), ("opens_today", "at_23_30")),
        (datetime(2024, 5, 17, 9, 15), ("opens_on_friday", "at_09_30")),  # rounded up
        (datetime(2024, 5, 14, 23, 45), ("opens_tomorrow", "at_hour_0")),  # past midnight
        (datetime(2024, 5, 30, 14, 0), ()),  # too far off to say
        (None, ()),
    ],
)
def test_closed_message_is_composed_and_then_hangs_up(opens_at, when):
    c = call()
    entered = CallEntered(language="nl", open=False, opens_at=opens_at, local_now=TUESDAY_22)
    prompts = ("closed", *when, "forum", "danger_112", "goodbye")
    assert c.handle(entered, 0) == [Play(pid(1), prompts, "nl")]
    assert c.next_deadline() is None
    assert c.handle(DigitPressed("1"), 3) == []
    assert finish(c, 1, 20) == [Hangup("closed")]
    assert c.handle(CallerGone(), 20.1) == []
    assert c.history == [S.NEW, S.CLOSED, S.ENDED]


def test_closed_message_tells_about_veilig_thuis_when_configured():
    c = call(veilig_thuis_out_of_hours=True)
    out = c.handle(CallEntered(language="en", open=False, menu=MENU), 0)
    assert out == [Play(pid(1), ("closed", "forum", "danger_112", "veilig_thuis", "goodbye"), "en")]


# -- overflow, connect, hang-up ---------------------------------------------------------------


def test_overflow_stops_the_music_plays_the_message_and_hangs_up():
    c = call(welcome=False)
    c.handle(OPEN, 0)
    assert c.handle(Overflowed("queue_full"), 0.1) == [
        StopHold(),
        Play(pid(1), ("overflow", "forum", "danger_112", "goodbye"), "nl"),
    ]
    assert c.next_deadline() is None
    assert c.handle(QueueUpdate(0), 0.2) == []
    assert finish(c, 1, 12) == [Hangup("overflow")]
    assert c.ended


def test_overflow_during_the_comfort_message_stops_that():
    c = call(welcome=False, comfort_every_s=30)
    c.handle(OPEN, 0)
    c.handle_timer(30)
    assert c.handle(Overflowed("max_wait"), 31)[:1] == [StopPlayback(pid(1))]


@pytest.mark.parametrize("at", ["hold", "comfort", "welcome", "menu_wait"])
def test_connected_stops_everything_and_nothing_follows(at):
    c = call(welcome=at == "welcome", comfort_every_s=30)
    c.handle(CallEntered(language="nl", open=True, menu=MENU if at == "menu_wait" else None), 0)
    expected = {
        "hold": [StopHold()],
        "welcome": [StopPlayback(pid(1))],
        "menu_wait": [],
    }
    if at == "comfort":
        c.handle_timer(30)
        expected["comfort"] = [StopPlayback(pid(1))]
    if at == "menu_wait":
        finish(c, 1, 3)
    assert c.handle(Connected(), 40) == expected[at]
    assert c.next_deadline() is None
    assert c.handle_timer(1000) == []
    for late in (PromptFinished(pid(1)), QueueUpdate(1), DigitPressed("1"), CallerGone()):
        assert c.handle(late, 1001) == []
    assert c.history[-1] is S.ENDED


def test_caller_gone_ends_without_commands():
    c = call(welcome=False)
    c.handle(OPEN, 0)
    assert c.handle(CallerGone(), 5) == []
    assert c.ended and c.next_deadline() is None
    assert c.handle(Overflowed("max_wait"), 6) == []  # the ACD's late news


# -- errors -----------------------------------------------------------------------------------


def test_illegal_events_raise_named_errors():
    c = call()
    with pytest.raises(IllegalTransition, match="ignore is not allowed in state new"):
        c.handle(PromptFinished("x"), 0)
    c.handle(OPEN, 0)
    with pytest.raises(IllegalTransition):
        c.handle(OPEN, 1)  # twice
    with pytest.raises(IllegalTransition):
        c.handle(QueueUpdate(1), 1)  # not queued yet
    with pytest.raises(IllegalTransition):
        c.handle(Overflowed("queue_full"), 1)
    assert c.history == [S.NEW, S.WELCOME]


def test_invalid_events_are_refused():
    c = call()
    with pytest.raises(InvalidEvent):
        c.handle(CallEntered(language="", open=True), 0)
    with pytest.raises(InvalidEvent):
        c.handle(CallEntered(language="nl", open=False, opens_at=TUESDAY_22), 0)
    c.handle(OPEN, 0)
    with pytest.raises(InvalidEvent):
        c.handle(DigitPressed("x"), 1)
    with pytest.raises(InvalidEvent):
        c.handle("nonsense", 1)  # type: ignore[arg-type]


# -- invariants over random event orders ------------------------------------------------------


def _track(out: list, playing: set[str], holding: bool) -> bool:
    """Follow what the channel plays; return whether hold music is on."""
    for command in out:
        if isinstance(command, Play):
            playing.add(command.playback_id)
        elif isinstance(command, StopPlayback):
            playing.discard(command.playback_id)
        elif isinstance(command, StartHold):
            assert not holding, "hold started twice"
            holding = True
        elif isinstance(command, StopHold):
            assert holding, "hold stopped while not on"
            holding = False
    return holding


@pytest.mark.parametrize("seed", range(200))
def test_never_silent_and_nothing_after_the_end(seed):
    rng = random.Random(seed)
    c = call(welcome=rng.random() < 0.5, comfort_every_s=10, announce_expected_wait=True)
    menu = MENU if rng.random() < 0.5 else None
    now = 0.0
    playing: set[str] = set()
    holding = _track(c.handle(CallEntered("nl", rng.random() < 0.8, menu), now), playing, False)
    for _ in range(40):
        now += rng.uniform(0.1, 8)
        options = ["timer", "timer", "digit", "finish", "finish"]
        if c.state in (S.QUEUED, S.COMFORT):
            options += ["update", "update"]
            if rng.random() < 0.1:
                options += ["overflow", "connect"]
        if rng.random() < 0.03:
            options.append("gone")
        kind = rng.choice(options)
        ended_before = c.ended
        if kind == "timer":
            deadline = c.next_deadline()
            out = c.handle_timer(now) if deadline is not None and deadline <= now else []
        elif kind == "digit":
            out = c.handle(DigitPressed(rng.choice("0123*#")), now)
        elif kind == "finish":
            done = rng.choice(sorted(playing)) if playing else "stale"
            playing.discard(done)
            out = c.handle(PromptFinished(done), now)
        elif kind == "update":
            out = c.handle(QueueUpdate(rng.randint(0, 25), rng.choice([None, 100.0])), now)
        elif kind == "overflow":
            out = c.handle(Overflowed("max_wait"), now)
        elif kind == "connect":
            out = c.handle(Connected(), now)
        else:
            out = c.handle(CallerGone(), now)
        holding = _track(out, playing, holding)
        if ended_before:
            assert out == []
        if c.ended:
            assert c.next_deadline() is None
            assert all(isinstance(x, (Hangup, StopHold, StopPlayback)) for x in out)
            continue
        # Alive: hold music, a prompt of ours, or the bounded wait for a menu key.
        assert holding or c._playing in playing or c.state is S.MENU_WAIT, (c.state, out)
        assert not (holding and c._playing is not None), "music and a prompt at once"
        if c.state is S.MENU_WAIT:
            assert c.next_deadline() is not None


def test_every_state_but_the_end_can_end():
    for row in TRANSITIONS.values():
        assert S.ENDED in row.values()
    assert set(TRANSITIONS) == set(IvrState)


def test_required_prompts_exist_in_the_catalogue():
    full = IvrSection(veilig_thuis_out_of_hours=True, announce_expected_wait=True)
    ids = required_prompt_ids(full, [MENU, None])
    assert set(ids) <= set(PROMPT_IDS)
    assert {"welcome", "veilig_thuis", "position_20", "wait_30_minutes", "menu_en_2"} <= set(ids)
    lean = required_prompt_ids(IvrSection(welcome=False, announce_position=False), [None])
    assert "welcome" not in lean and "position_1" not in lean and "menu_nl_1" not in lean


def test_closed_message_with_aware_times_from_the_opening_hours():
    # ivr.hours gives UTC; the adapter passes both times in the helpline's zone.
    tz = ZoneInfo("Europe/Amsterdam")
    now = datetime(2024, 3, 30, 22, 30, tzinfo=UTC).astimezone(tz)  # Sat 23:30 local
    opens = datetime(2024, 3, 31, 12, 0, tzinfo=UTC).astimezone(tz)  # Sun 14:00 (DST began)
    c = call()
    out = c.handle(CallEntered("nl", open=False, opens_at=opens, local_now=now), 0)
    assert out[0].prompts[:3] == ("closed", "opens_tomorrow", "at_hour_14")


def test_a_caller_found_waiting_after_a_restart_gets_comfort_again():
    from ivr.flow import IvrCall, IvrState, Play, PromptFinished, StartHold, StopHold
    from ivr.ivr_config import IvrSection

    call = IvrCall("c0ffee00-0000-4000-8000-000000000001", IvrSection(comfort_every_s=30))
    call.resume_waiting("nl", now=1000.0)
    assert call.state is IvrState.QUEUED
    assert call.next_deadline() == 1030.0  # nothing now: the hold music still plays
    commands = call.handle_timer(1030.0)
    assert isinstance(commands[0], StopHold)
    assert isinstance(commands[1], Play) and commands[1].prompts[0] == "comfort"
    assert call.handle(PromptFinished(commands[1].playback_id), 1035.0) == [StartHold()]
