"""A real Asterisk 22 for development, tests and ``make up``, run from a cached Debian sid root.

Debian bookworm has no Asterisk package, sid has 22.x. Rather than compile, we build a minimal sid
root with ``mmdebstrap`` once (cached at ``/var/lib/helpline/asterisk-root``) and run Asterisk in
it with ``chroot``. The root shares the host network, so everything we render binds 127.0.0.1.
Production uses the images in ``docker/``; this module is the developer/CI path and needs root.

Everything here is idempotent: ``ensure_root`` reuses a finished root, ``install_config`` rewrites
only our files, ``start`` on a running Asterisk only waits for ARI, ``stop`` on a stopped one is a
no-op.
"""

from __future__ import annotations

import array
import base64
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import wave
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import AsteriskCliError, AsteriskError, AsteriskSetupError, AsteriskStartError

DEFAULT_ROOT = Path(os.environ.get("HELPLINE_ASTERISK_ROOT", "/var/lib/helpline/asterisk-root"))
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SUITE = "sid"
PACKAGES = ("asterisk", "asterisk-modules")
_DOCKER_HINT = "use the container deployment in docker/ instead (see docker/README)"
# Directories Asterisk writes to (or reads its config from), relative to the root. /var/run is an
# absolute symlink to /run inside the root, so we always name /run directly: resolving
# ROOT/var/run from the host would land in the host's /run.
_ASTERISK_DIRS = (
    "etc/asterisk",
    "var/lib/asterisk",
    "var/log/asterisk",
    "var/spool/asterisk",
    "var/cache/asterisk",
    "run/asterisk",
)


@dataclass(frozen=True, slots=True)
class AriAccess:
    """How to reach ARI on the runtime: base URL (ending in ``/ari``) and HTTP basic credentials."""

    base_url: str
    """e.g. ``http://127.0.0.1:8088/ari``."""
    user: str
    """ARI user as rendered into ari.conf."""
    password: str
    """ARI password as rendered into ari.conf."""


@dataclass(frozen=True, slots=True)
class AsteriskStatus:
    """What ``status()`` reports."""

    root_ready: bool
    """The cached root exists and holds /usr/sbin/asterisk."""
    running: bool
    """An Asterisk process from this root is alive."""
    pid: int | None
    """Its host PID (no PID namespace, so host and root agree)."""
    ari_up: bool
    """ARI answered GET /asterisk/info with our credentials."""
    version: str | None
    """Asterisk's version as reported by ARI, when up."""


class AsteriskRuntime:
    """A chrooted Asterisk 22 from a cached Debian sid root.

    ``ari`` names the ARI endpoint and credentials that ``start`` waits for; they must match the
    http.conf/ari.conf installed with ``install_config``.
    """

    def __init__(
        self,
        ari: AriAccess,
        root: Path | str = DEFAULT_ROOT,
        *,
        mirror: str = DEFAULT_MIRROR,
        suite: str = DEFAULT_SUITE,
    ) -> None:
        self.ari = ari
        self.root = Path(root)
        self.mirror = mirror
        self.suite = suite

    # ----------------------------------------------------------------- paths

    @property
    def etc_dir(self) -> Path:
        """Where Asterisk reads its configuration (host path)."""
        return self.root / "etc/asterisk"

    @property
    def log_dir(self) -> Path:
        """Asterisk's log directory (host path)."""
        return self.root / "var/log/asterisk"

    @property
    def spool_dir(self) -> Path:
        """Asterisk's spool (recordings, voicemail, outgoing) (host path)."""
        return self.root / "var/spool/asterisk"

    @property
    def lib_dir(self) -> Path:
        """Asterisk's state directory: astdb, keys (host path)."""
        return self.root / "var/lib/asterisk"

    @property
    def run_dir(self) -> Path:
        """PID file and control socket (host path)."""
        return self.root / "run/asterisk"

    def written_dirs(self) -> list[Path]:
        """Every directory Asterisk may write to: what a privacy audit must grep."""
        return [
            self.log_dir,
            self.spool_dir,
            self.lib_dir,
            self.root / "var/cache/asterisk",
            self.run_dir,
        ]

    @property
    def moh_dir(self) -> Path:
        """Files of the default music-on-hold class (host path)."""
        return self.root / "usr/share/asterisk/moh"

    def sounds_dir(self, language: str = "en") -> Path:
        """Host path of the sound directory for ``language`` (Asterisk's ``sounds/<lang>``)."""
        return self.root / "usr/share/asterisk/sounds" / language

    # ------------------------------------------------------------------ root

    def root_ready(self) -> bool:
        """True when a complete root is cached (partial builds never get the final name)."""
        return (self.root / "usr/sbin/asterisk").is_file()

    def ensure_root(self, timeout_s: float = 900.0) -> Path:
        """Build the sid root with mmdebstrap unless a finished one is cached; return its path.

        The build goes to a temporary sibling directory that is renamed into place only after
        mmdebstrap succeeded, so an interrupted build never leaves a half root under the final name.
        """
        if self.root_ready():
            self._prepare_dirs()
            return self.root
        _require_root()
        if shutil.which("mmdebstrap") is None:
            _install_mmdebstrap()
        self.root.parent.mkdir(parents=True, exist_ok=True)
        self._remove_stale_builds()
        tmp = self.root.with_name(f".{self.root.name}.build-{os.getpid()}")
        cmd = [
            "mmdebstrap",
            "--variant=apt",
            "--aptopt=Acquire::Check-Valid-Until false",
            f"--include={','.join(PACKAGES)}",
            self.suite,
            str(tmp),
            self.mirror,
        ]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired as exc:
            self._remove_build_dir(tmp)
            raise AsteriskSetupError(
                f"mmdebstrap did not finish within {timeout_s:.0f}s; {_DOCKER_HINT}"
            ) from exc
        if proc.returncode != 0:
            self._remove_build_dir(tmp)
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
            raise AsteriskSetupError(
                f"building the Asterisk root from {self.mirror} failed (mirror unreachable?);"
                f" {_DOCKER_HINT}\n{tail}"
            )
        if self.root.exists():  # a leftover without usr/sbin/asterisk: not ours to keep
            self._remove_build_dir(self.root)
        tmp.rename(self.root)
        self._prepare_dirs()
        return self.root

    def _remove_stale_builds(self) -> None:
        for stale in self.root.parent.glob(f".{self.root.name}.build-*"):
            self._remove_build_dir(stale)

    def _remove_build_dir(self, path: Path) -> None:
        # An interrupted mmdebstrap may leave /proc, /sys or /dev mounted inside; rmtree would then
        # delete through the mount into the host. Refuse instead.
        resolved = str(path.resolve())
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                target = line.split()[1].replace("\\040", " ")
                if target == resolved or target.startswith(resolved + "/"):
                    raise AsteriskSetupError(
                        f"{target} is still mounted inside {path}; unmount it and remove {path}"
                    )
        shutil.rmtree(path, ignore_errors=True)

    def _asterisk_ids(self) -> tuple[int, int]:
        """uid/gid of the ``asterisk`` user *inside* the root (the host may have none)."""
        uid = gid = None
        for line in (self.root / "etc/passwd").read_text(encoding="utf-8").splitlines():
            fields = line.split(":")
            if fields[0] == "asterisk":
                uid, gid = int(fields[2]), int(fields[3])
        if uid is None or gid is None:
            raise AsteriskSetupError(f"no asterisk user in {self.root}/etc/passwd")
        return uid, gid

    def _prepare_dirs(self) -> None:
        # Asterisk runs as the root's asterisk user (-U/-G); it must own what it reads and writes.
        uid, gid = self._asterisk_ids()
        for rel in _ASTERISK_DIRS:
            top = self.root / rel
            top.mkdir(parents=True, exist_ok=True)
            _chown_tree(top, uid, gid)

    # ---------------------------------------------------------------- config

    def install_config(self, files: Mapping[str, str]) -> None:
        """Replace Asterisk's configuration with exactly ``files`` (name -> text).

        Debian's sample configs are moved to ``etc/asterisk.dist`` once, so nothing we did not
        render is ever loaded; files of ours from an earlier install that are not in ``files``
        are removed.
        """
        for name in files:
            if "/" in name or name.startswith("."):
                raise AsteriskError(f"invalid config file name {name!r}")
        self.ensure_root()
        dist = self.root / "etc/asterisk.dist"
        if not dist.exists():
            self.etc_dir.rename(dist)
            self.etc_dir.mkdir()
        for old in self.etc_dir.iterdir():
            if old.name not in files:
                if old.is_dir() and not old.is_symlink():
                    shutil.rmtree(old)
                else:
                    old.unlink()
        uid, gid = self._asterisk_ids()
        for name, text in files.items():
            target = self.etc_dir / name
            tmp = target.with_name(f".{name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.chown(tmp, uid, gid)
            tmp.chmod(0o640)  # holds ARI/AMI passwords and SIP digests
            tmp.replace(target)
        os.chown(self.etc_dir, uid, gid)
        self._ensure_default_moh()

    def _ensure_default_moh(self) -> None:
        # MoH with an empty directory fails to play; ship a generated tune until real music is
        # installed (any file added to moh_dir later joins the class on "moh reload").
        self.moh_dir.mkdir(parents=True, exist_ok=True)
        if not any(self.moh_dir.iterdir()):
            _write_tune(self.moh_dir / "helpline-tune.wav")

    def install_sounds(self, language: str, sounds: Mapping[str, bytes | Path]) -> Path:
        """Copy sound files (name with extension, e.g. ``welcome.wav``) into ``sounds/<lang>/``.

        Values are file contents or a path to copy. Returns the directory. Asterisk finds them
        as ``sound:welcome`` for a channel whose language is ``language``.
        """
        self.ensure_root()
        target_dir = self.sounds_dir(language)
        target_dir.mkdir(parents=True, exist_ok=True)
        for name, content in sounds.items():
            if "/" in name or name.startswith("."):
                raise AsteriskError(f"invalid sound file name {name!r}")
            target = target_dir / name
            if isinstance(content, Path):
                shutil.copyfile(content, target)
            else:
                target.write_bytes(content)
            target.chmod(0o644)
        return target_dir

    # ------------------------------------------------------------- lifecycle

    def pid(self) -> int | None:
        """PID of the running Asterisk of this root, or None.

        The pid file is asked first; when it is gone (an Asterisk whose run directory was
        wiped) every process is checked, so an orphan can still be found and stopped.
        """
        try:
            recorded = int((self.run_dir / "asterisk.pid").read_text().strip())
        except (OSError, ValueError):
            recorded = None
        if recorded is not None and self._is_ours(recorded):
            return recorded
        for entry in os.listdir("/proc"):
            if entry.isdigit() and self._is_ours(int(entry)):
                return int(entry)
        return None

    def _is_ours(self, pid: int) -> bool:
        # A stale pid file may name a recycled PID: check it is an asterisk chrooted in our root.
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
            proc_root = os.readlink(f"/proc/{pid}/root")
        except OSError:
            return False
        same_root = os.path.realpath(proc_root) == os.path.realpath(self.root)
        return exe.endswith("/asterisk") and same_root

    def is_running(self) -> bool:
        """True while an Asterisk process from this root is alive."""
        return self.pid() is not None

    def start(self, wait_s: float = 30.0) -> float:
        """Start Asterisk (unless running) and return once ARI answers; returns seconds waited."""
        self.ensure_root()
        started = time.monotonic()
        if not self.is_running():
            _require_root()
            self._prepare_dirs()
            (self.run_dir / "asterisk.ctl").unlink(missing_ok=True)
            proc = subprocess.run(
                [
                    "chroot",
                    str(self.root),
                    "/usr/sbin/asterisk",
                    "-U",
                    "asterisk",
                    "-G",
                    "asterisk",
                ],
                capture_output=True,
                text=True,
                timeout=wait_s,
                check=False,
            )
            if proc.returncode != 0:
                raise AsteriskStartError(
                    f"asterisk exited with {proc.returncode}: {proc.stderr.strip()}\n"
                    + self.log_tail()
                )
        deadline = started + wait_s
        while time.monotonic() < deadline:
            if self.ari_info() is not None:
                return time.monotonic() - started
            if not self.is_running() and time.monotonic() - started > 2.0:
                raise AsteriskStartError("Asterisk died during start-up\n" + self.log_tail())
            time.sleep(0.1)
        raise AsteriskStartError(
            f"ARI did not answer at {self.ari.base_url} within {wait_s:.0f}s\n" + self.log_tail()
        )

    def stop(self, wait_s: float = 15.0) -> None:
        """Stop Asterisk: a clean ``core stop now``, then SIGTERM, then SIGKILL."""
        pid = self.pid()
        if pid is None:
            return
        try:
            self.cli("core stop now", timeout_s=5.0)
        except AsteriskError:
            pass  # the control socket may already be gone; signals below finish the job
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    break
            if _wait_gone(pid, wait_s / 3):
                break
        else:
            raise AsteriskStartError(f"Asterisk (pid {pid}) did not stop\n" + self.log_tail())
        (self.run_dir / "asterisk.pid").unlink(missing_ok=True)

    def restart(self, wait_s: float = 30.0) -> float:
        """Stop then start (a full restart: new modules.conf and transports take effect)."""
        self.stop()
        return self.start(wait_s)

    def status(self) -> AsteriskStatus:
        """Root, process and ARI state in one snapshot."""
        info = self.ari_info() if self.is_running() else None
        version = None
        if info is not None:
            system = info.get("system")
            if isinstance(system, dict):
                version = str(system.get("version")) if system.get("version") else None
        return AsteriskStatus(
            root_ready=self.root_ready(),
            running=self.is_running(),
            pid=self.pid(),
            ari_up=info is not None,
            version=version,
        )

    # ------------------------------------------------------------ talking to

    def cli(self, command: str, timeout_s: float = 15.0) -> str:
        """Run one Asterisk CLI command through the control socket and return its output."""
        if not self.root_ready():
            raise AsteriskCliError(f"no Asterisk root at {self.root}")
        try:
            proc = subprocess.run(
                ["chroot", str(self.root), "/usr/sbin/asterisk", "-rx", command],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise AsteriskCliError(f"asterisk -rx {command!r} timed out") from exc
        if proc.returncode != 0 or "Unable to connect to remote asterisk" in proc.stdout:
            raise AsteriskCliError(
                f"asterisk -rx {command!r} failed: {(proc.stderr or proc.stdout).strip()}"
            )
        return proc.stdout

    def ari_info(self) -> dict[str, object] | None:
        """GET /asterisk/info with our credentials; None when ARI does not (yet) answer."""
        token = base64.b64encode(f"{self.ari.user}:{self.ari.password}".encode()).decode()
        request = urllib.request.Request(
            f"{self.ari.base_url.rstrip('/')}/asterisk/info",
            headers={"Authorization": f"Basic {token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=2.0) as response:  # noqa: S310
                data = json.loads(response.read().decode())
        except (urllib.error.URLError, OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the most recently written log file, for error messages."""
        try:
            logs = [p for p in self.log_dir.iterdir() if p.is_file()]
        except OSError:
            return "(no Asterisk log directory)"
        if not logs:
            return "(Asterisk wrote no log)"
        newest = max(logs, key=lambda p: p.stat().st_mtime)
        text = newest.read_text(encoding="utf-8", errors="replace").splitlines()
        return f"--- tail of {newest} ---\n" + "\n".join(text[-lines:])


def _write_tune(path: Path, seconds: float = 16.0, rate: int = 8000) -> None:
    """A soft, slow arpeggio (8 kHz, 16-bit mono WAV) so callers on hold hear that they wait."""
    notes = (261.63, 329.63, 392.00, 523.25, 392.00, 329.63)  # C major, up and down
    note_len = int(rate * 0.5)
    samples = array.array("h")
    for i in range(int(seconds * rate)):
        freq = notes[(i // note_len) % len(notes)]
        pos = (i % note_len) / note_len
        envelope = min(1.0, pos * 20) * (1.0 - pos) ** 2  # quick attack, gentle decay
        samples.append(int(6000 * envelope * math.sin(2 * math.pi * freq * i / rate)))
    if sys.byteorder == "big":
        samples.byteswap()
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    path.chmod(0o644)


def _require_root() -> None:
    if os.geteuid() != 0:
        raise AsteriskSetupError(
            "running Asterisk from a chroot needs root (mmdebstrap, chroot); " + _DOCKER_HINT
        )


def _install_mmdebstrap() -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "mmdebstrap"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            raise AsteriskSetupError(
                f"{' '.join(cmd)} failed; {_DOCKER_HINT}\n{proc.stderr.strip()[-2000:]}"
            )
    if shutil.which("mmdebstrap") is None:
        raise AsteriskSetupError(f"mmdebstrap is still missing after apt-get; {_DOCKER_HINT}")


def _chown_tree(top: Path, uid: int, gid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(top):
        os.chown(dirpath, uid, gid, follow_symlinks=False)
        for name in (*dirnames, *filenames):
            os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or _is_zombie(pid):
            return True
        time.sleep(0.05)
    return False


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"
