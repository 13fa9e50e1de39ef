"""The simulator's pure parts: port blocks, event logs, injection files, ring pairing."""

from __future__ import annotations

import pytest

from runtime.errors import SimulationError
from runtime.phone_pool import EventLog, SipEvent, pair_rings, parse_events, write_accounts
from runtime.simulate import (
    MEDIA_OFFSET,
    PORT_BLOCK,
    SIPP_PORTS,
    PhoneAccount,
    PortBlocks,
    bind_failed,
    sipp_errors,
)


def test_port_blocks_are_disjoint_and_wrap_around_within_the_range():
    blocks = PortBlocks(range(16000, 16040), 8, seed=3)
    bases = [blocks.take() for _ in range(6)]
    assert bases == [16024, 16032, 16000, 16008, 16016, 16024]
    assert len(set(bases[:5])) == 5


def test_the_private_range_is_below_the_ephemeral_ports_and_fits_the_media_ports():
    assert SIPP_PORTS.stop <= 32768
    assert MEDIA_OFFSET + 3 < PORT_BLOCK  # audio and video RTP (+2) and their RTCP neighbours


def test_a_bind_failure_is_recognised_only_from_exit_254_and_the_error_file(tmp_path):
    errors = tmp_path / "errors.log"
    errors.write_text("Unable to bind main socket, errno = 98 (Address already in use)\n")
    assert bind_failed(254, errors)
    assert not bind_failed(1, errors)
    errors.write_text("Unexpected message\n")
    assert not bind_failed(254, errors)


def test_events_are_parsed_and_sipps_other_lines_skipped():
    lines = [
        "invite 1796216009.000000 254139.000000 1-17195@127.0.0.2",
        "registered 1796216010 5 sim-07",
        "2026-12-02 12:52:42 something sipp says",
        "answered 1796216009.000000 9",  # cut short: not an event
    ]
    assert parse_events(lines) == [
        SipEvent("invite", 1796216009.254139, "1-17195@127.0.0.2"),
        SipEvent("registered", 1796216010.000005, "sim-07"),
    ]


def test_an_event_log_is_read_as_it_grows_without_half_lines(tmp_path):
    path = tmp_path / "events.log"
    log = EventLog(path)
    assert log.poll() == []  # not there yet
    path.write_text("invite 10 0 a\ninvite 11 0 b\nansw")
    assert [e.ident for e in log.poll()] == ["a", "b"]
    with path.open("a") as f:
        f.write("ered 12 500000 a\n")
    assert log.poll() == [SipEvent("answered", 12.5, "a")]
    assert (log.count("invite"), log.count("answered"), log.count("ended")) == (2, 1, 0)


def test_the_injection_file_carries_each_accounts_authentication(tmp_path):
    path = tmp_path / "accounts.csv"
    write_accounts(path, [PhoneAccount("sim-01", "Pw_1-x"), PhoneAccount("sim-02", "pw2")])
    assert path.read_text().splitlines() == [
        "SEQUENTIAL",
        "sim-01;[authentication username=sim-01 password=Pw_1-x]",
        "sim-02;[authentication username=sim-02 password=pw2]",
    ]


@pytest.mark.parametrize("account", [PhoneAccount("sim 1", "pw"), PhoneAccount("s", "a;b]")])
def test_an_account_sipp_cannot_carry_is_refused(tmp_path, account):
    with pytest.raises(SimulationError):
        write_accounts(tmp_path / "accounts.csv", [account])


def test_rings_pair_in_order_and_a_caller_never_rung_does_not_shift_the_rest():
    callers = [0.0, 1.0, 2.0, 3.0]
    phones = [0.010, 2.012, 3.009]  # the caller at 1.0 was never rung
    pairs = pair_rings(callers, phones, window_s=0.5)
    assert [c for c, _ in pairs] == [0.0, 2.0, 3.0]
    assert [p - c for c, p in pairs] == pytest.approx([0.010, 0.012, 0.009])


def test_sipps_own_sentences_are_taken_from_its_error_file_without_the_quoted_messages(tmp_path):
    path = tmp_path / "errors.log"
    path.write_text(
        "The following events occurred:\n"
        "2026-12-02\t13:10:01.5\t1796216001.5: Aborting call on unexpected message for "
        "Call-Id '1-2@127.0.0.1': while expecting '200' (index 9), received 'SIP/2.0 401 "
        "Unauthorized\nVia: SIP/2.0/UDP 127.0.0.1:16000\nFrom: <sip:sim-01@127.0.0.1>\n\n"
    )
    assert sipp_errors(path) == (
        "Aborting call on unexpected message for Call-Id '1-2@127.0.0.1': while expecting "
        "'200' (index 9), received 'SIP/2.0 401 Unauthorized"
    )
    assert sipp_errors(tmp_path / "missing.log") == ""
