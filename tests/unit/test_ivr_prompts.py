"""The prompt catalogue, and generation with the real espeak-ng and sox into a temporary root."""

from __future__ import annotations

import json
import math
import shutil
import wave
from array import array
from pathlib import Path

import pytest
from pydantic import ValidationError

from ivr.errors import UnknownPrompt
from ivr.ivr_config import IvrSection, LineMenu
from ivr.media import media_uri
from ivr.prompt_texts import (
    LANGUAGES,
    PROMPT_IDS,
    at_time_prompt,
    menu_prompt,
    position_prompt,
    prompt_text,
    wait_prompt,
)
from runtime.errors import MissingPrompt
from runtime.prompts import MANIFEST, check_prompts, generate_prompts, sounds_dir

needs_tools = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")), reason="espeak-ng/sox not installed"
)
SOME = ("welcome", "position_2", "menu_en_2", "at_09_30")

# -- catalogue --------------------------------------------------------------------------------


def test_catalogue_has_every_piece_in_every_language():
    expected = {"welcome", "comfort", "closed", "opens_today", "opens_tomorrow", "forum"}
    expected |= {"danger_112", "veilig_thuis", "overflow", "goodbye", "opens_on_sunday"}
    expected |= {"at_hour_0", "at_hour_23", "at_00_30", "at_23_30", "position_1", "position_20"}
    expected |= {"wait_1_minutes", "wait_30_minutes", "menu_nl_1", "menu_en_star"}
    assert expected <= set(PROMPT_IDS)
    assert "position_21" not in PROMPT_IDS and "wait_31_minutes" not in PROMPT_IDS
    for lang in LANGUAGES:
        for pid in PROMPT_IDS:
            text = prompt_text(pid, lang)
            assert text.text.strip() and text.language == lang
    assert all(pid.replace("_", "").isalnum() and pid.islower() for pid in PROMPT_IDS)


def test_texts_are_kind_and_say_the_right_thing():
    assert prompt_text("welcome", "nl").text.startswith("Hoi, je belt met De Kindertelefoon.")
    assert prompt_text("position_2", "nl").text == "Er is nog maar 1 kind voor je."
    assert prompt_text("position_4", "en").text == "There are 3 children before you."
    assert "half 3" in prompt_text("at_14_30", "nl").text  # 14:30 is "half drie"
    assert "half past 2 in the afternoon" in prompt_text("at_14_30", "en").text
    assert prompt_text("danger_112", "nl").text.endswith("1 1 2.")


def test_menu_options_speak_in_their_own_voice_in_every_directory():
    text = prompt_text("menu_en_2", "nl")
    assert (text.language, text.voice, text.text) == ("nl", "en", "For English, press 2.")
    assert prompt_text("menu_nl_hash", "en").text == "Voor Nederlands, druk hekje."
    assert menu_prompt("en", "*") == "menu_en_star"


def test_id_helpers_refuse_what_the_catalogue_lacks():
    assert position_prompt(20) == "position_20"
    assert wait_prompt(30) == "wait_30_minutes"
    assert at_time_prompt(7, 30) == "at_07_30"
    for bad in (lambda: position_prompt(21), lambda: wait_prompt(0), lambda: at_time_prompt(7, 15)):
        with pytest.raises(UnknownPrompt):
            bad()
    with pytest.raises(UnknownPrompt, match="'tr'"):
        prompt_text("welcome", "tr")


def test_media_uri():
    assert media_uri("welcome") == "sound:helpline/welcome"


# -- config -----------------------------------------------------------------------------------


def test_ivr_config_defaults_and_validation():
    assert IvrSection().comfort_every_s == 45 and IvrSection().max_announced_position == 20
    menu = LineMenu(options={"1": "nl", "#": "en"})
    assert menu.language_for("#") == "en" and menu.language_for("3") is None
    assert menu.timeout_s == 5 and menu.languages() == ["nl", "en"]
    for bad in ({"11": "nl"}, {"x": "nl"}, {"1": ""}, {}):
        with pytest.raises(ValidationError):
            LineMenu(options=bad)
    with pytest.raises(ValidationError):
        IvrSection(max_announced_position=21)
    with pytest.raises(ValidationError):
        IvrSection(comfrot_every_s=30)  # typo: refused


# -- generation -------------------------------------------------------------------------------


def _samples(path: Path) -> tuple[array, wave._wave_params]:
    with wave.open(str(path), "rb") as wav:
        params = wav.getparams()
        data = array("h", wav.readframes(wav.getnframes()))
    return data, params


def _assert_spoken(path: Path) -> None:
    samples, params = _samples(path)
    assert (params.framerate, params.nchannels, params.sampwidth) == (8000, 1, 2)
    assert params.nframes > 8000 * 0.3  # at least a short phrase
    rms = math.sqrt(sum(s * s for s in samples) / len(samples))
    assert rms > 300, f"{path.name} is (nearly) silent: rms {rms:.0f}"


@needs_tools
def test_generate_writes_8khz_mono_speech_and_a_manifest(tmp_path: Path):
    report = generate_prompts(tmp_path, ["nl", "en"], SOME)
    nl = sounds_dir(tmp_path, "nl")
    assert nl == tmp_path / "usr/share/asterisk/sounds/nl/helpline"
    assert sorted(p.name for p in report.generated if p.parent == nl) == sorted(
        f"{pid}.wav" for pid in SOME
    )
    for path in report.generated:
        _assert_spoken(path)
    manifest = json.loads((nl / MANIFEST).read_text())
    assert set(manifest["files"]) == {f"{pid}.wav" for pid in SOME}
    check_prompts(tmp_path, ["nl", "en"], SOME)  # does not raise

    again = generate_prompts(tmp_path, ["nl", "en"], SOME)
    assert again.generated == [] and len(again.unchanged) == 2 * len(SOME)


@needs_tools
def test_a_recording_of_the_helpline_is_never_overwritten(tmp_path: Path):
    generate_prompts(tmp_path, ["nl"], ["welcome", "goodbye", "comfort"])
    nl = sounds_dir(tmp_path, "nl")
    recorded = b"RIFF our own voice"
    (nl / "welcome.wav").write_bytes(recorded)  # same name, same format
    (nl / "goodbye.gsm").write_bytes(b"gsm frames")  # same name, other format
    report = generate_prompts(tmp_path, ["nl"], ["welcome", "goodbye", "comfort"])
    assert (nl / "welcome.wav").read_bytes() == recorded
    assert not (nl / "goodbye.wav").exists()  # ours removed, so Asterisk plays theirs
    assert sorted(p.name for p in report.kept_recordings) == ["goodbye.gsm", "welcome.wav"]
    assert [p.name for p in report.unchanged] == ["comfort.wav"]
    manifest = json.loads((nl / MANIFEST).read_text())["files"]
    assert set(manifest) == {"comfort.wav"}
    check_prompts(tmp_path, ["nl"], ["welcome", "goodbye", "comfort"])


@needs_tools
def test_ours_is_regenerated_when_its_text_changed(tmp_path: Path, monkeypatch):
    generate_prompts(tmp_path, ["en"], ["goodbye"])
    target = sounds_dir(tmp_path, "en") / "goodbye.wav"
    manifest_path = target.parent / MANIFEST
    before = json.loads(manifest_path.read_text())["files"]["goodbye.wav"]
    monkeypatch.setattr("runtime.prompts.SYNTH_VERSION", "changed")  # as if the text had changed
    report = generate_prompts(tmp_path, ["en"], ["goodbye"])
    assert report.generated == [target] and report.unchanged == []
    after = json.loads(manifest_path.read_text())["files"]["goodbye.wav"]
    assert after["text"] != before["text"]
    assert after["file"] == before["file"]  # same words, no dither: the very same bytes


@needs_tools
def test_whole_catalogue_for_two_languages_is_fast(tmp_path: Path):
    import time

    started = time.monotonic()
    report = generate_prompts(tmp_path, ["nl", "en"])
    assert len(report.generated) == 2 * len(PROMPT_IDS)
    assert time.monotonic() - started < 60
    check_prompts(tmp_path, ["nl", "en"], PROMPT_IDS)


def test_absolute_links_are_followed_inside_the_root(tmp_path: Path):
    sounds = tmp_path / "usr/share/asterisk/sounds"
    (sounds / "en_US_f_Allison").mkdir(parents=True)
    (tmp_path / "etc/alternatives").mkdir(parents=True)
    (tmp_path / "etc/alternatives/asterisk-prompt-en").symlink_to(
        "/usr/share/asterisk/sounds/en_US_f_Allison"
    )
    (sounds / "en").symlink_to("/etc/alternatives/asterisk-prompt-en")
    assert sounds_dir(tmp_path, "en") == sounds / "en_US_f_Allison/helpline"


def test_check_prompts_names_the_missing_files(tmp_path: Path):
    nl = sounds_dir(tmp_path, "nl")
    nl.mkdir(parents=True)
    (nl / "welcome.ulaw").write_bytes(b"\xff" * 80)  # any format Asterisk reads counts
    with pytest.raises(MissingPrompt) as missing:
        check_prompts(tmp_path, ["nl", "en"], ["welcome", "comfort"])
    assert missing.value.missing == [
        nl / "comfort.wav",
        sounds_dir(tmp_path, "en") / "welcome.wav",
        sounds_dir(tmp_path, "en") / "comfort.wav",
    ]
    assert "nl/helpline/comfort.wav" in str(missing.value)


def test_generation_refuses_a_language_without_texts_before_writing(tmp_path: Path):
    with pytest.raises(UnknownPrompt):
        generate_prompts(tmp_path, ["nl", "tr"], ["welcome"])
    assert not (tmp_path / "usr").exists()
