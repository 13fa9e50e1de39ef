"""``helpline asterisk up|down|status|cli CMD...``: the development Asterisk from the config."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from config.settings import LOOPBACK, HelplineConfig
from dialplan import VolunteerSip, render_asterisk_config
from helpline.cli_support import config_or_report
from runtime.asterisk import AriAccess, AsteriskRuntime
from runtime.errors import AsteriskError

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    """Add the ``asterisk`` subcommand and its actions."""
    parser = subparsers.add_parser("asterisk", help="run the development Asterisk (chroot)")
    actions = parser.add_subparsers(dest="asterisk_action", required=True)

    up = actions.add_parser("up", help="render the config, (re)install it and start Asterisk")
    up.add_argument("--wait", type=float, default=60.0, help="seconds to wait for ARI")
    up.add_argument(
        "--restart", action="store_true", help="restart even if running (new modules/transports)"
    )
    up.set_defaults(func=_up)

    down = actions.add_parser("down", help="stop Asterisk")
    down.set_defaults(func=_down)

    status = actions.add_parser("status", help="root, process and ARI state")
    status.set_defaults(func=_status)

    cli = actions.add_parser("cli", help="run an Asterisk CLI command (asterisk -rx)")
    cli.add_argument("words", nargs=argparse.REMAINDER, help="the command, e.g. core show channels")
    cli.set_defaults(func=_cli)


def runtime_for(cfg: HelplineConfig) -> AsteriskRuntime:
    """The runtime described by ``cfg.asterisk`` (root and ARI credentials)."""
    ast = cfg.asterisk
    return AsteriskRuntime(
        AriAccess(base_url=ast.ari_url, user=ast.ari_user, password=ast.ari_password),
        root=ast.root,
    )


def _up(args: argparse.Namespace) -> int:
    cfg = config_or_report(args)
    if cfg is None:
        return 2
    runtime = runtime_for(cfg)
    try:
        runtime.ensure_root()
        runtime.install_config(render_for(cfg))
        if runtime.is_running():
            if args.restart:
                waited = runtime.restart(args.wait)
            else:
                runtime.cli("core reload")
                waited = runtime.start(args.wait)
        else:
            waited = runtime.start(args.wait)
    except AsteriskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    status = runtime.status()
    print(
        f"Asterisk {status.version} up (pid {status.pid}) in {waited:.2f}s; "
        f"ARI {cfg.asterisk.ari_url}, SIP udp {cfg.asterisk.bind}:{cfg.asterisk.sip_port}, "
        f"WebSocket ws://{LOOPBACK}:{cfg.asterisk.http_port}/ws (loopback: proxy /ws to it)"
    )
    return 0


def volunteer_accounts(cfg: HelplineConfig) -> list[VolunteerSip]:
    """SIP accounts to render: every enabled volunteer of the volunteer store.

    Each is a plain SIP or a browser (WebRTC) phone as ``HelplineConfig.phone_of`` says (the
    account's ``[[volunteers]] phone``, else ``[asterisk] volunteer_phones``). A SIP phone is
    let in only from its location's ``networks`` and authenticates with its random SIP secret
    (only its HA1 is rendered), never the login password; a browser phone has no static secret
    at all (its credential is minted per web session, ``softphone.sip_credentials``). Without a
    reachable database there are no accounts: a phone gets its secret from ``helpline volunteer
    sip-secret`` once the database is set up.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import make_engine
    from storage.volunteers import VolunteerDirectory

    try:
        engine = make_engine(cfg.database.url)
        try:
            directory = VolunteerDirectory.from_config(engine, cfg)
            creds = directory.sip_credentials()
            location = {v.id: v.location_id for v in directory.list(enabled_only=True)}
        finally:
            engine.dispose()
    except (SQLAlchemyError, OSError):
        creds, location = [], {}
    accounts = []
    for user, ha1 in creds:
        networks = cfg.location_networks(location.get(user, ""))
        if networks is None:
            # Their location left the config: no network may vouch for the phone, so it stays
            # off the air rather than taking every other phone down with a render error.
            log.warning("volunteer %s: location not in the config; phone not rendered", user)
            continue
        webrtc = cfg.phone_of(user) == "webrtc"
        accounts.append(
            VolunteerSip(
                sip_user=user, ha1=None if webrtc else ha1, webrtc=webrtc, networks=networks
            )
        )
    return accounts


def render_for(cfg: HelplineConfig) -> dict[str, str]:
    """The complete Asterisk configuration for ``cfg`` and the current volunteers.

    After adding a volunteer: ``runtime.install_config(render_for(cfg))`` and
    ``runtime.cli("module reload res_pjsip.so")`` (Asterisk 22 has no ``pjsip reload``).
    """
    return render_asterisk_config(cfg, volunteer_accounts(cfg))


def reload_phones(cfg: HelplineConfig) -> bool:
    """Re-render the SIP accounts into the Asterisk that runs here and reload PJSIP.

    False (nothing done) when no Asterisk of ours runs with this configuration's root, e.g. in
    the compose set-up, where the init container renders the accounts; AsteriskError when it
    runs but the install or reload failed. Blocking: async callers use a thread.
    """
    runtime = runtime_for(cfg)
    try:
        ours = runtime.is_running() and runtime.ari_info() is not None
    except AsteriskError:
        ours = False
    if not ours:
        return False
    runtime.install_config(render_for(cfg))
    runtime.cli("module reload res_pjsip.so")  # Asterisk 22 has no "pjsip reload"
    return True


def _down(args: argparse.Namespace) -> int:
    cfg = config_or_report(args)
    if cfg is None:
        return 2
    try:
        runtime_for(cfg).stop()
    except AsteriskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("Asterisk stopped")
    return 0


def _status(args: argparse.Namespace) -> int:
    cfg = config_or_report(args)
    if cfg is None:
        return 2
    runtime = runtime_for(cfg)
    st = runtime.status()
    print(f"root:    {runtime.root} ({'ready' if st.root_ready else 'not built'})")
    print(f"process: {'running, pid ' + str(st.pid) if st.running else 'stopped'}")
    print(f"ARI:     {'up, Asterisk ' + str(st.version) if st.ari_up else 'down'}")
    return 0 if st.ari_up else 3


def _cli(args: argparse.Namespace) -> int:
    cfg = config_or_report(args)
    if cfg is None:
        return 2
    command = " ".join(args.words).strip()
    if not command:
        print("error: give a CLI command, e.g. helpline asterisk cli core show channels")
        return 2
    try:
        sys.stdout.write(runtime_for(cfg).cli(command))
    except AsteriskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
