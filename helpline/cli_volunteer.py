"""``helpline volunteer ...``: add, list, disable, enable, re-password and re-role accounts,
and issue a phone's SIP secret.

Exit codes: 0 ok, 2 for a user error (bad config, unknown volunteer, invalid data) with one line
on stderr, 1 when the database itself fails. Passwords are read from stdin or a no-echo prompt
and are never printed; the list shows no hashes. ``sip-secret`` prints a new random SIP secret
once (only its digest is kept), for configuring the volunteer's phone.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Sequence

from sqlalchemy import Engine

from config.settings import HelplineConfig
from helpline.cli_support import run_with_database
from helpline.errors import CliUserError
from storage.errors import VolunteerError, VolunteerExists
from storage.volunteers import ROLES, VolunteerDirectory, VolunteerInfo, check_role

# Not argparse ``choices``: a bad role is a one-line user error (exit 2) like a bad location.
_ROLE_METAVAR = "{" + ",".join(ROLES) + "}"

# Commands that change no SIP account, so Asterisk need not reload.
_NO_SIP_CHANGE = frozenset({"list", "role"})


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``volunteer`` command group to the top-level parser."""
    parser = subparsers.add_parser("volunteer", help="manage volunteer accounts")
    sub = parser.add_subparsers(dest="volunteer_command", required=True)

    add = sub.add_parser("add", help="create a volunteer account")
    add.add_argument("id", help="login id, also the SIP user (a-z 0-9 _ -)")
    add.add_argument("--name", required=True)
    add.add_argument("--location", required=True, help="a location id from the config")
    add.add_argument("--skills", required=True, help="comma list, e.g. phone,chat")
    add.add_argument("--languages", default=None, help="comma list (default: first language)")
    add.add_argument("--young", action="store_true", help="peer volunteer aged 16-19 (chat only)")
    add.add_argument(
        "--role",
        default="volunteer",
        metavar=_ROLE_METAVAR,
        help="supervisor for staff who coach volunteers (default: volunteer)",
    )
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(func=_wrap(_cmd_add))

    lst = sub.add_parser("list", help="show volunteers (never passwords)")
    lst.add_argument("--enabled-only", action="store_true")
    lst.set_defaults(func=_wrap(_cmd_list))

    for name, helptext in (
        ("disable", "stop a volunteer logging in"),
        ("enable", "let a disabled volunteer log in again"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("id")
        p.set_defaults(func=_wrap(_cmd_disable if name == "disable" else _cmd_enable))

    pw = sub.add_parser(
        "passwd", help="set a new login password (ends their sessions, rotates the SIP secret)"
    )
    pw.add_argument("id")
    pw.add_argument("--password-stdin", action="store_true")
    pw.set_defaults(func=_wrap(_cmd_passwd))

    sip = sub.add_parser(
        "sip-secret",
        help="issue a new SIP secret for the volunteer's phone and show it once",
        description="Rotates the SIP secret (the old one stops working) and prints the new one"
        " once; only its digest is stored, so it cannot be shown again.",
    )
    sip.add_argument("id")
    sip.set_defaults(func=_wrap(_cmd_sip_secret))

    role = sub.add_parser("role", help="make an account a volunteer, supervisor or admin")
    role.add_argument("id")
    role.add_argument("role", metavar=_ROLE_METAVAR)
    role.set_defaults(func=_wrap(_cmd_role))


_Command = Callable[[argparse.Namespace, HelplineConfig, VolunteerDirectory], None]


def _wrap(cmd: _Command) -> Callable[[argparse.Namespace], int]:
    """Load config, migrate, run ``cmd`` and map our errors to exit codes."""

    def run(args: argparse.Namespace) -> int:
        def body(cfg: HelplineConfig, engine: Engine) -> None:
            cmd(args, cfg, VolunteerDirectory.from_config(engine, cfg))
            if args.volunteer_command not in _NO_SIP_CHANGE:
                _reload_phones(cfg)

        user_errors = (VolunteerError, CliUserError)
        return run_with_database("helpline volunteer", args.config, user_errors, body)

    return run


def _reload_phones(cfg: HelplineConfig) -> None:
    """Give Asterisk the changed SIP accounts when it runs here with this configuration."""
    from helpline.cli_asterisk import reload_phones
    from runtime.errors import AsteriskError

    try:
        reloaded = reload_phones(cfg)
    except AsteriskError as exc:
        raise CliUserError(f"the account changed, but Asterisk did not reload: {exc}") from exc
    if not reloaded:
        # Not a `make up` Asterisk on this machine: a container deployment (docker/README.md)
        # or Asterisk elsewhere. Say how each applies the change, not that nothing runs.
        print(
            "SIP account changed in the database; no Asterisk of `helpline asterisk up` runs"
            " here to reload. Apply it with `helpline asterisk up`, or in the containers with"
            " `docker compose run --rm init` and `module reload res_pjsip.so` (docker/README.md)"
        )
        return
    print("SIP accounts reloaded in Asterisk")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise CliUserError("no password on stdin")
        return password
    try:
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Repeat password: ")
    except (EOFError, KeyboardInterrupt) as exc:
        raise CliUserError("no password entered") from exc
    if first != second:
        raise CliUserError("passwords do not match")
    return first


def _cmd_add(args: argparse.Namespace, cfg: HelplineConfig, vols: VolunteerDirectory) -> None:
    languages = args.languages if args.languages is not None else cfg.languages[0]
    if vols.get(args.id) is not None:  # fail before asking for a password
        raise VolunteerExists(f"volunteer {args.id!r} already exists")
    role = check_role(args.role)  # also before the password prompt
    password = _read_password(args.password_stdin)
    info = vols.add(
        args.id,
        args.name,
        args.location,
        args.skills,
        languages,
        password,
        young=args.young,
        role=role,
    )
    print(f"added volunteer {info.id} ({info.name}, {info.location_id}, {info.role})")
    print(f"their phone's SIP secret: helpline volunteer sip-secret {info.id}")


def _cmd_list(args: argparse.Namespace, cfg: HelplineConfig, vols: VolunteerDirectory) -> None:
    print(format_table(vols.list(enabled_only=args.enabled_only)), end="")


def _cmd_disable(args: argparse.Namespace, cfg: HelplineConfig, vols: VolunteerDirectory) -> None:
    vols.disable(args.id)
    print(f"disabled volunteer {args.id}")


def _cmd_enable(args: argparse.Namespace, cfg: HelplineConfig, vols: VolunteerDirectory) -> None:
    vols.enable(args.id)
    print(f"enabled volunteer {args.id}")


def _cmd_passwd(args: argparse.Namespace, cfg: HelplineConfig, vols: VolunteerDirectory) -> None:
    vols.require(args.id)
    vols.set_password(args.id, _read_password(args.password_stdin))
    print(f"password changed for volunteer {args.id}")


def _cmd_sip_secret(
    args: argparse.Namespace, cfg: HelplineConfig, vols: VolunteerDirectory
) -> None:
    if cfg.phone_of(args.id) == "webrtc":
        # A browser phone gets a password per web session; a static secret would not be used.
        vols.require(args.id)
        print(
            f"{args.id} uses the browser phone: it signs in on the web page and gets its SIP"
            " credential per session; no SIP secret to configure"
        )
        return
    secret = vols.new_sip_secret(args.id)
    # The one place the secret is ever shown: stdout of the person configuring the phone.
    print(f"SIP user:   {args.id}")
    print(f"SIP realm:  {cfg.asterisk.sip_realm}")
    print(f"SIP secret: {secret}")
    print("shown once; the previous secret no longer works")


def _cmd_role(args: argparse.Namespace, cfg: HelplineConfig, vols: VolunteerDirectory) -> None:
    vols.set_role(args.id, args.role)  # checks the role
    print(f"account {args.id} is now a {args.role}")


_HEADERS = ("ID", "NAME", "LOCATION", "SKILLS", "LANGUAGES", "ROLE", "YOUNG", "ENABLED")


def format_table(volunteers: Sequence[VolunteerInfo]) -> str:
    """A plain-text table of volunteers; deliberately has no secret columns."""
    rows = [_HEADERS] + [
        (
            v.id,
            v.name,
            v.location_id,
            ",".join(v.skills),
            ",".join(v.languages),
            v.role,
            "yes" if v.young else "no",
            "yes" if v.enabled else "no",
        )
        for v in volunteers
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADERS))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join(lines) + "\n"
