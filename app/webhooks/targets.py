"""Which URLs a webhook may be posted to: http(s) on public addresses only, unless a setting allows more.

CLIENTELE_WEBHOOK_ALLOW: addresses or networks that are allowed although private, loopback or
link-local (comma-separated, e.g. ``127.0.0.1`` or ``10.0.0.0/8``). Checked when an endpoint is
registered and again before each delivery (a name may come to resolve elsewhere)."""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def allowed_networks() -> list[IpNetwork]:
    raw = os.environ.get("CLIENTELE_WEBHOOK_ALLOW", "")
    return [ipaddress.ip_network(item.strip(), strict=False) for item in raw.split(",") if item.strip()]


# IPv6 forms that carry an IPv4 address in their last 32 bits, which routers translate to it: NAT64
# (RFC 6052, 8215), IPv4-compatible (::a.b.c.d) and IPv4-translated (::ffff:0:a.b.c.d).
_EMBEDDING_V4 = tuple(
    ipaddress.IPv6Network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "::/96", "::ffff:0:0:0/96")
)


def _embedded_v4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for (mapped, 6to4, Teredo, NAT64 and the like)."""
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address.teredo is not None:
        found += list(address.teredo)
    if any(address in network for network in _EMBEDDING_V4):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Global (not private, loopback, link-local, shared, reserved or documentation) and not multicast;
    for an IPv6 address that stands for IPv4 ones, every one of them too."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_v4(address)
        if embedded:
            return all(_public(v4) for v4 in embedded)
    return address.is_global and not address.is_multicast


def refusal(url: str) -> str | None:
    """Why ``url`` may not receive webhooks, or None if it may."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Not a valid URL."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Must be an http:// or https:// URL with a host."
    if parts.username or parts.password:
        return "Must not hold a user name or password."
    try:
        infos = socket.getaddrinfo(parts.hostname, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return f"The host {parts.hostname} cannot be resolved."
    allowed = allowed_networks()
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not _public(address) and not any(address in network for network in allowed):
            return f"{parts.hostname} resolves to {address}, a private, loopback or link-local address: not allowed."
    return None
