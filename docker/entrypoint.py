#!/usr/bin/env python3
"""Entrypoint of the app image: fill secrets into the config, prepare Asterisk's files, run.

    helpline-docker check   substitute and validate the config only (exit 2 when invalid)
    helpline-docker init    migrate the database, seed, render Asterisk's config and MoH
    helpline-docker run     exec ``helpline run`` with the filled-in config

The mounted ``helpline.toml`` holds ``${NAME}`` placeholders; each is replaced from the
environment (``$$`` is a literal ``$``). A placeholder without a value is an error, never left
in place: a literal ``${HELPLINE_ARI_PASSWORD}`` would otherwise pass as an 8+ character secret.
Only the ports have defaults (``SETTING_DEFAULTS``): the usual ones, so a second stack can run
beside another on the same host (``docker/smoke.sh`` does) by setting them.
"""

from __future__ import annotations

import io
import math
import os
import string
import struct
import sys
import wave
from pathlib import Path

TEMPLATE = Path(os.environ.get("HELPLINE_CONFIG_TEMPLATE", "/etc/helpline/helpline.toml"))
FILLED = Path(os.environ.get("HELPLINE_CONFIG", "/run/helpline/helpline.toml"))
ASTERISK_ETC = Path(os.environ.get("HELPLINE_ASTERISK_ETC", "/srv/asterisk/etc"))
ASTERISK_MOH = Path(os.environ.get("HELPLINE_ASTERISK_MOH", "/srv/asterisk/moh"))
ASTERISK_GID = 2000
"""Group of the ``asterisk`` user in Dockerfile.asterisk: it may read, nobody else."""


SETTING_DEFAULTS: dict[str, str] = {
    "HELPLINE_SIP_PORT": "5060",
    "HELPLINE_RTP_START": "10000",
    "HELPLINE_RTP_END": "10999",
    "HELPLINE_ARI_PORT": "8088",
    "HELPLINE_AMI_PORT": "5038",
    "HELPLINE_HTTP_PORT": "8080",
    "HELPLINE_ADMIN_PORT": "8081",
    "HELPLINE_POSTGRES_PORT": "5432",
    "HELPLINE_REDIS_PORT": "6379",
}
"""Port placeholders in helpline.toml and their values when the environment has none. Secrets
never have a default."""


class DockerSetupError(Exception):
    """The container cannot be set up (missing variable, invalid config, unwritable volume)."""


def fill_config(template: Path = TEMPLATE, target: Path = FILLED) -> Path:
    """Write ``template`` with its ``${NAME}`` placeholders filled from the environment."""
    try:
        text = template.read_text(encoding="utf-8")
    except OSError as exc:
        raise DockerSetupError(f"{template}: cannot read: {exc.strerror or exc}") from exc
    values = {**SETTING_DEFAULTS, **os.environ}
    for name in SETTING_DEFAULTS:
        # Written into the TOML unquoted: anything but digits could add settings of its own.
        if not values[name].isdigit():
            raise DockerSetupError(f"{name} must be a port number, not {values[name]!r}")
    try:
        filled = string.Template(text).substitute(values)
    except KeyError as exc:
        raise DockerSetupError(
            f"{template}: environment variable {exc.args[0]} is not set"
        ) from None
    except ValueError as exc:  # a lone "$": say so instead of guessing
        raise DockerSetupError(f"{template}: {exc} (write $$ for a literal $)") from None
    from config.errors import ConfigError
    from config.known_defaults import refuse_known_secrets
    from config.secrets import KNOWN_DEFAULTS
    from config.settings import load_config

    # Any shipped value anywhere (the PostgreSQL password sits in a URL no key check covers).
    if "change-me" in filled or any(value in filled for value in KNOWN_DEFAULTS):
        raise DockerSetupError(f"{template}: a secret is still 'change-me' (see .env.example)")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds secrets
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(filled)
    try:
        refuse_known_secrets(load_config(target))  # the same list the app refuses at start
    except ConfigError as exc:
        raise DockerSetupError(str(exc)) from None
    return target


def write_private(directory: Path, files: dict[str, bytes]) -> None:
    """Replace ``directory``'s files by ``files``: root-owned, readable by Asterisk's group only."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chown(directory, 0, ASTERISK_GID)
    directory.chmod(0o750)
    for old in directory.iterdir():
        if old.name not in files and old.is_file():
            old.unlink()  # a file we no longer render must not linger and be loaded
    for name, data in files.items():
        tmp = directory / f".{name}.tmp"
        tmp.write_bytes(data)
        os.chown(tmp, 0, ASTERISK_GID)
        tmp.chmod(0o640)  # ARI/AMI passwords and SIP digests
        tmp.replace(directory / name)


def hold_tune(seconds: float = 8.0, rate: int = 8000) -> bytes:
    """A soft two-tone tune, so music on hold plays until real music is installed."""
    frames = bytearray()
    for i in range(int(seconds * rate)):
        t = i / rate
        note = 440.0 if int(t * 2) % 2 == 0 else 554.37
        envelope = 0.5 - 0.5 * math.cos(2 * math.pi * (t % 0.5) / 0.5)
        frames += struct.pack("<h", int(3000 * envelope * math.sin(2 * math.pi * note * t)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(frames))
    return buffer.getvalue()


def init() -> None:
    """Migrate and seed the database, then render everything Asterisk reads."""
    config = fill_config()
    from config.settings import load_config
    from helpline.cli_asterisk import render_for
    from helpline.service import prepare_database

    cfg = load_config(config)
    created = prepare_database(cfg)
    if created:
        print(f"created volunteers from the config: {', '.join(created)}")
    files = render_for(cfg)  # reads the volunteers' SIP digests from the database
    write_private(ASTERISK_ETC, {name: text.encode() for name, text in files.items()})
    if not any(ASTERISK_MOH.glob("*")):
        write_private(ASTERISK_MOH, {"helpline-tune.wav": hold_tune()})
    print(f"rendered {len(files)} Asterisk files into {ASTERISK_ETC}")
    from helpline.service import prompt_languages, required_prompts
    from runtime.prompts import generate_prompts

    # Prompts go into the shared volume laid out like an Asterisk root (asterisk.root in the
    # config points there); a helpline's own recordings at the same names are kept.
    report = generate_prompts(cfg.asterisk.root, prompt_languages(cfg), required_prompts(cfg))
    print(f"prompts: {len(report.generated)} generated, {len(report.unchanged)} up to date")


def main(argv: list[str]) -> int:
    action = argv[1] if len(argv) > 1 else "run"
    try:
        if action == "check":
            print(f"config OK: {fill_config()}")
            return 0
        if action == "init":
            init()
            return 0
        if action == "run":
            config = fill_config()
            os.execvp("helpline", ["helpline", "-c", str(config), "run", *argv[2:]])
    except DockerSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"usage: {argv[0]} check|init|run", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
