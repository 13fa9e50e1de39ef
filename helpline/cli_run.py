"""``helpline run`` (foreground), ``helpline up`` / ``down`` / ``status`` (the whole system).

``up`` generates the secrets the config asks for (``helpline.secrets``), starts the helpline's
own password-protected Redis, prepares the database, renders and starts Asterisk, then starts
the app in the background and returns once its HTTP API answers. Logs go to ``log_dir``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from config.errors import ConfigError
from config.known_defaults import refuse_known_secrets
from config.secrets import secrets_path
from config.settings import HelplineConfig, config_path
from helpline.cli_support import config_or_report
from helpline.secrets import ensure_secrets

RUN_DIR = Path("/var/lib/helpline/run")


def register(subparsers: Any) -> None:
    """Add ``run``, ``up``, ``down`` and ``status``."""
    run = subparsers.add_parser("run", help="run the app in the foreground (Asterisk must run)")
    run.add_argument("--log-level", default="INFO")
    run.set_defaults(func=_run)
    up = subparsers.add_parser("up", help="start Asterisk and the app in the background")
    up.add_argument("--wait", type=float, default=60.0, help="seconds to wait for the API")
    up.set_defaults(func=_up)
    down = subparsers.add_parser("down", help="stop the app and Asterisk")
    down.set_defaults(func=_down)
    status = subparsers.add_parser("status", help="is the app up?")
    status.set_defaults(func=_status)


def _run(args: argparse.Namespace) -> int:
    cfg = config_or_report(args)
    if cfg is None or not _secrets_ok(cfg):
        return 2
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    from helpline.service import serve

    async def main() -> None:
        task = asyncio.create_task(serve(cfg))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            logging.getLogger(__name__).info("stopped")

    try:
        asyncio.run(main())
    except Exception as exc:  # LeaseLost and the like: a supervisor restarts us
        logging.getLogger(__name__).error("exiting: %s", exc)
        return 1
    return 0


def _pid_file() -> Path:
    return RUN_DIR / "app.pid"


def _running_pid() -> int | None:
    try:
        pid = int(_pid_file().read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _healthy(cfg: HelplineConfig) -> bool:
    url = f"http://{cfg.http.host}:{cfg.http.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _secrets_ok(cfg: HelplineConfig) -> bool:
    """False (and one line on stderr) when a secret is a known default outside a demo."""
    try:
        refuse_known_secrets(cfg)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return False
    return True


def _generate_secrets(args: argparse.Namespace) -> bool:
    """Fill the secrets file with what the config asks for and say where it is."""
    path = secrets_path()
    try:
        text = config_path(args.config).read_text(encoding="utf-8")
        added = ensure_secrets(text, path)
    except (OSError, ConfigError) as exc:
        print(f"error: secrets: {exc}", file=sys.stderr)
        return False
    if added:
        print(f"secrets: generated {', '.join(added)} into {path} (mode 0600, keep it)")
    elif path.exists():
        print(f"secrets: in {path}")
    return True


def _start_own_redis(cfg: HelplineConfig) -> bool:
    """Start the helpline's own password-protected Redis when the config asks for one here."""
    from runtime.errors import RedisSetupError
    from runtime.redis_server import ensure_redis, own_redis_for

    own = own_redis_for(cfg.redis.url)
    if own is None:
        return True  # elsewhere, or a demo without a password: nothing of ours to start
    try:
        started = ensure_redis(own)
    except RedisSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return False
    state = "started" if started else "running"
    print(f"redis: {state} on {own.host}:{own.port}, password from the secrets file")
    return True


def _up(args: argparse.Namespace) -> int:
    if not _generate_secrets(args):
        return 2
    cfg = config_or_report(args)
    if cfg is None or not _secrets_ok(cfg):
        return 2
    if not _start_own_redis(cfg):
        return 1
    from helpline.cli_asterisk import render_for, runtime_for
    from helpline.service import prepare_database, prompt_languages, required_prompts
    from runtime.errors import AsteriskError, PromptError
    from runtime.prompts import generate_prompts

    created = prepare_database(cfg)
    if created:
        print(f"created demo volunteers: {', '.join(created)}")
    runtime = runtime_for(cfg)
    try:
        runtime.ensure_root()
        report = generate_prompts(cfg.asterisk.root, prompt_languages(cfg), required_prompts(cfg))
        print(
            f"prompts: {len(report.generated)} generated, {len(report.unchanged)} up to date, "
            f"{len(report.kept_recordings)} recorded by the helpline kept"
        )
        runtime.install_config(render_for(cfg))
        if runtime.status().running:
            runtime.cli("core reload")
        else:
            runtime.start(wait_s=60.0)
    except (AsteriskError, PromptError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("asterisk: running on 127.0.0.1 (SIP 5060, ARI/WebSocket 8088)")

    if _running_pid() is None:
        cfg.log_dir.mkdir(parents=True, exist_ok=True)
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        log = (cfg.log_dir / "app.log").open("ab")
        command = [sys.executable, "-m", "helpline.cli", "-c", str(config_path(args.config)), "run"]
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        _pid_file().write_text(str(process.pid))
    deadline = time.monotonic() + args.wait
    while not _healthy(cfg):
        if time.monotonic() > deadline or _running_pid() is None:
            print(f"error: the app did not come up; see {cfg.log_dir / 'app.log'}", file=sys.stderr)
            return 1
        time.sleep(0.3)
    _print_welcome(cfg)
    return 0


def _print_welcome(cfg: HelplineConfig) -> None:
    ast = cfg.asterisk
    demo = cfg.volunteers[0] if cfg.volunteers else None
    http = cfg.http
    print(f"app: running, API on http://{http.host}:{http.port} (logs in {cfg.log_dir})")
    if http.admin_token is not None:
        print(
            f"admin API on http://{http.admin_host}:{http.admin_port} only "
            f"(its token is HELPLINE_ADMIN_TOKEN in {secrets_path()})"
        )
    _print_hours(cfg)
    print()
    print(f"The volunteer's workspace (a browser phone): open http://{http.host}:{http.port}/")
    if demo is not None:
        print(f"  and sign in as {demo.id} with the password {demo.password}")
    from softphone.serve import describe_missing

    if (missing := describe_missing()) is not None:
        print(f"  ({missing})")
    print("Place a call for them to answer in the page:")
    print("  .venv/bin/helpline simulate --callers-only --hold 60,60")
    if cfg.chat.enabled:
        print(f"A child's chat (open it in another window): http://{http.host}:{http.port}/chat")
    boss = next((v for v in cfg.volunteers if v.role == "supervisor"), None)
    if boss is not None:
        site = f"http://{http.host}:{http.port}"
        print(f"Supervisors: the wallboard at {site}/wallboard and reports at {site}/reports")
        print(f"  sign in as {boss.id} with the password {boss.password}")
    desk = next((v for v in cfg.volunteers if cfg.phone_of(v.id) != "webrtc"), None)
    if desk is not None:
        print("Register a SIP desk phone as a volunteer:")
        print(f"  server {ast.bind}:{ast.sip_port} (UDP), realm {ast.sip_realm}")
        # The SIP secret is random and apart from the login password: issued (and shown) once.
        print(f"  user {desk.id}, secret from: .venv/bin/helpline volunteer sip-secret {desk.id}")
    print("Log the volunteer in and make them ready:")
    if demo is not None:
        base = f"http://{cfg.http.host}:{cfg.http.port}/api/v1"
        print(
            f"  TOKEN=$(curl -s -X POST {base}/session -H 'content-type: application/json' "
            f'-d \'{{"volunteer_id":"{demo.id}","password":"{demo.password}"}}\' '
            "| python3 -c 'import json,sys; print(json.load(sys.stdin)[\"token\"])')"
        )
        print(f'  curl -s -X POST {base}/me/ready -H "authorization: Bearer $TOKEN"')
    print("Place a test call as the carrier would (from 127.0.0.2):")
    number = cfg.lines[0].numbers[0]
    print(f"  sipp -sn uac -i 127.0.0.2 -m 1 -s {number} {ast.bind}:{ast.sip_port}")
    print("Or watch simulated volunteers and callers:")
    print("  .venv/bin/helpline simulate --volunteers 5 --calls-per-minute 30 --minutes 1")
    print("Stop everything with: make down")


def _print_hours(cfg: HelplineConfig) -> None:
    """Say whether a test call will reach the queue now, and how to open the line if not."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from storage.db import make_engine
    from storage.hours_store import HoursExceptionStore, HoursService

    engine = make_engine(cfg.database.url)
    try:
        line = cfg.lines[0]
        now = datetime.now(UTC)
        status = HoursService(cfg, HoursExceptionStore.from_config(engine, cfg)).status(
            line.id, "phone", now
        )
    finally:
        engine.dispose()
    tz = ZoneInfo(cfg.helpline.timezone)
    if status.open:
        print(f"line {line.id}: open now ({status.reason})")
        return
    opens = status.opens_at.astimezone(tz).strftime("%a %H:%M") if status.opens_at else "not soon"
    until = (now + timedelta(hours=2)).astimezone(tz).strftime("%Y-%m-%d %H:%M")
    print(f"line {line.id}: CLOSED now, opens {opens}; callers hear the out-of-hours message.")
    print("To try calls now, open the line for two hours:")
    print(f'  .venv/bin/helpline hours open --from now --until "{until}" --reason demo')


def _down(args: argparse.Namespace) -> int:
    cfg = config_or_report(args)
    if cfg is None:
        return 2
    pid = _running_pid()
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if _running_pid() is None:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
    _pid_file().unlink(missing_ok=True)
    from helpline.cli_asterisk import runtime_for

    runtime_for(cfg).stop()
    print("stopped")
    return 0


def _status(args: argparse.Namespace) -> int:
    cfg = config_or_report(args)
    if cfg is None:
        return 2
    pid = _running_pid()
    healthy = _healthy(cfg)
    print(
        f"app: {'running (pid %d)' % pid if pid else 'stopped'}, API {'up' if healthy else 'down'}"
    )
    return 0 if healthy else 1
