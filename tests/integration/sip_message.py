"""A SIP request as a test phone received it, parsed just enough to assert on its headers.

The phones hand over the whole INVITE as text (pjsua2's ``rdata.wholeMsg``);
:func:`parse_request` splits it into the request line, the headers and the body, so a test can
ask who was dialled (:attr:`SipRequest.user`) and what each identity header says, e.g. that an
INVITE towards a partner carries the helpline's number and nothing of the child::

    invite = parse_request(text)
    assert invite.user == "08002000"
    assert invite.uri_user("From") == "0302345678"
    assert invite.header("P-Asserted-Identity") is None
"""

from __future__ import annotations

from dataclasses import dataclass

IDENTITY_HEADERS = (
    "From",
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "Remote-Party-ID",
    "Contact",
    "Diversion",
    "History-Info",
    "Privacy",
)
"""Headers that tell who calls (or on whose behalf), or how private that is."""

_COMPACT = {
    "f": "from",
    "t": "to",
    "m": "contact",
    "i": "call-id",
    "v": "via",
    "c": "content-type",
    "l": "content-length",
    "k": "supported",
    "s": "subject",
    "e": "content-encoding",
    "o": "event",
    "r": "refer-to",
    "b": "referred-by",
    "x": "session-expires",
}
"""RFC 3261 (and extensions') one-letter header names, which a peer may send instead."""


class SipParseError(ValueError):
    """The text is not a SIP request."""


@dataclass(frozen=True, slots=True)
class SipRequest:
    """One received SIP request."""

    method: str
    """``INVITE``, ..."""
    uri: str
    """The Request-URI, e.g. ``sip:08002000@127.0.0.2:5060``."""
    headers: tuple[tuple[str, str], ...]
    """Every header in arrival order as (lower-case full name, value), repeats kept."""
    body: str
    """The body (SDP for an INVITE), as received."""

    @property
    def user(self) -> str | None:
        """User part of the Request-URI: the number that was dialled."""
        return uri_user(self.uri)

    def header_values(self, name: str) -> list[str]:
        """Values of every header ``name`` (any case, compact form or not), in order."""
        key = _key(name)
        return [value for header, value in self.headers if header == key]

    def header(self, name: str) -> str | None:
        """Value of the first header ``name``, None if there is none."""
        values = self.header_values(name)
        return values[0] if values else None

    def uri_user(self, name: str) -> str | None:
        """User part of the URI in the first header ``name`` (From, P-Asserted-Identity,
        Contact, ...); None if the header is absent or its URI has no user part."""
        value = self.header(name)
        return None if value is None else uri_user(header_uri(value))

    def identity(self) -> dict[str, str]:
        """The :data:`IDENTITY_HEADERS` present (first value each), for assertions and for
        readable failure messages."""
        found = {name: self.header(name) for name in IDENTITY_HEADERS}
        return {name: value for name, value in found.items() if value is not None}


def parse_request(text: str) -> SipRequest:
    """Parse a whole SIP request (request line, headers with folding, body)."""
    head, _, body = text.replace("\r\n", "\n").partition("\n\n")
    lines = head.split("\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("SIP/"):
        raise SipParseError(f"not a SIP request line: {lines[0]!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # folded continuation of the previous header
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise SipParseError(f"not a header line: {line!r}")
        headers.append((_key(name), value.strip()))
    return SipRequest(method=parts[0], uri=parts[1], headers=tuple(headers), body=body)


def header_uri(value: str) -> str:
    """The URI of a name-addr or addr-spec header value: ``"N" <sip:a@b>;tag=1`` -> ``sip:a@b``."""
    if "<" in value:
        return value.partition("<")[2].partition(">")[0]
    return value.partition(";")[0].strip()  # addr-spec: ";" starts the header's parameters


def uri_user(uri: str) -> str | None:
    """User part of a ``sip:``/``sips:`` URI (None if it has none), or a ``tel:`` number."""
    scheme, _, rest = uri.partition(":")
    if scheme.lower() == "tel":
        return rest.partition(";")[0]
    if scheme.lower() not in ("sip", "sips") or "@" not in rest:
        return None
    return rest.partition("@")[0].partition(";")[0].partition(":")[0]  # no params, password


def _key(name: str) -> str:
    key = name.strip().lower()
    return _COMPACT.get(key, key)
