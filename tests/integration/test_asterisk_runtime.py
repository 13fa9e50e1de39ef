"""The chrooted Asterisk runtime: set-up, config isolation, lifecycle, CLI and sounds."""

from __future__ import annotations

import io
import wave

import pytest

from runtime import asterisk as asterisk_mod
from runtime.asterisk import AriAccess, AsteriskRuntime
from runtime.errors import AsteriskCliError, AsteriskError, AsteriskSetupError

pytestmark = pytest.mark.integration


def test_ari_answers_with_asterisk_22(asterisk):
    info = asterisk.runtime.ari_info()
    assert info is not None
    assert str(info["system"]["version"]).startswith("22.")  # type: ignore[index]
    assert asterisk.start_s < 30


def test_wrong_ari_credentials_are_refused(asterisk):
    wrong = AsteriskRuntime(
        AriAccess(asterisk.ari.base_url, asterisk.ari.user, "wrong-password"),
        asterisk.runtime.root,
    )
    assert wrong.ari_info() is None


def test_only_our_rendered_files_are_in_etc(asterisk):
    installed = {p.name for p in asterisk.runtime.etc_dir.iterdir()}
    assert installed == set(asterisk.files)
    dist = asterisk.runtime.root / "etc/asterisk.dist"
    assert (dist / "pjsip_wizard.conf").exists()  # Debian's samples, parked, never loaded


def test_config_files_are_not_world_readable(asterisk):
    for path in asterisk.runtime.etc_dir.iterdir():
        assert path.stat().st_mode & 0o007 == 0, path


def test_start_is_idempotent_while_running(asterisk):
    pid = asterisk.runtime.pid()
    waited = asterisk.runtime.start(wait_s=10)
    assert asterisk.runtime.pid() == pid
    assert waited < 5


def test_cli_runs_commands(asterisk):
    assert "Asterisk 22." in asterisk.runtime.cli("core show version")


def test_status_reports_everything_up(asterisk):
    status = asterisk.runtime.status()
    assert status.root_ready and status.running and status.ari_up
    assert status.pid == asterisk.runtime.pid()
    assert status.version is not None and status.version.startswith("22.")


def test_start_logged_no_errors(asterisk):
    # Only the start-up: tests that follow provoke warnings on purpose (a missing prompt).
    assert " built by " in asterisk.startup_log
    assert "ERROR[" not in asterisk.startup_log, asterisk.startup_log
    assert "WARNING[" not in asterisk.startup_log, asterisk.startup_log


def test_only_loopback_listeners(asterisk):
    # TCP listeners of our Asterisk: HTTP/ARI and AMI, both on 127.0.0.1.
    out = asterisk.runtime.cli("http show status")
    assert "Server Enabled and Bound to 127.0.0.1:8088" in out
    assert "127.0.0.1" in asterisk.runtime.cli("manager show settings")


def test_install_sounds_makes_them_visible_to_ari(asterisk):
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 800)
    where = asterisk.runtime.install_sounds("nl", {"helpline-test-beep.wav": buf.getvalue()})
    assert (where / "helpline-test-beep.wav").read_bytes() == buf.getvalue()
    assert where == asterisk.runtime.root / "usr/share/asterisk/sounds/nl"
    with pytest.raises(AsteriskError):
        asterisk.runtime.install_sounds("nl", {"../escape.wav": b""})


def test_default_music_on_hold_has_a_file(asterisk):
    assert any(asterisk.runtime.moh_dir.glob("*.wav"))
    assert "Class: default" in asterisk.runtime.cli("moh show classes")


def test_cli_on_a_missing_root_raises(tmp_path):
    runtime = AsteriskRuntime(AriAccess("http://127.0.0.1:1/ari", "u", "p"), tmp_path / "none")
    with pytest.raises(AsteriskCliError):
        runtime.cli("core show version")
    assert runtime.status().root_ready is False
    assert runtime.pid() is None
    runtime.stop()  # stopping what is not running is a no-op


def test_setup_without_root_privileges_points_to_docker(tmp_path, monkeypatch):
    monkeypatch.setattr(asterisk_mod.os, "geteuid", lambda: 1000)
    runtime = AsteriskRuntime(AriAccess("http://127.0.0.1:1/ari", "u", "p"), tmp_path / "root")
    with pytest.raises(AsteriskSetupError, match="docker/"):
        runtime.ensure_root()


def test_unreachable_mirror_is_a_setup_error(tmp_path):
    runtime = AsteriskRuntime(
        AriAccess("http://127.0.0.1:1/ari", "u", "p"),
        tmp_path / "root",
        mirror="http://127.0.0.1:9/debian",
    )
    with pytest.raises(AsteriskSetupError, match="mirror unreachable"):
        runtime.ensure_root(timeout_s=120)
    assert not (tmp_path / "root").exists()
    assert not list(tmp_path.glob(".root.build-*"))  # no half root left behind


def test_restart_comes_back(asterisk):
    old_pid = asterisk.runtime.pid()
    waited = asterisk.runtime.restart(wait_s=30)
    assert asterisk.runtime.pid() not in (None, old_pid)
    assert asterisk.runtime.ari_info() is not None
    assert waited < 30
