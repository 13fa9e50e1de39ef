"""The security log: what a line says, what it never says, and that the fail2ban filter reads it."""

from __future__ import annotations

import configparser
import logging
import re
from pathlib import Path

import pytest

from security import log as security_log
from security.ami import describe

ROOT = Path(__file__).resolve().parents[2]
FILTER = ROOT / "docker" / "fail2ban" / "filter.d" / "helpline.conf"

SECRET_NUMBER = "0612345678"
ACCOUNTS = frozenset({"vol-1", "vol-2"})
TRUNKS = frozenset({"192.0.2.1"})


@pytest.fixture
def lines(tmp_path: Path):
    path = tmp_path / "security.log"
    handler = security_log.attach_file(path)
    try:
        yield lambda: path.read_text().splitlines()
    finally:
        security_log.detach(handler)


def _event(name: str, account: str, address: str, service: str = "PJSIP") -> dict[str, str]:
    return {
        "Event": name,
        "Privilege": "security,all",
        "Service": service,
        "AccountID": account,
        "RemoteAddress": address,
        "LocalAddress": "IPV4/UDP/192.0.2.10/5060",
        "SessionID": "abc",
    }


def _write(fields: dict[str, str]) -> None:
    failure = describe(fields, ACCOUNTS, TRUNKS)
    assert failure is not None
    security_log.failed_sip_auth(failure.account, failure.address, failure.event, "SIP")


def test_a_wrong_password_names_the_account_and_the_address(lines):
    _write(_event("ChallengeResponseFailed", "vol-1", "IPV4/UDP/198.51.100.7/5062"))
    [line] = lines()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ helpline-security: failed SIP auth account=vol-1 "
        r"from=198\.51\.100\.7 event=ChallengeResponseFailed",
        line,
    )


def test_an_unknown_account_is_a_fixed_word_never_the_from_user(lines):
    _write(_event("InvalidAccountID", SECRET_NUMBER, "IPV4/UDP/198.51.100.7/5060"))
    _write(_event("ChallengeResponseFailed", SECRET_NUMBER, "IPV4/UDP/198.51.100.7/5060"))
    assert [line.split(": ", 1)[1] for line in lines()] == [
        "failed SIP auth account=unknown from=198.51.100.7 event=InvalidAccountID",
        "failed SIP auth account=unknown from=198.51.100.7 event=ChallengeResponseFailed",
    ]


def test_a_failure_from_the_trunk_names_no_account_even_a_volunteer_one(lines):
    _write(_event("ChallengeResponseFailed", "vol-1", "IPV4/UDP/192.0.2.1/5060"))
    [line] = lines()
    assert "account=carrier from=192.0.2.1" in line and "vol-1" not in line


def test_only_failures_are_written():
    for name in ("ChallengeSent", "SuccessfulAuth", "Newchannel", ""):
        assert (
            describe(_event(name, "vol-1", "IPV4/UDP/198.51.100.7/5060"), ACCOUNTS, TRUNKS) is None
        )


def test_an_ipv6_address_and_garbage_addresses():
    assert security_log.address_of("IPV6/UDP/2001:db8::1/5060") == "2001:db8::1"
    assert security_log.address_of("IPV6/UDP/[2001:db8::1]/5060") == "2001:db8::1"
    assert security_log.address_of("2001:db8::1") == "2001:db8::1"
    for garbage in (None, "", "IPV4/UDP/evil\nline/5060", SECRET_NUMBER, "x/y/z/w"):
        assert security_log.address_of(garbage) == "unknown"


def test_a_failed_api_login(lines):
    security_log.failed_login("vol-2", "198.51.100.9")
    security_log.failed_login("Bob\nfake line account=vol-1 from=203.0.113.1", "::1")
    security_log.failed_login("vol-1", None)
    assert [line.split(": ", 1)[1] for line in lines()] == [
        "failed API login account=vol-2 from=198.51.100.9",
        "failed API login account=invalid from=::1",
        "failed API login account=vol-1 from=unknown",
    ]


def test_an_odd_event_name_or_service_is_not_copied(lines):
    security_log.failed_sip_auth("unknown", "198.51.100.7", "Evil\nline", service="X\ny")
    [line] = lines()
    assert line.endswith("failed auth account=unknown from=198.51.100.7 event=unknown")


def _fail2ban_matcher():
    """fail2ban's reading of the filter, emulated: cut the datepattern, <HOST> is an address."""
    parser = configparser.RawConfigParser()
    parser.read(FILTER)
    definition = parser["Definition"]
    host = r"(?P<host>(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]+)"
    fail = re.compile(definition["failregex"].replace("<HOST>", host))
    ignore = re.compile(definition["ignoreregex"])
    date = definition["datepattern"].replace("%%", "%")
    date_re = re.compile(
        date.replace("%Y", r"\d{4}")
        .replace("%m", r"\d\d")
        .replace("%d", r"\d\d")
        .replace("%H", r"\d\d")
        .replace("%M", r"\d\d")
        .replace("%S", r"\d\d")
        .replace("%z", r"(?:Z|[+-]\d\d:?\d\d)")
    )

    def host_of(line: str) -> str | None:
        dated = date_re.match(line)
        assert dated, line
        rest = line[dated.end() :]
        if ignore.search(rest):
            return None
        found = fail.search(rest)
        return found["host"] if found else None

    return host_of


def test_the_fail2ban_filter_bans_the_guessers_address_and_never_the_carrier(lines):
    host_of = _fail2ban_matcher()
    _write(_event("ChallengeResponseFailed", "vol-1", "IPV4/UDP/198.51.100.7/5062"))
    _write(_event("InvalidAccountID", SECRET_NUMBER, "IPV6/UDP/2001:db8::7/5060"))
    security_log.failed_login("vol-2", "203.0.113.5")
    security_log.failed_login("vol-2", "::1")
    _write(_event("ChallengeResponseFailed", "vol-1", "IPV4/UDP/192.0.2.1/5060"))  # trunk
    assert [host_of(line) for line in lines()] == [
        "198.51.100.7",
        "2001:db8::7",
        "203.0.113.5",
        "::1",
        None,
    ]


def test_the_filters_sample_lines_are_what_the_writer_writes():
    """The examples in the filter's header are real lines (same words, same order)."""
    host_of = _fail2ban_matcher()
    samples = [
        line.lstrip("# ").strip()
        for line in FILTER.read_text().splitlines()
        if "helpline-security:" in line and line.startswith("#   ")
    ]
    assert len(samples) == 2
    assert [host_of(s) for s in samples] == ["192.0.2.7", "192.0.2.7"]


def test_nothing_propagates_a_caller_number_through_the_python_log(caplog):
    caplog.set_level(logging.DEBUG)
    _write(_event("InvalidAccountID", SECRET_NUMBER, "IPV4/UDP/198.51.100.7/5060"))
    assert SECRET_NUMBER not in caplog.text
