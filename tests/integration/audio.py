"""Test audio: tone WAVs to send into calls, and analysis of what a phone recorded.

Pure standard library (``wave``, ``array``, ``math``): no numpy in the test environment.
The phones record what they receive as 16-bit mono WAV; :func:`analyse` turns such a file into
an :class:`AudioReport` (RMS level, the dominant frequency and the level of each test tone),
which is how the integration tests prove that audio really flowed, and in which direction (the
caller plays 440 Hz, the volunteer 880 Hz, a partner 1000 Hz). In a conference one recording
holds several tones: :meth:`AudioReport.hears` tells which of them are there.
"""

from __future__ import annotations

import math
import sys
import wave
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

Samples: TypeAlias = "array[int]"  # signed 16-bit ("h")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CALLER_TONE_HZ = 440
"""What a :class:`~tests.integration.phones.CallerPhone` plays by default."""
VOLUNTEER_TONE_HZ = 880
"""What a :class:`~tests.integration.phones.VolunteerPhone` plays by default."""
PARTNER_TONE_HZ = 1000
"""What a :class:`~tests.integration.phones.PartnerPhone` plays by default.

Not 660 Hz: with the other two tones mixed in a conference, 660's third-order products land
exactly on them (2*660-440 = 880, 2*660-880 = 440). 1000 Hz is no harmonic of 440 or 880,
neither is a harmonic of it, and none of its sums, differences or 2a-b products with them
falls within 100 Hz of a test tone (nearest: 560, 760, 1120); it is also exactly 8 samples
per period at 8 kHz."""
TEST_TONES = (CALLER_TONE_HZ, VOLUNTEER_TONE_HZ, PARTNER_TONE_HZ)
"""The tones whose levels :func:`analyse` always reports."""
TONE_PRESENT_RMS = 1000.0
"""A tone at or above this level (RMS of that frequency alone) counts as heard. Our tones
arrive at ~5,600 each, also when mixed in a bridge; leakage between them is far below 100."""
SILENCE_RMS = 100.0
"""Below this a recording counts as silence (G.711 idle noise is ~0-10)."""


class AudioError(Exception):
    """A WAV file is missing, empty or not 16-bit mono PCM."""


@dataclass(frozen=True, slots=True)
class AudioReport:
    """What a phone heard during one recorded stretch of a call."""

    rms: float
    """Root mean square of all samples (full scale 32767; our tones are ~5,600)."""
    dominant_hz: float | None
    """Strongest frequency between 100 and 3,000 Hz in the non-silent part, None if silent."""
    duration_s: float
    """Length of the recording."""
    active_s: float
    """How much of it was not silence (20 ms blocks at or above :data:`SILENCE_RMS`)."""
    tones: Mapping[int, float]
    """Level of each analysed frequency (by default :data:`TEST_TONES`), as the RMS that the
    tone alone would have; see :func:`tone_levels`."""

    @property
    def silent(self) -> bool:
        return self.active_s == 0.0

    def has_tone(self, hz: float, tolerance_hz: float = 15.0) -> bool:
        """True if the recording is not silent and its dominant frequency is ``hz``."""
        return (
            not self.silent
            and self.dominant_hz is not None
            and abs(self.dominant_hz - hz) <= tolerance_hz
        )

    def level(self, hz: int) -> float:
        """Level of tone ``hz`` (one of :attr:`tones`)."""
        try:
            return self.tones[hz]
        except KeyError:
            raise AudioError(f"{hz} Hz was not analysed (only {sorted(self.tones)})") from None

    def hears(self, *hzs: int, min_rms: float = TONE_PRESENT_RMS) -> bool:
        """True if every tone in ``hzs`` is present at ``min_rms`` or more, whatever else is
        there too (e.g. the child hears both the volunteer and the partner)."""
        return all(self.level(hz) >= min_rms for hz in hzs)


def tone_samples(hz: float, seconds: float, rate: int = 8000, amplitude: int = 8000) -> Samples:
    """A sine tone as signed 16-bit samples."""
    count = int(seconds * rate)
    step = 2 * math.pi * hz / rate
    return array("h", (int(amplitude * math.sin(step * i)) for i in range(count)))


def write_wav(path: Path, samples: Samples, rate: int) -> Path:
    """Write 16-bit mono PCM."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = samples if sys.byteorder == "little" else _swapped(samples)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(data.tobytes())
    return path


def tone_wav(hz: int, *, seconds: float = 2.0, rate: int = 8000) -> Path:
    """Path of ``tests/fixtures/tone-<hz>hz-<rate>.wav``, generated if missing.

    A whole number of periods fits in ``seconds`` for the default tones, so the phone's
    looping player plays a seamless tone.
    """
    path = FIXTURES / f"tone-{hz}hz-{rate // 1000}k.wav"
    if not path.exists():
        write_wav(path, tone_samples(hz, seconds, rate), rate)
    return path


def read_wav(path: Path) -> tuple[Samples, int]:
    """Samples and sample rate of a 16-bit mono WAV file."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
                raise AudioError(f"{path}: not 16-bit mono")
            rate = wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise AudioError(f"{path}: {exc}") from exc
    samples = array("h")
    samples.frombytes(raw[: len(raw) - len(raw) % 2])
    return (samples if sys.byteorder == "little" else _swapped(samples)), rate


def rms(samples: Samples) -> float:
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def goertzel_power(samples: Samples | list[float], rate: int, hz: float) -> float:
    """Power of ``samples`` at ``hz`` (one DFT bin at an arbitrary frequency)."""
    coeff = 2.0 * math.cos(2.0 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def dominant_frequency(
    samples: Samples, rate: int, *, low_hz: float = 100.0, high_hz: float = 3000.0
) -> float | None:
    """The strongest frequency in ``[low_hz, high_hz]``, to within ~2 Hz; None if empty.

    Coarse Goertzel scan on a short window (wide bins, so a 25 Hz grid cannot miss a tone),
    then a fine scan around the winner on a longer window. Cheap enough in pure Python.
    """
    if len(samples) < 256:
        return None
    mid = len(samples) // 2
    short = _hann(samples, mid, min(len(samples), rate // 32 * 2))  # ~64 ms
    coarse = _argmax(short, rate, _grid(low_hz, high_hz, 25.0))
    long = _hann(samples, mid, min(len(samples), rate // 2))  # ~500 ms
    return _argmax(long, rate, _grid(max(low_hz, coarse - 40), min(high_hz, coarse + 40), 2.0))


def tone_levels(
    samples: Samples, rate: int, hzs: Iterable[int], *, search_hz: int = 2
) -> dict[int, float]:
    """Level of each frequency in ``hzs``: the RMS of that sine component alone.

    One Goertzel bin per frequency on a Hann-windowed stretch of up to 2 s from the middle of
    ``samples`` (bins 1/duration wide: 2.5 Hz for a 0.4 s measurement, so 440, 880 and 1000 Hz
    are hundreds of bins apart); the best of ``hz +- search_hz`` in 1 Hz steps, so a slightly
    detuned tone loses nothing. A sine of amplitude A gives a bin magnitude of A*N/4 under a
    Hann window of N samples, hence the ``2*sqrt(2)/N`` (RMS = A/sqrt 2). Zero for every
    frequency if ``samples`` is shorter than 32 ms.
    """
    if len(samples) < 256:
        return dict.fromkeys(hzs, 0.0)
    window = _hann(samples, len(samples) // 2, min(len(samples), 2 * rate))
    scale = 2.0 * math.sqrt(2.0) / len(window)

    def level(hz: int) -> float:
        steps = range(-search_hz, search_hz + 1)
        power = max(goertzel_power(window, rate, hz + d) for d in steps)
        return scale * math.sqrt(max(0.0, power))  # rounding can make a zero bin negative

    return {hz: level(hz) for hz in hzs}


def analyse(path: Path, tones: Iterable[int] = TEST_TONES) -> AudioReport:
    """Report on a recording; the frequency and the ``tones``' levels are taken from its
    non-silent 20 ms blocks only (a call's recording starts with silence until the far end
    is bridged)."""
    samples, rate = read_wav(path)
    block = max(1, rate // 50)
    active = array("h")
    for start in range(0, len(samples), block):
        chunk = samples[start : start + block]
        if rms(chunk) >= SILENCE_RMS:
            active.extend(chunk)
    return AudioReport(
        rms=rms(samples),
        dominant_hz=dominant_frequency(active, rate) if active else None,
        duration_s=len(samples) / rate,
        active_s=len(active) / rate,
        tones=tone_levels(active, rate, tones),
    )


def _grid(low: float, high: float, step: float) -> list[float]:
    return [low + i * step for i in range(int((high - low) / step) + 1)]


def _argmax(window: list[float], rate: int, freqs: list[float]) -> float:
    return max(freqs, key=lambda hz: goertzel_power(window, rate, hz))


def _hann(samples: Samples, centre: int, size: int) -> list[float]:
    start = max(0, centre - size // 2)
    chunk = samples[start : start + size]
    n = len(chunk)
    return [x * (0.5 - 0.5 * math.cos(2 * math.pi * i / (n - 1))) for i, x in enumerate(chunk)]


def _swapped(samples: Samples) -> Samples:
    copy = array("h", samples)
    copy.byteswap()
    return copy
