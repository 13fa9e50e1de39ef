"""``helpline surge on|off``: new contacts go to supervisors and trained staff only, or back.

Through the running app's admin API (``[http] admin_token``, the admin listener), so the
one writer makes the change and every supervisor's screen shows it on the live bus. Without
an argument it prints whether surge mode is on.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Any

from config.settings import HelplineConfig
from helpline.cli_support import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, config_or_report

TIMEOUT_S = 5.0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "surge", help="surge mode: new contacts to supervisors and trained staff only"
    )
    parser.add_argument("state", nargs="?", choices=("on", "off"), help="switch it (default: show)")
    parser.set_defaults(func=_surge)


def _surge(args: argparse.Namespace) -> int:
    cfg = config_or_report(args)
    if cfg is None:
        return EXIT_USAGE
    if cfg.http.admin_token is None:
        print("helpline surge: [http] admin_token is not set; no admin API", file=sys.stderr)
        return EXIT_USAGE
    body = None if args.state is None else {"on": args.state == "on"}
    try:
        reply = admin_request(cfg, "surge", body)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"helpline surge: the admin API did not answer: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"surge mode is {'on' if reply.get('surge') else 'off'}")
    return EXIT_OK


def admin_request(cfg: HelplineConfig, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
    """GET (no body) or POST ``/api/v1/admin/<path>``; the decoded JSON reply."""
    http = cfg.http
    url = f"http://{http.admin_host}:{http.admin_port}/api/v1/admin/{path}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    request.add_header("Authorization", f"Bearer {http.admin_token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - ours
        reply: dict[str, Any] = json.loads(response.read())
    return reply
