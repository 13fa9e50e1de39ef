"""Test audio: tone WAVs to send into calls, and analysis of what a phone recorded.

Pure standard library (``wave``, ``array``, ``math``): no numpy in the test environment.
The phones record what they receive as 16-bit mono WAV; :func:`analyse` turns such a file into
an :class:`AudioReport` (RMS level and the dominant frequency), which is how the integration
tests prove that audio really flowed, and in which direction (the caller plays 440 Hz, the
volunteer 880 Hz).
"""

from __future__ import annotations

import math
import sys
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

Samples: TypeAlias = "array[int]"  # signed 16-bit ("h")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CALLER_TONE_HZ = 440
"""What a :class:`~tests.integration.phones.CallerPhone` plays by default."""
VOLUNTEER_TONE_HZ = 880
"""What a :class:`~tests.integration.phones.VolunteerPhone` plays by default."""
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


def analyse(path: Path) -> AudioReport:
    """Report on a recording; the frequency is taken from its non-silent 20 ms blocks only
    (a call's recording starts with silence until the far end is bridged)."""
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
