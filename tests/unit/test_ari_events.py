"""ARI event parsing: realistic payloads, privacy of the types, and a fuzz of the contract
"parse it or raise MalformedAriEvent, never anything else"."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ari_app import ari_events as ev
from ari_app.errors import AriProtocolError, MalformedAriEvent
from ari_app.models import Channel

CALLER_NUMBER = "0612345678"
CALLER_NAME = "Kiddo Example"


def channel_json(channel_id: str = "1700000000.12", state: str = "Ring") -> dict[str, Any]:
    """A channel as Asterisk 22 sends it, including the caller fields we must drop."""
    return {
        "id": channel_id,
        "name": "PJSIP/trunk-00000012",
        "state": state,
        "protocol_id": "abc@127.0.0.1",
        "caller": {"name": CALLER_NAME, "number": CALLER_NUMBER},
        "connected": {"name": CALLER_NAME, "number": CALLER_NUMBER},
        "accountcode": "",
        "dialplan": {
            "context": "helpline-in",
            "exten": "116111",
            "priority": 3,
            "app_name": "Stasis",
            "app_data": "helpline,inbound,nl",
        },
        "creationtime": "2024-05-01T10:00:00.000+0000",
        "language": "nl",
    }


def bridge_json() -> dict[str, Any]:
    return {
        "id": "queue-main",
        "technology": "holding_bridge",
        "bridge_type": "holding",
        "bridge_class": "stasis",
        "creator": "Stasis",
        "name": "queue",
        "channels": ["1700000000.12"],
        "video_mode": "none",
    }


def playback_json() -> dict[str, Any]:
    return {
        "id": "pb-1",
        "media_uri": "sound:helpline/welcome",
        "target_uri": "channel:1700000000.12",
        "language": "nl",
        "state": "done",
    }


def base(event_type: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": event_type,
        "application": "helpline",
        "timestamp": "2024-05-01T10:00:01.000+0000",
        "asterisk_id": "02:42:ac:11:00:02",
        **fields,
    }


SAMPLES: dict[str, dict[str, Any]] = {
    "StasisStart": base("StasisStart", args=["inbound", "nl"], channel=channel_json()),
    "StasisEnd": base("StasisEnd", channel=channel_json()),
    "ChannelStateChange": base("ChannelStateChange", channel=channel_json(state="Up")),
    "ChannelDestroyed": base(
        "ChannelDestroyed", cause=16, cause_txt="Normal Clearing", channel=channel_json()
    ),
    "ChannelHangupRequest": base("ChannelHangupRequest", cause=16, channel=channel_json()),
    "ChannelDtmfReceived": base(
        "ChannelDtmfReceived", digit="5", duration_ms=120, channel=channel_json()
    ),
    "PlaybackStarted": base("PlaybackStarted", playback=playback_json()),
    "PlaybackFinished": base("PlaybackFinished", playback=playback_json()),
    "ChannelEnteredBridge": base(
        "ChannelEnteredBridge", bridge=bridge_json(), channel=channel_json()
    ),
    "ChannelLeftBridge": base("ChannelLeftBridge", bridge=bridge_json(), channel=channel_json()),
    "ContactStatusChange": base(
        "ContactStatusChange",
        endpoint={"technology": "PJSIP", "resource": "volunteer-17", "state": "online"},
        contact_info={
            "uri": "sip:volunteer-17@127.0.0.1:5062",
            "contact_status": "Created",
            "aor": "volunteer-17",
            "roundtrip_usec": "0",
        },
    ),
    "EndpointStateChange": base(
        "EndpointStateChange",
        endpoint={
            "technology": "PJSIP",
            "resource": "volunteer-17",
            "state": "online",
            "channel_ids": [],
        },
    ),
    "DeviceStateChanged": base(
        "DeviceStateChanged", device_state={"name": "PJSIP/volunteer-17", "state": "INUSE"}
    ),
    "Dial": base(
        "Dial",
        dialstatus="ANSWER",
        dialstring="volunteer-17",
        peer=channel_json("1700000000.13"),
        caller=channel_json(),
    ),
}


def test_samples_cover_every_known_type():
    assert set(SAMPLES) == ev.KNOWN_EVENT_TYPES


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_each_sample_parses_to_its_class_from_text_and_bytes(event_type):
    text = json.dumps(SAMPLES[event_type])
    from_text = ev.parse_event(text)
    assert type(from_text).__name__ == event_type
    assert ev.parse_event(text.encode()) == from_text
    assert ev.parse_event(SAMPLES[event_type]) == from_text
    assert from_text.application == "helpline"


def test_stasis_start_fields():
    event = ev.parse_event(SAMPLES["StasisStart"])
    assert event == ev.StasisStart(
        application="helpline",
        channel=Channel(
            id="1700000000.12",
            name="PJSIP/trunk-00000012",
            state="Ring",
            context="helpline-in",
            exten="116111",
            priority=3,
            creation_time="2024-05-01T10:00:00.000+0000",
        ),
        args=("inbound", "nl"),
    )
    assert event.exten == "116111"


def test_stasis_start_without_args_and_with_replace_channel():
    data = base("StasisStart", channel=channel_json(), replace_channel=channel_json("old.1"))
    event = ev.parse_event(data)
    assert isinstance(event, ev.StasisStart)
    assert event.args == ()
    assert event.replace_channel_id == "old.1"


def test_field_values_of_other_events():
    destroyed = ev.parse_event(SAMPLES["ChannelDestroyed"])
    assert isinstance(destroyed, ev.ChannelDestroyed)
    assert (destroyed.cause, destroyed.cause_txt) == (16, "Normal Clearing")

    dtmf = ev.parse_event(SAMPLES["ChannelDtmfReceived"])
    assert isinstance(dtmf, ev.ChannelDtmfReceived)
    assert (dtmf.digit, dtmf.duration_ms) == ("5", 120)

    finished = ev.parse_event(SAMPLES["PlaybackFinished"])
    assert isinstance(finished, ev.PlaybackFinished)
    assert finished.playback.id == "pb-1"
    assert finished.playback.media_uri == "sound:helpline/welcome"
    assert finished.playback.target_uri == "channel:1700000000.12"

    entered = ev.parse_event(SAMPLES["ChannelEnteredBridge"])
    assert isinstance(entered, ev.ChannelEnteredBridge)
    assert entered.bridge.id == "queue-main"
    assert entered.bridge.channel_ids == ("1700000000.12",)

    endpoint = ev.parse_event(SAMPLES["EndpointStateChange"])
    assert isinstance(endpoint, ev.EndpointStateChange)
    assert (endpoint.technology, endpoint.resource, endpoint.state) == (
        "PJSIP",
        "volunteer-17",
        "online",
    )
    assert endpoint.endpoint.online

    dial = ev.parse_event(SAMPLES["Dial"])
    assert isinstance(dial, ev.Dial)
    assert dial.dialstatus == "ANSWER"
    assert dial.peer.id == "1700000000.13"
    assert dial.caller_channel is not None and dial.caller_channel.id == "1700000000.12"

    hangup = ev.parse_event(SAMPLES["ChannelHangupRequest"])
    assert isinstance(hangup, ev.ChannelHangupRequest)
    assert (hangup.cause, hangup.soft) == (16, False)


def test_unknown_event_keeps_only_its_type():
    data = base(
        "ChannelCallerId",
        caller_presentation=0,
        caller_presentation_txt="Presentation Allowed",
        channel=channel_json(),
    )
    event = ev.parse_event(data)
    assert event == ev.UnknownEvent(type="ChannelCallerId", application="helpline")


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_no_caller_identity_survives_parsing(event_type):
    event = ev.parse_event(SAMPLES[event_type])
    assert CALLER_NUMBER not in repr(event)
    assert CALLER_NAME not in repr(event)


def test_channel_type_has_no_field_for_caller_identity():
    names = {f.name for f in dataclasses.fields(Channel)}
    assert not names & {"caller", "connected", "caller_number", "caller_name", "number"}
    for cls in (ev.StasisStart, ev.Dial, ev.ChannelDestroyed, ev.UnknownEvent):
        field_names = {f.name for f in dataclasses.fields(cls)}
        assert not {"caller", "connected"} & field_names


def test_events_are_frozen_and_slotted():
    event = ev.parse_event(SAMPLES["StasisEnd"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.application = "other"  # type: ignore[misc]
    assert not hasattr(event, "__dict__")


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ("{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ({"application": "helpline"}, "event.type"),
        (base("StasisStart", args=["x"]), "StasisStart.channel: required"),
        (base("StasisStart", channel={"id": "1", "name": "n"}), "StasisStart.channel.state"),
        (base("StasisStart", channel=channel_json(), args="inbound"), "StasisStart.args"),
        (base("ChannelDestroyed", channel=channel_json(), cause="16"), "ChannelDestroyed.cause"),
        (base("ChannelDestroyed", channel=channel_json(), cause=True), "ChannelDestroyed.cause"),
        (base("ChannelDtmfReceived", channel=channel_json()), "ChannelDtmfReceived.digit"),
        (base("PlaybackFinished", playback={"id": "p"}), "PlaybackFinished.playback.media_uri"),
        (base("Dial", peer=channel_json()), "Dial.dialstatus"),
        ({"type": "StasisEnd", "channel": channel_json()}, "StasisEnd.application"),
    ],
)
def test_malformed_events_raise_with_a_clear_message(data, fragment):
    with pytest.raises(MalformedAriEvent) as info:
        ev.parse_event(data)
    assert fragment in str(info.value)
    assert isinstance(info.value, AriProtocolError)


def test_malformed_message_never_echoes_the_payload():
    bad = base("StasisStart", channel={**channel_json(), "state": int(CALLER_NUMBER)})
    with pytest.raises(MalformedAriEvent) as info:
        ev.parse_event(bad)
    assert str(int(CALLER_NUMBER)) not in str(info.value)
    assert "StasisStart.channel.state" in str(info.value)


# --- fuzz -------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
event_types = st.sampled_from(sorted(SAMPLES) + ["ChannelVarset", ""]) | st.text(max_size=10)
KEYS = sorted(
    {"type", "application", "args", "channel", "id", "name", "state", "dialplan", "cause"}
    | {"digit", "playback", "bridge", "endpoint", "device_state", "peer", "caller", "channels"}
    | {"dialstatus", "media_uri", "target_uri", "technology", "resource", "priority", "soft"}
)


@st.composite
def mutated_samples(draw: st.DrawFn) -> Any:
    """A valid sample with a few keys (at any depth) deleted or replaced by random JSON."""
    data = copy.deepcopy(SAMPLES[draw(st.sampled_from(sorted(SAMPLES)))])
    for _ in range(draw(st.integers(1, 4))):
        target = data
        while True:  # walk down into a random nested object
            nested = [k for k, v in target.items() if isinstance(v, dict)]
            if not nested or draw(st.booleans()):
                break
            target = target[draw(st.sampled_from(nested))]
        key = draw(st.sampled_from(sorted(target) or ["type"]))
        if draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = draw(json_values)
    return data


random_events = st.fixed_dictionaries(
    {"type": event_types}, optional={k: json_values for k in KEYS if k != "type"}
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(mutated_samples(), random_events, json_values))
def test_fuzz_parse_or_raise_malformed(data):
    for candidate in (data, json.dumps(data)):
        try:
            result = ev.parse_event(candidate)
        except MalformedAriEvent:
            continue
        assert isinstance(result, ev.AriEvent)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64) | st.text(max_size=64))
def test_fuzz_raw_text(raw):
    try:
        ev.parse_event(raw)
    except MalformedAriEvent:
        pass
