"""The benches' pure helpers: scrubbing sipp errors, private port blocks, the proxy's rules,
and the trace parser the figures come from."""

from __future__ import annotations

import re
import socket
from pathlib import Path

from bench.rig import BLOCK, PortPool, exit_meaning, read_errors, scrub
from bench.traces import first_by_call, is_invite, parse_trace, percentile
from tests.integration.ari_proxy import Delay, Fail, Rule

SIPP_ERRORS = """\
2026-12-02\t12:52:39.711616\t1796215959.711616: Aborting call on unexpected message for Call-Id '1-2@127.0.0.2': while expecting '200' (index 4), received 'SIP/2.0 503 Service Unavailable
Via: SIP/2.0/UDP 127.0.0.2:20104;branch=z9hG4bK-1
From: "Secret Child" <sip:0612345678@127.0.0.2:20104>;tag=1
To: <sip:116111@127.0.0.1:5070>;tag=abc
P-Asserted-Identity: <sip:+31612345678@127.0.0.2>
Contact: <sip:0612345678@127.0.0.2:20104>
'
"""  # noqa: E501


def test_scrub_removes_every_caller_identity_but_keeps_the_reason() -> None:
    text = scrub(SIPP_ERRORS)
    assert "0612345678" not in text and "612345678" not in text
    assert "Secret Child" not in text
    assert "received 'SIP/2.0 503 Service Unavailable" in text
    assert "Via: SIP/2.0/UDP 127.0.0.2:20104" in text  # addresses are not numbers
    assert "12:52:39.711616" in text  # timestamps survive (6-digit fractions)


def test_read_errors_is_scrubbed_and_bounded(tmp_path: Path) -> None:
    path = tmp_path / "errors.log"
    path.write_text(SIPP_ERRORS + "".join(f"line {i} 0687654321\n" for i in range(30)))
    shown = read_errors(path, limit=5)
    assert "0687654321" not in shown and "0612345678" not in shown
    assert shown.endswith("more lines")
    assert read_errors(tmp_path / "missing.log") == ""


def test_read_errors_leaves_out_the_ringing_scenarios_answers(tmp_path: Path) -> None:
    path = tmp_path / "errors.log"
    path.write_text(
        "The following events occurred:\n"
        "2026-12-02\t13:33:44.697182\t1796218424.697182: Call-Id: 1-2@127.0.0.1, receive "
        "timeout on message volunteer auto-answer, cancellable:2, jumping to label 6"
        "2026-12-02\t13:33:45.000000\t1796218425.000000: Aborting call on unexpected BYE"
        "2026-12-02\t13:33:46.000000\t1796218426.000000: Call-Id: 3-4@127.0.0.1, receive "
        "timeout on message volunteer auto-answer, cancellable:2, jumping to label 6\n"
    )
    shown = read_errors(path)
    assert "jumping to label" not in shown
    assert shown.splitlines() == [
        "The following events occurred:",
        "2026-12-02\t13:33:45.000000\t<number>.000000: Aborting call on unexpected BYE",
    ]


def test_exit_meaning_names_sipps_codes() -> None:
    assert "port in use" in exit_meaning(254)
    assert exit_meaning(0) == "exit 0: every call succeeded"
    assert exit_meaning(None) == "still running"


def test_port_pool_skips_a_taken_block() -> None:
    pool = PortPool("127.0.0.1", 30000, 30000 + 4 * BLOCK - 1)
    first = pool.take()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", first + 3))  # one port of the block taken by someone else
        taken = {pool.take() for _ in range(3)}
        again = {pool.take() for _ in range(4)}
    assert first % BLOCK == 0 and 30000 <= first < 30000 + 4 * BLOCK
    assert first not in taken | again  # the busy block is never handed out
    assert len(taken) == 3


def test_proxy_rule_takes_the_nth_match_only() -> None:
    rule = Rule("POST", re.compile(r"/ari/channels/[^/]+/answer"), Delay(3.0), skip=1, times=1)
    assert rule.take("POST", "/ari/channels/a/answer") is None  # skipped
    assert rule.take("GET", "/ari/channels/b/answer") is None  # other method: not counted
    assert rule.take("POST", "/ari/channels/b/answer/x") is None  # no full match
    assert rule.take("POST", "/ari/channels/b/answer") == Delay(3.0)
    assert rule.take("POST", "/ari/channels/c/answer") is None  # times=1 used up
    assert (rule.matched, rule.applied) == (3, 1)
    always = Rule("*", re.compile(r"/ari/.*"), Fail(500), times=None)
    assert [always.take(m, "/ari/x") for m in ("GET", "PUT")] == [Fail(500), Fail(500)]


TRACE = """\
----------------------------------------------- 2026-12-02 12:00:00.100000
UDP message sent (300 bytes):

INVITE sip:116111@127.0.0.1:5070 SIP/2.0
Call-ID: 1-abc@127.0.0.2
CSeq: 1 INVITE

----------------------------------------------- 2026-12-02 12:00:00.105000
UDP message received [200] bytes :

SIP/2.0 100 Trying
Call-ID: 1-abc@127.0.0.2
CSeq: 1 INVITE

----------------------------------------------- 2026-12-02 12:00:00.600000
UDP message sent (300 bytes):

INVITE sip:116111@127.0.0.1:5070 SIP/2.0
Call-ID: 1-abc@127.0.0.2
CSeq: 1 INVITE
"""


def test_trace_parser_keeps_the_first_invite_per_call(tmp_path: Path) -> None:
    path = tmp_path / "messages.log"
    path.write_text(TRACE)
    msgs = parse_trace(path)
    assert [(m.sent, m.first_line.split()[0]) for m in msgs] == [
        (True, "INVITE"),
        (False, "SIP/2.0"),
        (True, "INVITE"),
    ]
    invites = first_by_call(msgs, lambda m: m.sent and is_invite(m))
    assert list(invites) == ["1-abc@127.0.0.2"]
    assert invites["1-abc@127.0.0.2"] == msgs[0].ts
    assert round(msgs[1].ts - msgs[0].ts, 6) == 0.005


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([], 50) != percentile([], 50)  # NaN
