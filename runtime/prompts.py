"""Prompt files: generated at set-up time, replaceable by a helpline's own recordings.

Files live in Asterisk's sound path, ``<root>/usr/share/asterisk/sounds/<lang>/helpline/<id>.wav``,
and ARI plays them as ``sound:helpline/<id>`` (:func:`media_uri`) on a channel whose language
is ``<lang>``. ``<root>`` is the chrooted Asterisk root in development and ``/`` in a container.

:func:`generate_prompts` synthesises the catalogue with espeak-ng and converts it with sox to
8 kHz mono 16-bit WAV (what Asterisk plays to a G.711 call without resampling). A helpline
replaces a prompt by dropping its own recording at the same name, in any format Asterisk reads
(``welcome.wav``, ``welcome.gsm``...). Generation never touches such a file: a manifest in the
directory records the hash of every file we wrote, and only a file whose content still has our
hash is ours to rewrite (when its text or voice settings changed).

:func:`check_prompts` is the start-up check: a missing prompt is a clear error naming the file,
never a silent call.

Why not ``AsteriskRuntime.install_sounds``: it cannot write into a subdirectory, and the root's
``sounds/en`` is an absolute symlink (``/etc/alternatives/asterisk-prompt-en``) that must be
resolved inside the root, not on the host; :func:`sounds_dir` does that.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ivr.media import SUBDIR
from ivr.prompt_texts import PROMPT_IDS, PromptText, prompt_text
from runtime.errors import MissingPrompt, PromptError, PromptGenerationError

MANIFEST = ".generated.json"
"""Name of the manifest of generated files in :data:`SUBDIR`."""
SOUND_EXTENSIONS = ("wav", "WAV", "gsm", "ulaw", "alaw", "sln", "sln16", "g722", "g729", "mp3")
"""Formats a helpline's own recording may have (all that Asterisk's format modules read)."""
SOUNDS_PATH = PurePosixPath("usr/share/asterisk/sounds")
"""Asterisk's sound directory, relative to the root."""
ESPEAK_VOICES = {"nl": "nl+f3", "en": "en-gb+f3"}
"""espeak-ng voice per language: a softer, higher variant."""
ESPEAK_SPEED = 150
"""Words per minute: a bit slower than espeak's 175, easier for children to follow."""
SYNTH_VERSION = "espeak-ng/sox-8k-mono-16-nodither/v1"
"""Part of the text hash: bump it when the synthesis pipeline changes, to regenerate ours."""


def sounds_dir(root: Path | str, language: str) -> Path:
    """Host path of ``<root>/usr/share/asterisk/sounds/<language>/helpline``.

    Symbolic links are followed as Asterisk sees them: an absolute link target is taken
    relative to ``root`` (Asterisk runs chrooted there), not to the host's ``/``.
    """
    root = Path(root)
    path = root
    hops = 0
    parts = list((SOUNDS_PATH / language / SUBDIR).parts)
    while parts:
        path = path / parts.pop(0)
        if path.is_symlink():
            hops += 1
            if hops > 40:
                raise PromptError(f"too many symbolic links under {root / SOUNDS_PATH}")
            target = PurePosixPath(os.readlink(path))
            parts = list(target.parts[1:] if target.is_absolute() else target.parts) + parts
            path = root if target.is_absolute() else path.parent
    return path


def text_hash(text: PromptText) -> str:
    """Hash of everything that decides what a generated file sounds like."""
    voice = ESPEAK_VOICES.get(text.voice, text.voice)
    key = f"{SYNTH_VERSION}\n{voice}\n{ESPEAK_SPEED}\n{text.text}"
    return hashlib.sha256(key.encode()).hexdigest()


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(slots=True)
class GenerationReport:
    """What :func:`generate_prompts` did, file by file."""

    generated: list[Path] = field(default_factory=list)
    """Written now (new, or ours with a changed text)."""
    unchanged: list[Path] = field(default_factory=list)
    """Ours and up to date: left alone."""
    kept_recordings: list[Path] = field(default_factory=list)
    """A helpline's own file at that name: never touched."""


def generate_prompts(
    root: Path | str,
    languages: Iterable[str],
    prompt_ids: Iterable[str] = PROMPT_IDS,
    *,
    jobs: int | None = None,
) -> GenerationReport:
    """Synthesise missing or outdated prompts of ours into ``root``'s sound directories.

    Raises ``UnknownPrompt`` before writing anything if a language has no text for a prompt,
    and :class:`PromptGenerationError` if a tool is missing or fails.
    """
    ids = list(dict.fromkeys(prompt_ids))
    wanted = [prompt_text(pid, lang) for lang in dict.fromkeys(languages) for pid in ids]
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise PromptGenerationError(f"{tool} is not installed (apt-get install espeak-ng sox)")
    report = GenerationReport()
    by_language: dict[str, list[PromptText]] = {}
    for text in wanted:
        by_language.setdefault(text.language, []).append(text)
    for language, texts in by_language.items():
        _generate_language(sounds_dir(root, language), texts, report, jobs)
    return report


def _generate_language(
    directory: Path, texts: list[PromptText], report: GenerationReport, jobs: int | None
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    manifest = _read_manifest(directory)
    todo: list[tuple[PromptText, Path, str]] = []
    for text in texts:
        target = directory / f"{text.prompt_id}.wav"
        wanted_hash = text_hash(text)
        entry = manifest.get(target.name)
        ours = entry is not None and target.exists() and file_hash(target) == entry["file"]
        theirs = [p for p in _sound_files(directory, text.prompt_id) if not (ours and p == target)]
        if theirs:
            # A recording replaced ours (or was there first): forget ours, let theirs be found.
            manifest.pop(target.name, None)
            if ours:
                target.unlink()
            report.kept_recordings.extend(theirs)
        elif ours and entry is not None and entry["text"] == wanted_hash:
            report.unchanged.append(target)
        else:
            todo.append((text, target, wanted_hash))
    if todo:
        with tempfile.TemporaryDirectory(prefix="helpline-prompts-") as tmp:
            with ThreadPoolExecutor(max_workers=jobs or (os.cpu_count() or 2) * 2) as pool:
                done = list(pool.map(lambda job: _synthesise(job[0], Path(tmp)), todo))
            for (_text, target, wanted_hash), wav in zip(todo, done, strict=True):
                tmp_target = target.with_name(f".{target.name}.tmp")
                shutil.copyfile(wav, tmp_target)
                tmp_target.chmod(0o644)
                tmp_target.replace(target)
                manifest[target.name] = {"text": wanted_hash, "file": file_hash(target)}
                report.generated.append(target)
    _write_manifest(directory, manifest)


def _synthesise(text: PromptText, tmp: Path) -> Path:
    """espeak-ng then sox: text -> 8 kHz mono signed 16-bit WAV; returns the file.

    No dither (``-D``): the same text gives the same bytes, so regenerating is reproducible.
    """
    stem = f"{text.language}-{text.prompt_id}"
    text_file = tmp / f"{stem}.txt"
    raw = tmp / f"{stem}.raw.wav"
    out = tmp / f"{stem}.wav"
    text_file.write_text(text.text, encoding="utf-8")  # -f: no text is mistaken for an option
    voice = ESPEAK_VOICES.get(text.voice, text.voice)
    espeak = [
        "espeak-ng",
        "-v",
        voice,
        "-s",
        str(ESPEAK_SPEED),
        "-w",
        str(raw),
        "-f",
        str(text_file),
    ]
    sox = [
        "sox",
        "-D",
        str(raw),
        "-r",
        "8000",
        "-c",
        "1",
        "-b",
        "16",
        "-e",
        "signed-integer",
        str(out),
    ]
    for cmd, result in ((espeak, raw), (sox, out)):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode != 0 or not result.exists():
            raise PromptGenerationError(
                f"{cmd[0]} failed for prompt {text.prompt_id!r} ({text.language}):"
                f" {proc.stderr.strip()[-500:]}"
            )
    return out


def _read_manifest(directory: Path) -> dict[str, dict[str, str]]:
    path = directory / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        # Without a manifest nothing counts as ours, so a broken one only means no overwrites.
        raise PromptError(f"{path}: unreadable manifest ({exc}); remove it to start over") from exc
    files = data.get("files", {}) if isinstance(data, dict) else {}
    return {
        name: {"text": str(entry["text"]), "file": str(entry["file"])}
        for name, entry in files.items()
        if isinstance(entry, dict) and "text" in entry and "file" in entry
    }


def _write_manifest(directory: Path, manifest: dict[str, dict[str, str]]) -> None:
    path = directory / MANIFEST
    tmp = path.with_name(f"{MANIFEST}.tmp")
    body = {"version": 1, "generator": SYNTH_VERSION, "files": dict(sorted(manifest.items()))}
    tmp.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    tmp.chmod(0o644)
    tmp.replace(path)


def prompt_files(root: Path | str, language: str, prompt_id: str) -> list[Path]:
    """Files Asterisk could play for this prompt in this language (normally one)."""
    return _sound_files(sounds_dir(root, language), prompt_id)


def _sound_files(directory: Path, prompt_id: str) -> list[Path]:
    return [p for ext in SOUND_EXTENSIONS if (p := directory / f"{prompt_id}.{ext}").is_file()]


def check_prompts(root: Path | str, languages: Iterable[str], prompt_ids: Iterable[str]) -> None:
    """Raise :class:`MissingPrompt` naming every prompt file that does not exist."""
    missing = []
    for language in dict.fromkeys(languages):
        for prompt_id in dict.fromkeys(prompt_ids):
            if not prompt_files(root, language, prompt_id):
                missing.append(sounds_dir(root, language) / f"{prompt_id}.wav")
    if missing:
        raise MissingPrompt(missing)
