"""IP addresses and networks in the configuration, parsed with ``ipaddress``.

Every address the helpline binds to or lets in is an IP literal: no host names (a DNS lookup
at start is a dependency we do not want, and a name can change under us) and never a network
that is the whole internet (``0.0.0.0/0``, ``::/0``). Values stay ``str`` (normalised) so the
renderers write them as they are.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator

LOOPBACK_NETWORKS: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
"""Where volunteer phones may register from when a location names no networks: this host only.
A helpline fails closed; each location's real networks are listed in the config."""


def check_address(text: str) -> str:
    """``text`` as one IP address (IPv4 or IPv6, normalised), or ValueError."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address (host names are not accepted)") from None


def check_network(text: str) -> str:
    """``text`` as one address or network (``192.0.2.10``, ``192.0.2.0/24``), normalised, or
    ValueError. A network with host bits set is refused (``192.0.2.10/24`` is most likely a typo
    for ``192.0.2.0/24``), and so is a ``/0``: that lets everyone in."""
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(
                f"{text!r} is not an IP address or network (host names are not accepted)"
            ) from None
        raise ValueError(f"{text!r} has host bits set; the network is {loose}") from None
    if net.prefixlen == 0:
        raise ValueError(f"{text!r} is every address; name the networks that are really yours")
    if net.network_address.is_unspecified:
        # Nobody sends from 0.0.0.0 or ::; whoever wrote it most likely meant "everyone".
        raise ValueError(f"{text!r} is no sender's address; name the networks that are yours")
    if "/" not in text:
        return str(net.network_address)
    return str(net)


def url_host(address: str) -> str:
    """``address`` as the host part of a URL or ``host:port`` (IPv6 in brackets)."""
    return f"[{address}]" if ":" in address else address


_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_origin(text: str) -> str:
    """``text`` as a web origin, ``scheme://host[:port]`` (RFC 6454 serialisation: lower-case
    scheme and host, the scheme's default port left out), or ValueError.

    Only http and https; no user info, path (a lone ``/`` is tolerated), query or fragment. Used
    for ``[http] public_origin`` and to compare a request's ``Origin`` header with the app's own:
    two spellings of one origin compare equal, and ``null`` or anything malformed is no origin.
    """
    if not text.isascii() or not text.isprintable() or any(ch.isspace() for ch in text):
        raise ValueError("not an origin: use scheme://host[:port]")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError("not an origin: use scheme://host[:port]") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError("an origin is http:// or https://")
    host = parts.hostname
    if not host or parts.username is not None or parts.password is not None:
        raise ValueError("not an origin: use scheme://host[:port]")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in text or "#" in text:
        raise ValueError("an origin has no path, query or fragment: use scheme://host[:port]")
    if ":" in host:  # IPv6: urlsplit took the brackets off
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


IpAddress = Annotated[str, AfterValidator(check_address)]
"""One IP address: a bind or listen address. ``0.0.0.0`` and ``::`` (all interfaces) are
addresses, not networks, and are accepted."""
IpNetwork = Annotated[str, AfterValidator(check_network)]
"""One IP address or network that is let in (a trunk, a location's network); never ``/0``."""
