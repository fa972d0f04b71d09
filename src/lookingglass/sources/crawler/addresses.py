"""Which network addresses the crawler may connect to.

A crawler that follows links for someone can be pointed at the inside of the network it runs in (cloud metadata at
169.254.169.254, admin panels on 10.x, services on loopback). So a host is resolved first and refused when any of its
addresses is private, loopback, link-local, multicast, reserved or unspecified, unless the operator allow-lists the
host or a network with LG_CRAWL_ALLOW_PRIVATE ("127.0.0.1", "intranet.example", "10.0.0.0/8"). Redirects are
checked again: each redirected request passes through the same middleware. And the address a connection is really
made to is checked once more when Scrapy resolves it (`GuardedResolver`), so a name that resolves to a public
address for the check and a private one for the connection (DNS rebinding) is refused too.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lookingglass.errors import BadInput


class RefusedAddress(BadInput):
    """The URL's host is (or resolves to) an address the crawler must not reach."""

    code = "refused_address"


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )


@dataclass
class AddressPolicy:
    allow: tuple[str, ...] = ()  # hosts or CIDRs allowed although not public
    _cache: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        nets, hosts = [], set()
        for entry in self.allow:
            try:
                nets.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower())
        self._nets = tuple(nets)
        self._hosts = frozenset(hosts)

    def resolve(self, host: str) -> tuple[str, ...]:
        """The host's addresses (cached for the crawl: a page's images must not cost one lookup each)."""
        with self._lock:
            if host in self._cache:
                return self._cache[host]
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as exc:
            raise RefusedAddress(f"cannot resolve {host}: {exc}") from None
        addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
        with self._lock:
            self._cache[host] = addresses
        return addresses

    def _allowed_ip(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return _is_public(ip) or any(ip in net for net in self._nets)

    def allows_address(self, host: str, address: str) -> bool:
        """Whether connecting to `address` (what `host` resolved to just now) is allowed."""
        if host.lower() in self._hosts:
            return True
        return self._allowed_ip(ipaddress.ip_address(address.split("%", 1)[0]))

    def check(self, url: str) -> None:
        """Raise RefusedAddress unless every address of the URL's host may be reached."""
        host = (urlsplit(url).hostname or "").lower()
        if not host:
            raise RefusedAddress(f"no host in {url[:200]!r}")
        if host in self._hosts:
            return
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        addresses = (str(literal),) if literal is not None else self.resolve(host)
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if not self._allowed_ip(ip):
                raise RefusedAddress(
                    f"refused {host}: it resolves to {address}, a non-public address "
                    "(allow it with LG_CRAWL_ALLOW_PRIVATE if this is intended)"
                )

    def allows(self, url: str) -> bool:
        try:
            self.check(url)
        except RefusedAddress:
            return False
        return True
