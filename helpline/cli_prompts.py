"""``helpline prompts generate|check``: the spoken prompts in Asterisk's sound path.

``generate`` synthesises the catalogue (espeak-ng + sox) for every configured language that has
texts, leaving a helpline's own recordings alone; ``check`` fails, naming the files, when a
prompt a call may need is missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from config.settings import HelplineConfig
from helpline.cli_support import config_or_report
from ivr.errors import UnknownPrompt
from ivr.flow import required_prompt_ids
from ivr.ivr_config import IvrSection, LineMenu
from ivr.prompt_texts import LANGUAGES
from runtime.errors import MissingPrompt, PromptError
from runtime.prompts import check_prompts, generate_prompts, sounds_dir


def register(subparsers: Any) -> None:
    """Add the ``prompts`` subcommand and its actions."""
    parser = subparsers.add_parser("prompts", help="generate or check the spoken prompts")
    actions = parser.add_subparsers(dest="prompts_action", required=True)
    for name, func, text in (
        ("generate", _generate, "synthesise missing or outdated prompts (keeps recordings)"),
        ("check", _check, "fail, naming the files, if a prompt a call may need is missing"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument(
            "--root",
            type=Path,
            default=None,
            help="root holding usr/share/asterisk/sounds (default: [asterisk] root; '/' in a"
            " container)",
        )
        action.set_defaults(func=func)


def _ivr(cfg: HelplineConfig) -> tuple[IvrSection, list[LineMenu | None]]:
    return cfg.ivr, [line.menu for line in cfg.lines]


def _load(args: argparse.Namespace) -> tuple[HelplineConfig, Path] | None:
    cfg = config_or_report(args)
    if cfg is None:
        return None
    return cfg, (args.root or cfg.asterisk.root)


def _generate(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if loaded is None:
        return 2
    cfg, root = loaded
    languages = [lang for lang in cfg.languages if lang in LANGUAGES]
    for lang in cfg.languages:
        if lang not in LANGUAGES:
            print(
                f"note: no texts for {lang!r}; record its prompts into {sounds_dir(root, lang)}",
                file=sys.stderr,
            )
    try:
        report = generate_prompts(root, languages)
    except (UnknownPrompt, PromptError) as exc:  # a language without texts; a tool failed
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"prompts for {', '.join(languages) or 'no language'}: {len(report.generated)} generated,"
        f" {len(report.unchanged)} up to date, {len(report.kept_recordings)} own recordings kept"
    )
    return 0


def _check(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if loaded is None:
        return 2
    cfg, root = loaded
    section, menus = _ivr(cfg)
    ids = required_prompt_ids(section, menus)
    try:
        check_prompts(root, cfg.languages, ids)
    except MissingPrompt as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"all {len(ids)} prompts present for {', '.join(cfg.languages)}")
    return 0
