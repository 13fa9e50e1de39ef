"""Volunteer accounts: who may log in, with which skills and role, and their SIP credentials.

The login password is stored only as an argon2 hash and never becomes a SIP credential: each
account's phone has its own random secret (``secrets.token_urlsafe``), of which only the HA1
digest Asterisk's pjsip ``password_digest`` takes is kept. The plaintext secret exists only
while it is handed out once (``new_sip_secret``); the HA1 is itself a working SIP credential
for its realm, so it is treated like a password: never logged, never in API output.

Every password reset, disable and enable rotates the SIP secret and raises the account's
credential version, which ends the sessions made before it (see ``web.volunteer_api``).
"""

from __future__ import annotations

import builtins
import hashlib
import logging
import os
import re
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from config.settings import KNOWN_SKILLS, ROLES, HelplineConfig, Role, is_identifier
from storage.errors import InvalidVolunteer, UnknownVolunteer, VolunteerExists
from storage.models import SipSecret, Volunteer

__all__ = [
    "ARGON2_PROFILE_ENV",
    "MAX_PASSWORD_LEN",
    "MIN_PASSWORD_LEN",
    "ROLES",
    "SIP_SECRET_BYTES",
    "Role",
    "VolunteerDirectory",
    "VolunteerInfo",
    "check_role",
    "is_identifier",
    "make_hasher",
    "sip_ha1",
]

log = logging.getLogger(__name__)

# Always fullmatch: match() with "$" accepts a trailing newline (see config.settings.IDENTIFIER).
_LANGUAGE = re.compile(r"[a-z]{2,3}")
MIN_PASSWORD_LEN = 8
MAX_PASSWORD_LEN = 1024
SIP_SECRET_BYTES = 32
"""Entropy of a SIP secret: 256 bits, so guessing it over SIP or from its HA1 is hopeless."""
# Test suites set this to "test" to hash with argon2's cheapest profile; never in production.
ARGON2_PROFILE_ENV = "HELPLINE_ARGON2_PROFILE"


@dataclass(frozen=True, slots=True)
class VolunteerInfo:
    """A volunteer as shown to the rest of the system: no password hash, no SIP digest."""

    id: str
    name: str
    location_id: str
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    """In order of preference."""
    young: bool
    """A 16-19 year old peer volunteer: chat only."""
    enabled: bool
    created_at: datetime
    role: Role
    """"supervisor" for the staff who coach volunteers, "admin" for account managers, else
    "volunteer"."""
    credential_version: int = 0
    """Raised by every password reset, disable and enable; sessions carry the one they began
    under and die when it changes. Not a secret, but not API output either."""


def make_hasher() -> PasswordHasher:
    """argon2id with its RFC 9106 defaults, or the cheapest profile when tests ask for it."""
    if os.environ.get(ARGON2_PROFILE_ENV) == "test":
        return PasswordHasher.from_parameters(profiles.CHEAPEST)
    return PasswordHasher()


def sip_ha1(sip_user: str, realm: str, secret: str) -> str:
    """The SIP digest HA1 Asterisk takes as ``password_digest`` (md5 is what SIP digest uses)."""
    return hashlib.md5(f"{sip_user}:{realm}:{secret}".encode()).hexdigest()  # noqa: S324


def _device_auth_id(volunteer_id: str) -> str:
    # The pjsip auth object of the volunteer's phone, as dialplan.pjsip names it.
    return f"{volunteer_id}-auth"


def _split(value: str | Iterable[str]) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        item = item.strip()
        if item and item not in out:
            out.append(item)
    return out


def check_role(role: object) -> Role:
    """``role`` as a Role, or InvalidVolunteer (whose message never echoes the value)."""
    for known in ROLES:
        if role == known:
            return known
    raise InvalidVolunteer(f"role: must be one of {', '.join(ROLES)}")


def _check_password(password: str) -> None:
    # The message never contains the password itself.
    if not isinstance(password, str) or not MIN_PASSWORD_LEN <= len(password) <= MAX_PASSWORD_LEN:
        raise InvalidVolunteer(
            f"password: must be {MIN_PASSWORD_LEN}..{MAX_PASSWORD_LEN} characters"
        )


def _info(row: Any) -> VolunteerInfo:  # a Core Row of the volunteers table
    return VolunteerInfo(
        id=row.id,
        name=row.name,
        location_id=row.location_id,
        skills=tuple(s for s in row.skills.split(",") if s),
        languages=tuple(s for s in row.languages.split(",") if s),
        young=bool(row.young),
        enabled=bool(row.enabled),
        created_at=row.created_at,
        role=cast(Role, row.role),  # the table's CHECK constraint admits nothing else
        credential_version=row.credential_version,
    )


class VolunteerDirectory:
    """Creates, finds and authenticates volunteers stored in SQL.

    ``locations``/``languages``, when given (``from_config`` does), restrict what an account
    may name; without them any well-formed id or language code is accepted.
    """

    def __init__(
        self,
        engine: Engine,
        realm: str,
        *,
        locations: Collection[str] | None = None,
        languages: Collection[str] | None = None,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self._engine = engine
        self._realm = realm
        self._locations = frozenset(locations) if locations is not None else None
        self._languages = frozenset(languages) if languages is not None else None
        self._hasher = hasher or make_hasher()
        self._dummy_hash: str | None = None

    @classmethod
    def from_config(cls, engine: Engine, cfg: HelplineConfig) -> VolunteerDirectory:
        """A directory validating against the config's locations, languages and SIP realm."""
        return cls(
            engine,
            cfg.asterisk.sip_realm,
            locations=[loc.id for loc in cfg.locations],
            languages=cfg.languages,
        )

    # -- validation -------------------------------------------------------------------------

    def _validate(
        self,
        volunteer_id: str,
        name: str,
        location: str,
        skills: list[str],
        languages: list[str],
        young: bool,
    ) -> None:
        if not is_identifier(volunteer_id):
            # No value in the message: it may hold control characters or surrogates.
            raise InvalidVolunteer("id: use 1-48 of a-z 0-9 _ - (starting with a letter or digit)")
        if not name.strip() or len(name) > 100 or not name.isprintable():
            raise InvalidVolunteer("name: must be 1-100 printable characters")
        if not is_identifier(location) or (
            self._locations is not None and location not in self._locations
        ):
            raise InvalidVolunteer(f"location {location!r} is not a configured location")
        if not skills:
            raise InvalidVolunteer("skills: at least one is needed")
        unknown = sorted(set(skills) - KNOWN_SKILLS)
        if unknown:
            raise InvalidVolunteer(f"unknown skills {unknown}; known: {sorted(KNOWN_SKILLS)}")
        if "peer_chat" in skills and not young:
            raise InvalidVolunteer("skill 'peer_chat' is only for young (16-19) volunteers")
        if young and "phone" in skills:
            raise InvalidVolunteer("young (16-19) volunteers get no 'phone' skill")
        if not languages:
            raise InvalidVolunteer("languages: at least one is needed")
        for lang in languages:
            if not _LANGUAGE.fullmatch(lang) or (
                self._languages is not None and lang not in self._languages
            ):
                raise InvalidVolunteer(f"language {lang!r} is not a configured language")

    # -- commands ---------------------------------------------------------------------------

    def add(
        self,
        volunteer_id: str,
        name: str,
        location: str,
        skills: str | Iterable[str],
        languages: str | Iterable[str],
        password: str,
        young: bool = False,
        role: str = "volunteer",
    ) -> VolunteerInfo:
        """Create an enabled volunteer; VolunteerExists or InvalidVolunteer on failure.

        ``role`` is any string so untrusted input (CLI, API) is checked here, in one place.
        """
        skill_list = sorted(_split(skills))
        lang_list = _split(languages)
        self._validate(volunteer_id, name, location, skill_list, lang_list, young)
        checked_role = check_role(role)
        _check_password(password)
        values = {
            "id": volunteer_id,
            "name": name.strip(),
            "location_id": location,
            "skills": ",".join(skill_list),
            "languages": ",".join(lang_list),
            "young": young,
            "role": checked_role,
            "password_hash": self._hasher.hash(password),
            "enabled": True,
            "created_at": datetime.now(UTC),
        }
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(Volunteer), [values])
                # A secret nobody knows until ``new_sip_secret`` hands one out.
                self._rotate_sip(conn, volunteer_id)
        except IntegrityError as exc:
            raise VolunteerExists(f"volunteer {volunteer_id!r} already exists") from exc
        log.info("volunteer %s added at location %s as %s", volunteer_id, location, checked_role)
        info = self.get(volunteer_id)
        assert info is not None
        return info

    def get(self, volunteer_id: str) -> VolunteerInfo | None:
        """The volunteer with this id, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(select(Volunteer).where(Volunteer.id == volunteer_id)).first()
        return None if row is None else _info(row)

    def require(self, volunteer_id: str) -> VolunteerInfo:
        """Like get(), but UnknownVolunteer when missing."""
        info = self.get(volunteer_id)
        if info is None:
            raise UnknownVolunteer(f"no volunteer {volunteer_id!r}")
        return info

    def list(self, enabled_only: bool = False) -> builtins.list[VolunteerInfo]:
        """All volunteers (or only enabled ones), ordered by id."""
        stmt = select(Volunteer).order_by(Volunteer.id)
        if enabled_only:
            stmt = stmt.where(Volunteer.enabled.is_(True))
        with self._engine.connect() as conn:
            return [_info(row) for row in conn.execute(stmt)]

    def _revoke(self, conn: Connection, volunteer_id: str, **values: Any) -> None:
        """Apply ``values``, end every session (credential version + 1) and rotate the SIP
        secret, in the caller's transaction; UnknownVolunteer when there is no such account."""
        result = conn.execute(
            update(Volunteer)
            .where(Volunteer.id == volunteer_id)
            .values(credential_version=Volunteer.credential_version + 1, **values)
        )
        if result.rowcount == 0:
            raise UnknownVolunteer(f"no volunteer {volunteer_id!r}")
        self._rotate_sip(conn, volunteer_id)

    def _rotate_sip(self, conn: Connection, volunteer_id: str) -> str:
        """Replace the device SIP secret with a fresh random one; returns its plaintext."""
        secret = secrets.token_urlsafe(SIP_SECRET_BYTES)
        auth_id = _device_auth_id(volunteer_id)
        conn.execute(delete(SipSecret).where(SipSecret.auth_id == auth_id))
        conn.execute(
            insert(SipSecret),
            [
                {
                    "auth_id": auth_id,
                    "volunteer_id": volunteer_id,
                    "ha1": sip_ha1(volunteer_id, self._realm, secret),
                    "realm": self._realm,
                    "created_at": datetime.now(UTC),
                    "expires_at": None,
                }
            ],
        )
        return secret

    def _set_enabled(self, volunteer_id: str, enabled: bool) -> None:
        # Both ways rotate: a disabled account's phone and sessions must not outlive it, and
        # re-enabling must not bring back a secret or session from before the disable.
        with self._engine.begin() as conn:
            self._revoke(conn, volunteer_id, enabled=enabled)
        log.info("volunteer %s %s", volunteer_id, "enabled" if enabled else "disabled")

    def disable(self, volunteer_id: str) -> None:
        """Stop the volunteer logging in or registering a phone (data is kept); ends their
        sessions and rotates their SIP secret."""
        self._set_enabled(volunteer_id, False)

    def enable(self, volunteer_id: str) -> None:
        """Allow a disabled volunteer back in, with a new SIP secret (see ``new_sip_secret``)."""
        self._set_enabled(volunteer_id, True)

    def new_sip_secret(self, volunteer_id: str) -> str:
        """Rotate the volunteer's SIP secret and return the new one, to be shown exactly once.

        Only its HA1 is stored, so it can never be shown again: configure the phone now.
        Sessions are left alone (this is not a password reset). UnknownVolunteer when missing.
        """
        with self._engine.begin() as conn:
            exists = conn.execute(select(Volunteer.id).where(Volunteer.id == volunteer_id)).first()
            if exists is None:
                raise UnknownVolunteer(f"no volunteer {volunteer_id!r}")
            secret = self._rotate_sip(conn, volunteer_id)
        log.info("volunteer %s: new SIP secret issued", volunteer_id)
        return secret

    def set_role(self, volunteer_id: str, role: str) -> None:
        """Make the account a volunteer or a supervisor; InvalidVolunteer/UnknownVolunteer."""
        checked = check_role(role)
        with self._engine.begin() as conn:
            result = conn.execute(
                update(Volunteer).where(Volunteer.id == volunteer_id).values(role=checked)
            )
        if result.rowcount == 0:
            raise UnknownVolunteer(f"no volunteer {volunteer_id!r}")
        log.info("volunteer %s is now a %s", volunteer_id, checked)

    def set_password(self, volunteer_id: str, password: str) -> None:
        """Replace the login hash; ends every session and rotates the SIP secret (a reset means
        the old credentials may be in the wrong hands)."""
        _check_password(password)
        with self._engine.begin() as conn:
            self._revoke(conn, volunteer_id, password_hash=self._hasher.hash(password))
        log.info("volunteer %s password changed", volunteer_id)

    # -- authentication ---------------------------------------------------------------------

    def verify_password(self, volunteer_id: str, password: str) -> bool:
        """True if the volunteer exists, is enabled and the password matches.

        Unknown and disabled ids still cost one argon2 verification, so timing does not reveal
        which ids exist; argon2's comparison itself is constant-time. Blocking and slow by
        design: async callers run it on ``storage.pools``' ``login`` pool, never on a pool
        the call path uses.
        """
        with self._engine.connect() as conn:
            row = conn.execute(
                select(Volunteer.password_hash, Volunteer.enabled).where(
                    Volunteer.id == volunteer_id
                )
            ).first()
        if row is None or not row.enabled:
            self._verify(self._dummy(), password)
            return False
        if not self._verify(row.password_hash, password):
            return False
        if self._hasher.check_needs_rehash(row.password_hash):
            # Parameters were raised since this hash was made; upgrade it while we have the text.
            with self._engine.begin() as conn:
                conn.execute(
                    update(Volunteer)
                    .where(Volunteer.id == volunteer_id)
                    .values(password_hash=self._hasher.hash(password))
                )
        return True

    def _verify(self, hashed: str, password: str) -> bool:
        try:
            return self._hasher.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(os.urandom(16).hex())
        return self._dummy_hash

    def sip_credentials(self) -> builtins.list[tuple[str, str]]:
        """(sip_user, ha1) of every enabled volunteer's device secret, for pjsip.conf.

        A volunteer whose digest was made for another realm is left out (with a warning):
        their phone could not authenticate anyway until it gets a new secret.
        """
        stmt = (
            select(Volunteer.id, SipSecret.ha1, SipSecret.realm)
            .join(SipSecret, SipSecret.volunteer_id == Volunteer.id)
            .where(
                Volunteer.enabled.is_(True),
                SipSecret.expires_at.is_(None),  # the device secret, not a session's
            )
            .order_by(Volunteer.id)
        )
        creds: builtins.list[tuple[str, str]] = []
        with self._engine.connect() as conn:
            for vid, ha1, realm in conn.execute(stmt):
                if realm != self._realm:
                    log.warning(
                        "volunteer %s: SIP secret is for another realm; issue a new one"
                        " (helpline volunteer sip-secret)",
                        vid,
                    )
                    continue
                creds.append((vid, ha1))
        return creds

    def seed_from_config(self, cfg: HelplineConfig) -> builtins.list[str]:
        """Create the config's seed volunteers that do not exist yet; returns the ids created.

        Existing accounts are left alone (including their password and role), so editing a seed
        in the file never overwrites what was changed with the CLI.
        """
        created: builtins.list[str] = []
        for seed in cfg.volunteers:
            if self.get(seed.id) is not None:
                continue
            try:
                self.add(
                    seed.id,
                    seed.name,
                    seed.location,
                    seed.skills,
                    seed.languages,
                    seed.password,
                    young=seed.young,
                    role=seed.role,
                )
            except VolunteerExists:
                continue  # another process seeded it between our check and insert
            created.append(seed.id)
        return created
