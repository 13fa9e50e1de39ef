"""Shared integration fixtures: one real Asterisk 22 per test session.

``asterisk`` renders our configuration (``dialplan.render_asterisk_config``) from
``TEST_CONFIG`` plus a few test volunteer SIP accounts, installs it into the cached sid root
(built on first use, ~40 s) and starts Asterisk; it is stopped when the session ends. It binds
the ports of the development config (SIP 5060, HTTP/ARI 8088, AMI 5038), so a ``make up``
Asterisk running at the same time is replaced by the test one.

Use ``asterisk.ari`` (base_url/user/password) to connect your ARI app as ``asterisk.app``; place
calls from the carrier with ``tests.integration.sipp.start_carrier_call``; register test phones
with ``asterisk.volunteers`` (sip_user -> plaintext password, realm ``asterisk.realm``).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from config.settings import HelplineConfig, parse_config
from dialplan import VolunteerSip, render_asterisk_config, sip_ha1
from helpline.service import prompt_languages, required_prompts
from ivr.ivr_config import IvrSection
from runtime.asterisk import AriAccess, AsteriskRuntime
from runtime.errors import AsteriskError, AsteriskSetupError
from runtime.prompts import generate_prompts
from tests.integration.redis_support import private_redis, redis  # noqa: F401 (shared fixtures)

TEST_CONFIG = """
languages = ["nl", "en"]

[[lines]]
id = "116111"
numbers = ["116111"]
language = "nl"

[[lines]]
id = "0800-0432"
numbers = ["08000432"]
language = "nl"

[[lines]]
id = "english"
numbers = ["116112"]
language = "en"

[[lines]]
id = "menu"
numbers = ["116113"]
language = "nl"
menu = {{ options = {{ "1" = "nl", "2" = "en" }}, timeout_s = 3 }}

[[lines]]
id = "closed"
numbers = ["116114"]
language = "nl"
schedule = "never"

[helpline]
demo = true       # test secrets and the shared password-less test Redis (config.known_defaults)

[ivr]
welcome = false   # the call-path tests need no welcome; the IVR tests switch it on

# Tests drive the clock through configuration: lines open now, or closed now.
[schedules.default]
daily = ["00:00-24:00"]
holidays = ""

[schedules.never]
daily = []
holidays = ""

# Partners answer on the carrier address (sip:127.0.0.2:5060, the default dial_out_uri), as a
# real partner is reached through the carrier (tests.integration.sipp.start_partner).
[[partners]]
id = "veilig-thuis"
name = "Veilig Thuis"
number = "08002000"
regions = ["utrecht", "haaglanden"]

[[partners]]
id = "closed-partner"
name = "Kinderrechtenhelpdesk Never Open (Defence for Children)"  # long: it must wrap on screens
number = "0715160980"
schedule = "never"

[transfer]
ring_timeout_s = 5   # the no-answer test waits this long

# The children's chat (issue 12): a fixed token key is fine in a test.
[chat]
enabled = true
line = "116111"
token_key = "chat-token-key-for-tests-0123456789"
grace_s = 5
messages_per_10s = 5
max_message_chars = 200

[[chat.canned]]
id = "forum"
label = {{ nl = "Forum", en = "Forum" }}
text = {{ nl = "Kijk op ons forum.", en = "Have a look at our forum." }}

[[chat.canned]]
id = "emergency"
label = {{ nl = "112", en = "112" }}
text = {{ nl = "Ben je in gevaar? Bel 112.", en = "In danger? Call 112." }}

[[locations]]
id = "utrecht"
name = "Utrecht"

# Phones of this location may only register from 127.0.0.64-127.0.0.127 (test_sip_edge.py).
[[locations]]
id = "far"
name = "Far"
networks = ["127.0.0.64/26"]

[asterisk]
root = "{root}"
bind = "127.0.0.1"
sip_port = 5060
http_port = 8088
ami_port = 5038
app = "helpline-test"
ari_user = "helpline-test"
ari_password = "test-ari-secret"
ami_user = "helpline-test"
ami_password = "test-ami-secret"
sip_realm = "helpline"
trunk_addresses = ["127.0.0.2"]
rtp_start = 10000
rtp_end = 10999
"""

# Test phones: UDP ones that sipp/pjsua can register, and one browser (WebRTC) endpoint.
TEST_VOLUNTEERS = {
    "test-udp-1": ("test-sip-pass-1", False),
    "test-udp-2": ("test-sip-pass-2", False),
    "test-web-1": ("test-sip-pass-3", True),
}
FAR_VOLUNTEER = ("test-far-1", "test-sip-pass-far")
"""A UDP phone of location ``far`` (127.0.0.64/26 only); kept out of TEST_VOLUNTEERS because
the phone pools register those from 127.0.0.1."""


@dataclass(frozen=True)
class AsteriskUnderTest:
    """What the ``asterisk`` fixture yields."""

    runtime: AsteriskRuntime
    cfg: HelplineConfig
    files: dict[str, str]
    """The rendered configuration that was installed (file name -> text)."""
    start_s: float
    """Seconds from launching Asterisk until ARI answered."""
    volunteers: dict[str, str] = field(default_factory=dict)
    """SIP user -> plaintext password of the test phones."""
    startup_log: str = ""
    """What Asterisk logged (warnings and errors) while starting, before any test ran."""

    @property
    def ari(self) -> AriAccess:
        return self.runtime.ari

    @property
    def app(self) -> str:
        return self.cfg.asterisk.app

    @property
    def realm(self) -> str:
        return self.cfg.asterisk.sip_realm

    @property
    def sip_address(self) -> str:
        return f"{self.cfg.asterisk.bind}:{self.cfg.asterisk.sip_port}"


def _test_config() -> HelplineConfig:
    root = os.environ.get("HELPLINE_ASTERISK_ROOT", "/var/lib/helpline/asterisk-root")
    return parse_config(TEST_CONFIG.format(root=root), "tests/integration/conftest.py")


_RUNNING: list[AsteriskUnderTest] = []
"""The session's Asterisk while it runs: tests/browser declares this fixture too (pytest makes
one instance per declaring conftest), and both must get the same Asterisk, not a second one
waiting forever on the first one's lock."""


@pytest.fixture(scope="session")
def asterisk() -> Iterator[AsteriskUnderTest]:
    """A running Asterisk with our rendered configuration, for the whole session.

    A file lock serialises test sessions on one machine: two sessions restarting the same
    chrooted Asterisk under each other make both fail in confusing ways.
    """
    if _RUNNING:
        yield _RUNNING[0]  # the other declaration started it; it also stops it
        return
    lock_path = Path("/var/lib/helpline/asterisk-tests.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for running in _asterisk_session():
            _RUNNING.append(running)
            try:
                yield running
            finally:
                _RUNNING.clear()


def fixture_phones(cfg: HelplineConfig) -> list[VolunteerSip]:
    """The test phones every rendering of the test Asterisk must keep (tests that render
    accounts of their own add to these, so later tests still find theirs)."""
    ast = cfg.asterisk
    # A browser phone has no static secret: its password is minted per web session and pushed
    # over ARI (softphone.sip_credentials); "test-sip-pass-3" is never rendered.
    accounts = [
        VolunteerSip(
            sip_user=user,
            ha1=None if webrtc else sip_ha1(user, ast.sip_realm, password),
            webrtc=webrtc,
        )
        for user, (password, webrtc) in TEST_VOLUNTEERS.items()
    ]
    far_user, far_password = FAR_VOLUNTEER
    far_networks = cfg.location_networks("far")
    assert far_networks is not None
    accounts.append(
        VolunteerSip(
            sip_user=far_user,
            ha1=sip_ha1(far_user, ast.sip_realm, far_password),
            webrtc=False,
            networks=far_networks,
        )
    )
    return accounts


def _asterisk_session() -> Iterator[AsteriskUnderTest]:
    cfg = _test_config()
    ast = cfg.asterisk
    runtime = AsteriskRuntime(AriAccess(ast.ari_url, ast.ari_user, ast.ari_password), ast.root)
    files = render_asterisk_config(cfg, fixture_phones(cfg))
    if os.geteuid() != 0:
        pytest.skip("the chrooted test Asterisk needs root (use the docker/ deployment)")
    try:
        runtime.ensure_root()
        runtime.stop()  # a development instance or a leftover: start clean with our config
        runtime.install_config(files)
        # Every prompt any test line may play, in every language (cached by a manifest).
        generate_prompts(
            runtime.root,
            prompt_languages(cfg),
            required_prompts(
                cfg.model_copy(update={"ivr": IvrSection(announce_expected_wait=True)})
            ),
        )
        start_s = runtime.start(wait_s=60.0)
    except AsteriskSetupError as exc:
        pytest.fail(f"cannot set up the test Asterisk: {exc}")
    except AsteriskError as exc:
        pytest.fail(f"test Asterisk did not start: {exc}")
    try:
        messages = (runtime.log_dir / "messages").read_text(errors="replace")
        startup_log = messages[messages.rindex(" built by ") :]
        yield AsteriskUnderTest(
            runtime=runtime,
            cfg=cfg,
            files=files,
            start_s=start_s,
            volunteers={user: password for user, (password, _) in TEST_VOLUNTEERS.items()},
            startup_log=startup_log,
        )
    finally:
        runtime.stop()
