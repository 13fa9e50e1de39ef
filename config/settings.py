"""The one configuration file, loaded and validated before anything is applied.

A helpline runs from a single TOML file. It is validated as a whole at load time; an error names
the offending key (``queue.ring_timeout_s: Input should be greater than 0``) and nothing of a
broken file is ever applied.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import limits
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from config.addresses import (
    LOOPBACK_NETWORKS,
    IpAddress,
    IpNetwork,
    canonical_origin,
    url_host,
)
from config.chat import ChatSection
from config.errors import ConfigError
from config.registration import RegistrationSection, WorkspaceSection, check_labels
from config.secrets import PLACEHOLDER, fill_from_environment
from ivr.hours_config import (
    ScheduleConfig,
    default_schedules,
    validate_references,
    with_builtin_schedules,
)
from ivr.ivr_config import IvrSection, LineMenu

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "examples" / "kindertelefoon.toml"

IDENTIFIER = re.compile(r"[a-z0-9][a-z0-9_-]{0,47}")
"""An id (volunteer, location, line...): ASCII only, so it is safe in pjsip.conf, SQL and URLs.

Always applied with ``fullmatch``: ``match`` with a ``$`` lets a trailing newline through
("bob\\n"), which would write a broken pjsip.conf section."""


def is_identifier(value: object) -> bool:
    """True when ``value`` is a string that is a whole, well-formed identifier."""
    return isinstance(value, str) and IDENTIFIER.fullmatch(value) is not None


def _identifier(value: str) -> str:
    if not is_identifier(value):
        raise ValueError("use 1-48 of a-z 0-9 _ - (starting with a letter or digit)")
    return value


def _dialled_number(value: str) -> str:
    if not (value.isascii() and value.isdigit() and 3 <= len(value) <= 15):
        raise ValueError("use 3-15 digits 0-9")
    return value


_TOKEN68 = re.compile(r"[A-Za-z0-9._~+/-]{16,512}=*")


def _short_identifier(value: str) -> str:
    _identifier(value)
    if len(value) > SHORT_ID_LEN:
        raise ValueError(f"use at most {SHORT_ID_LEN} characters")
    return value


SHORT_ID_LEN = 32
"""Partner and region ids: they travel in API bodies, bridge/leg names and referral records."""

Identifier = Annotated[str, AfterValidator(_identifier)]
ShortIdentifier = Annotated[str, AfterValidator(_short_identifier)]
DialledNumber = Annotated[str, AfterValidator(_dialled_number)]

LOOPBACK = "127.0.0.1"
"""Where Asterisk's HTTP/ARI and AMI listen, whatever ``[asterisk] bind`` (SIP, RTP) is: only
the app on the same host may reach them (dialplan.base.render_http/render_manager)."""

KNOWN_SKILLS = frozenset({"phone", "chat", "peer_chat", "staff"})
"""``staff``: trained staff, who take contacts in surge mode (supervisors have it implicitly)."""

Role = Literal["volunteer", "supervisor", "admin"]
"""What an account may see: a supervisor coaches and sees everyone, a volunteer only themselves;
an admin is a person who manages accounts (rather than a shared token)."""
ROLES: tuple[Role, ...] = get_args(Role)

PhoneKind = Literal["sip", "webrtc"]
"""A volunteer's phone: any SIP phone over UDP (``sip``), or the browser (``webrtc``)."""


class _Model(BaseModel):
    # No inf or nan anywhere: `session_ttl_s = inf` once made every login fail.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class HelplineSection(_Model):
    """Who we are and which clock the opening hours use."""

    name: str = "Helpline"
    timezone: str = "Europe/Amsterdam"
    demo: bool = False
    """A demo or test set-up: the app then starts with the shipped example secrets and a Redis
    without a password (see :mod:`config.secrets`); never set it on a real helpline."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class Line(_Model):
    """A public number children dial, e.g. 116111 or the older 0800-0432."""

    id: Identifier
    numbers: list[DialledNumber] = Field(min_length=1)
    language: str = "nl"
    priority: int = Field(default=0, ge=0, le=9)
    schedule: str = "default"
    """Opening hours for calls (a name in ``[schedules]``)."""
    chat_schedule: str | None = None
    """Opening hours for chats, when they differ from the calls'."""
    menu: LineMenu | None = None
    """An optional DTMF language menu ("1 for Dutch, 2 for English")."""


class Location(_Model):
    """A site volunteers work from: the wallboard and reports group by it, and its volunteers'
    phones may register and call only from its networks."""

    id: Identifier
    name: str
    networks: list[IpNetwork] = Field(default_factory=lambda: list(LOOPBACK_NETWORKS), min_length=1)
    """Addresses and networks this location's phones reach Asterisk from (as Asterisk sees
    them: behind NAT or a WebSocket proxy, the public or proxy address). Default: this host only
    (loopback), so a location whose networks nobody wrote down has no phones on the air."""


class QueueSection(_Model):
    """How the ACD distributes contacts; see acd.settings.AcdSettings."""

    strategy: str = "longest_idle"
    ring_timeout_s: float = Field(default=20.0, gt=0, le=300)
    wrap_up_s: float = Field(default=60.0, ge=0, le=3600)
    max_no_answer: int = Field(default=2, ge=1, le=100)
    max_wait_s: float = Field(default=900.0, gt=0, le=24 * 3600)
    max_queue_length: int = Field(default=200, ge=1, le=100_000)
    max_chats: int = Field(default=2, ge=1, le=10)
    language_wait_s: float = Field(default=30.0, gt=0, le=3600)
    """How long a child who chose a language waits for a speaker of it (while one is
    available or about to be) before anyone who can take the contact gets it."""


class AsteriskSection(_Model):
    """The Asterisk we drive: where it runs and how we reach it."""

    root: Path = Path("/var/lib/helpline/asterisk-root")
    bind: IpAddress = "127.0.0.1"
    sip_port: int = Field(default=5060, gt=0, lt=65536)
    http_port: int = Field(default=8088, gt=0, lt=65536)
    ami_port: int = Field(default=5038, gt=0, lt=65536)
    app: Identifier = "helpline"
    ari_user: Identifier = "helpline"
    ari_password: str = Field(min_length=8)
    ami_user: Identifier = "helpline"
    ami_password: str = Field(min_length=8)
    sip_realm: str = "helpline"
    trunk_addresses: list[IpNetwork] = Field(min_length=1)
    """The carrier's addresses or networks: a SIP request from here is the carrier, and a
    request from anywhere else never is, whatever its From header says."""
    volunteer_phones: PhoneKind = "sip"
    """Plain SIP phones (any softphone or desk phone) or browser (WebRTC) phones: the default
    for every account; a ``[[volunteers]]`` entry's ``phone`` overrides it for that account."""
    rtp_start: int = Field(default=10000, gt=1024, lt=65536)
    rtp_end: int = Field(default=10999, gt=1024, lt=65536)
    reconnect_max_s: float = Field(default=1.0, ge=0.1, le=60.0)
    """Longest wait between attempts to reach ARI again after losing it: while we are away,
    callers hear the "unavailable" message instead of a volunteer."""

    @model_validator(mode="after")
    def _rtp_range(self) -> AsteriskSection:
        if self.rtp_end <= self.rtp_start:
            raise ValueError("rtp_end must be above rtp_start")
        return self

    @property
    def ari_url(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}/ari"


class DatabaseSection(_Model):
    """Where records and volunteers are kept: SQLite by default, PostgreSQL in production."""

    url: str = "sqlite:////var/lib/helpline/helpline.db"


class RedisSection(_Model):
    """Shared live state, so a restarted or second ACD process continues where the last stopped."""

    url: str = "redis://127.0.0.1:6379/0"
    prefix: str = Field(default="helpline:", pattern=r"^[A-Za-z0-9_.:-]+$")
    lease_s: float = Field(default=5.0, gt=0, le=300)


class HttpSection(_Model):
    """The volunteer/supervisor HTTP API, and the admin API on its own listener."""

    host: IpAddress = "127.0.0.1"
    port: int = Field(default=8080, gt=0, lt=65536)
    admin_token: str | None = Field(default=None, min_length=16)
    """Bearer token for the admin API (staff tooling); no token, no admin API."""
    admin_host: str = "127.0.0.1"
    """Where the admin API listens: loopback by default, so only this machine reaches it."""
    admin_port: int = Field(default=8081, gt=0, lt=65536)
    session_ttl_s: float = Field(default=12 * 3600, gt=0, le=7 * 24 * 3600)
    """How long a login lasts (at most a week); also the session cookie's Max-Age."""
    public_origin: str | None = None
    """The origin browsers reach the app at, ``https://helpline.example.org`` behind a reverse
    proxy. WebSocket upgrades and cookie-authenticated state changes whose ``Origin`` is not this
    are refused. Unset: the origin the request arrived on (its scheme and ``Host``)."""
    secure_cookies: bool = False
    """Mark the session cookie ``Secure`` (and name it ``__Host-helpline_session``) on every
    response. Off by default for plain http on 127.0.0.1; the cookie is Secure anyway when
    ``public_origin`` is https or the request came over https."""
    trust_forwarded_proto: bool = False
    """Believe ``X-Forwarded-Proto`` for the request's scheme (https behind a TLS proxy). Only
    for a proxy that always sets it: otherwise any client could claim https."""

    @field_validator("public_origin")
    @classmethod
    def _origin(cls, value: str | None) -> str | None:
        return None if value is None else canonical_origin(value)

    @field_validator("admin_token")
    @classmethod
    def _token68(cls, value: str | None) -> str | None:
        # What a client can send in "Authorization: Bearer ..." (RFC 6750); web refuses the rest.
        if value is None or PLACEHOLDER.fullmatch(value):
            return value  # unfilled: the app refuses to start with it (config.known_defaults)
        if _TOKEN68.fullmatch(value) is None:
            raise ValueError("use 16-512 of A-Z a-z 0-9 . _ ~ + / - (a random string)")
        return value

    @model_validator(mode="after")
    def _two_listeners(self) -> HttpSection:
        if self.admin_token is not None and self.admin_port == self.port:
            raise ValueError("admin_port must differ from port: the admin API has its own")
        return self


class LoginsSection(_Model):
    """How often the login endpoint may be tried (``web.login_guard``), in the ``limits``
    library's notation ("100/10minutes"), counted in moving windows.

    Every attempt costs 1 and a failed one ``failure_cost`` in all, so a location whose
    volunteers share one address can log in a whole shift while a guesser is stopped after a
    few tries. Refusals are 429 with Retry-After.
    """

    per_address: str = "1000/10minutes"
    """Per client address (an IPv6 client counts by its /64). High: a location's whole shift
    (up to ~200 volunteers) may log in at once from one NAT address; with failures at
    ``failure_cost`` a guesser there still gets ~200 tries, and ``per_account`` stops a
    guesser at one account long before."""
    per_account: str = "25/15minutes"
    """Per volunteer id tried, known or not: five wrong passwords, then a pause."""
    failure_cost: int = Field(default=5, ge=1, le=1000)

    @field_validator("per_address", "per_account")
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            amount = limits.parse(value).amount
        except ValueError:
            amount = 0
        if amount < 1:
            raise ValueError('must read like "100/10minutes" or "25 per 15 minutes", at least 1')
        return value


class HoursSection(_Model):
    """How a running app keeps its in-memory opening-hours exceptions fresh."""

    refresh_s: float = Field(default=30.0, gt=0, le=3600)
    """Reload the exceptions from SQL this often, besides at once when a change is announced."""


class Partner(_Model):
    """An organisation a volunteer may add to a child's call (a warm transfer), e.g. Veilig
    Thuis. Only partners listed here can be dialled: there is no free number entry."""

    id: ShortIdentifier
    name: str = Field(min_length=1, max_length=100)
    number: DialledNumber
    """Dialled out through the carrier as written (national format, digits only)."""
    schedule: str = "always"
    """Opening hours (a name in ``[schedules]``; ``always`` is built in: 24/7, no holidays).
    Ad-hoc exceptions naming this schedule apply; helpline-wide ones (``*``) do not."""
    description: str = Field(default="", max_length=500)
    regions: list[ShortIdentifier] = Field(default_factory=list, max_length=100)
    """The regions (werkgebieden) it covers; a referral may name one. May be empty."""

    @field_validator("regions")
    @classmethod
    def _unique_regions(cls, value: list[str]) -> list[str]:
        _unique("regions", value)
        return value


class TransferSection(_Model):
    """How a partner is added to a call (see ``[[partners]]``)."""

    caller_id: DialledNumber | None = None
    """The number the partner sees: the helpline's own, never the child's (which we do not
    have). Default: the first number of the first line."""
    dial_out_uri: str | None = Field(default=None, max_length=200)
    """The carrier's SIP URI for calls out, e.g. ``sip:192.0.2.10:5060``. Default: the first
    trunk address on port 5060."""
    hold_music: bool = True
    """Music on hold for the child while the volunteer consults the partner; false: silence."""
    ring_timeout_s: int = Field(default=30, ge=5, le=120)
    """How long the partner's phone rings before the volunteer is back with the child."""

    @field_validator("dial_out_uri")
    @classmethod
    def _sip_uri(cls, value: str | None) -> str | None:
        if value is not None:
            sip_uri_host(value)
        return value


def sip_uri_host(uri: str) -> str:
    """The IP address of ``sip:HOST[:PORT]`` (IPv6 in brackets), or ValueError.

    Only an IP literal, as everywhere in the file (no DNS at start), and nothing else: no user
    part (the number is the request's user), parameters or spaces a config line could break on.
    """
    m = _SIP_URI.fullmatch(uri) if isinstance(uri, str) else None
    if m is None:
        raise ValueError("use sip:ADDRESS[:PORT] with an IP address, e.g. sip:192.0.2.10:5060")
    host = m.group("v6") or m.group("v4")
    port = m.group("port")
    if port is not None and not 0 < int(port) < 65536:
        raise ValueError(f"{uri!r}: port must be 1-65535")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        raise ValueError(f"{uri!r}: {host!r} is not an IP address") from None


_SIP_URI = re.compile(
    r"sip:(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<v4>[0-9.]+))(?::(?P<port>[0-9]{1,5}))?"
)


class VolunteerSeed(_Model):
    """A volunteer to create on first start (demo and tests); production adds them with the CLI."""

    id: Identifier
    name: str
    location: Identifier
    skills: list[str] = Field(default_factory=lambda: ["phone", "chat"])
    languages: list[str] = Field(default_factory=lambda: ["nl"])
    password: str = Field(min_length=8)
    young: bool = False
    """A young volunteer (16-19): the only ones who staff the peer-to-peer chat."""
    role: Role = "volunteer"
    """Only applied when the account is created; later changes go through the CLI or API."""
    phone: PhoneKind | None = None
    """This account's phone, overriding ``[asterisk] volunteer_phones``. Unlike the fields
    above it is read from the file every time (not stored with the account), so changing it
    takes effect at the next render (``helpline asterisk up``)."""

    @field_validator("skills")
    @classmethod
    def _known_skills(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - KNOWN_SKILLS)
        if unknown:
            raise ValueError(f"unknown skills {unknown}; known: {sorted(KNOWN_SKILLS)}")
        return value

    @model_validator(mode="after")
    def _peer_chat_is_for_young_volunteers(self) -> VolunteerSeed:
        if "peer_chat" in self.skills and not self.young:
            raise ValueError("the peer_chat skill is only for young volunteers (young = true)")
        if self.young and "phone" in self.skills:
            raise ValueError("young volunteers staff the peer chat, not the phone")
        return self


class WallboardSection(_Model):
    """The supervisors' wallboard (``live.wallboard``)."""

    queue_alert: int = Field(default=5, ge=0, le=10_000)
    """Children waiting (not yet answered) on one kind of contact (phone, chat, peer chat)
    at which the wallboard shows the "queue over threshold" alert; 0: never."""


class ReportsSection(_Model):
    """``[reports]``: how the reports and the staffing advice count."""

    short_abandon_s: float = Field(default=5.0, ge=0, le=300)
    """An abandon within this many seconds of arriving is a "short abandon" (likely a misdial
    or a child who changed their mind at once), counted apart from the abandon rate."""
    target_answer_s: float = Field(default=20.0, gt=0, le=600)
    """The staffing advice's target: answered within this many seconds ..."""
    target_service_level: float = Field(default=0.8, gt=0, lt=1)
    """... for this share of the contacts."""


class HelplineConfig(_Model):
    """The whole configuration file."""

    helpline: HelplineSection = HelplineSection()
    lines: list[Line] = Field(min_length=1)
    locations: list[Location] = Field(min_length=1)
    languages: list[str] = Field(default_factory=lambda: ["nl", "en"], min_length=1)
    queue: QueueSection = QueueSection()
    asterisk: AsteriskSection
    database: DatabaseSection = DatabaseSection()
    redis: RedisSection = RedisSection()
    http: HttpSection = HttpSection()
    logins: LoginsSection = LoginsSection()
    volunteers: list[VolunteerSeed] = Field(default_factory=list)
    schedules: dict[str, ScheduleConfig] = Field(
        default_factory=default_schedules, validate_default=True
    )
    hours: HoursSection = HoursSection()
    ivr: IvrSection = IvrSection()
    partners: list[Partner] = Field(default_factory=list)
    transfer: TransferSection = TransferSection()
    registration: RegistrationSection = RegistrationSection()
    workspace: WorkspaceSection = WorkspaceSection()
    wallboard: WallboardSection = WallboardSection()
    chat: ChatSection = ChatSection()
    reports: ReportsSection = ReportsSection()
    log_dir: Path = Path("/var/log/helpline")

    @field_validator("schedules")
    @classmethod
    def _builtin_schedules(cls, value: dict[str, ScheduleConfig]) -> dict[str, ScheduleConfig]:
        # "always" (24/7) for partners, unless the file defines its own; no line uses it.
        return with_builtin_schedules(value)

    @model_validator(mode="after")
    def _cross_references(self) -> HelplineConfig:
        _unique("lines", [line.id for line in self.lines])
        _unique("lines[].numbers", [n for line in self.lines for n in line.numbers])
        _unique("locations", [loc.id for loc in self.locations])
        _unique("volunteers", [v.id for v in self.volunteers])
        location_ids = {loc.id for loc in self.locations}
        for i, line in enumerate(self.lines):
            if line.language not in self.languages:
                raise ValueError(f"lines[{i}].language {line.language!r} is not in languages")
            for lang in line.menu.languages() if line.menu else []:
                if lang not in self.languages:
                    raise ValueError(f"lines[{i}].menu: {lang!r} is not in languages")
        for i, vol in enumerate(self.volunteers):
            if vol.location not in location_ids:
                raise ValueError(f"volunteers[{i}].location {vol.location!r} is not a location id")
            for lang in vol.languages:
                if lang not in self.languages:
                    raise ValueError(f"volunteers[{i}].languages: {lang!r} is not in languages")
        validate_references(self.schedules, self.lines)
        self._check_partners()
        check_labels(self.registration, self.workspace)
        self._check_chat()
        return self

    def _check_chat(self) -> None:
        chat = self.chat
        if not chat.enabled:
            return
        if chat.line not in {line.id for line in self.lines}:
            raise ValueError(f"chat.line {chat.line!r} is not a line id")
        for lang in chat.languages:
            if lang not in self.languages:
                raise ValueError(f"chat.languages: {lang!r} is not in languages")

    def _check_partners(self) -> None:
        _unique("partners", [p.id for p in self.partners])
        _unique("partners[].number", [p.number for p in self.partners])
        ours = {n for line in self.lines for n in line.numbers}
        for i, partner in enumerate(self.partners):
            if partner.schedule not in self.schedules:
                raise ValueError(
                    f"partners[{i}].schedule {partner.schedule!r} is not in schedules "
                    f"(configured: {', '.join(sorted(self.schedules))})"
                )
            if partner.number in ours:
                raise ValueError(f"partners[{i}].number is one of our own lines' numbers")
        if self.partners:
            self.dial_out_uri()  # determinable (see there)
        if self.transfer.dial_out_uri is not None:
            # The partner's BYE and re-INVITEs come from there: the edge ACL must let it in.
            host = ipaddress.ip_address(sip_uri_host(self.transfer.dial_out_uri))
            trunks = [ipaddress.ip_network(a) for a in self.asterisk.trunk_addresses]
            if not any(host in net for net in trunks):
                raise ValueError(
                    "transfer.dial_out_uri: its address must be one of asterisk.trunk_addresses"
                )

    def partner(self, partner_id: str) -> Partner | None:
        """The configured partner with this id, or None."""
        for partner in self.partners:
            if partner.id == partner_id:
                return partner
        return None

    def transfer_caller_id(self) -> str:
        """The number a partner sees calling: ``[transfer] caller_id`` or our first line's."""
        return self.transfer.caller_id or self.lines[0].numbers[0]

    def dial_out_uri(self) -> str:
        """The carrier's SIP URI for calls out: ``[transfer] dial_out_uri`` or the first trunk
        address on port 5060."""
        if self.transfer.dial_out_uri is not None:
            return self.transfer.dial_out_uri
        first = ipaddress.ip_network(self.asterisk.trunk_addresses[0])
        if first.num_addresses != 1:
            # A carrier's range says where it calls from, not where to send calls: no guessing.
            raise ValueError(
                "transfer.dial_out_uri: required when asterisk.trunk_addresses[0] is a network"
            )
        return f"sip:{url_host(str(first.network_address))}:5060"

    def phone_of(self, volunteer_id: str) -> PhoneKind:
        """The account's phone: its ``[[volunteers]]`` entry's ``phone`` when it has one, else
        ``[asterisk] volunteer_phones``. The renderer (which endpoint to write) and the API
        (who may have a browser credential) both ask here, so they never disagree."""
        for seed in self.volunteers:
            if seed.id == volunteer_id and seed.phone is not None:
                return seed.phone
        return self.asterisk.volunteer_phones

    def location_networks(self, location_id: str) -> tuple[str, ...] | None:
        """The networks a volunteer of ``location_id`` may phone from; None for no such location."""
        for loc in self.locations:
            if loc.id == location_id:
                return tuple(loc.networks)
        return None

    def line_for_number(self, number: str) -> Line | None:
        for line in self.lines:
            if number in line.numbers:
                return line
        return None


def _unique(key: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{key}: {value!r} appears twice")
        seen.add(value)


def _format_errors(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in err["loc"])
        loc = re.sub(r"\.\[", "[", loc)
        parts.append(f"{loc or '(file)'}: {err['msg']}")
    return "; ".join(parts)


def parse_config(text: str, source: str = "<string>") -> HelplineConfig:
    """Parse and validate TOML text; raise ConfigError naming the key on any problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    try:
        return HelplineConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_format_errors(exc)}") from exc


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Which file to use: the explicit one, then $HELPLINE_CONFIG, then the shipped example."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("HELPLINE_CONFIG")
    return Path(env) if env else DEFAULT_CONFIG


def load_config(path: str | os.PathLike[str] | None = None) -> HelplineConfig:
    """Load the configuration file, its ``${NAME}`` secrets filled in (see config.secrets);
    raise ConfigError (never a half-applied config)."""
    resolved = config_path(path)
    try:
        text = resolved.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{resolved}: cannot read: {exc.strerror or exc}") from exc
    return parse_config(fill_from_environment(text, str(resolved)), str(resolved))
