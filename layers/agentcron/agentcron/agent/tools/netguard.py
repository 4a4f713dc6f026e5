"""The network guard of ``http_fetch``: only public addresses, checked after DNS, connected to as checked.

An agent reads whatever the web tells it, so a page (or the model) can ask for ``http://169.254.169.254/``
(the instance metadata service: credentials), ``http://localhost:...`` or a private address, directly, via a
redirect, or via a public-looking name whose DNS answer points inside. The guard therefore:

1. refuses names that are local by definition (``localhost``, ``*.localhost``) before any lookup;
2. resolves the host itself and refuses the request if ANY address of the answer is not public (loopback,
   private, link-local including 169.254.169.254, the IPv6 metadata address ``fd00:ec2::254``, carrier-grade
   NAT, multicast, reserved, unspecified; IPv4 embedded in IPv6 is unwrapped and checked too);
3. hands back the checked addresses, and the caller connects to one of THEM (never resolving again), so a
   second DNS answer cannot swap in an internal address between check and connect.

Redirects are followed by the caller, each hop going through the guard again. The resolver and the connector
are injectable so tests can point a public-looking name at a local test server.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from agentcron.exceptions import AgentcronError

Resolver = Callable[[str, int], list[str]]
Connector = Callable[[str, int, float], socket.socket]

LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# EC2 instance metadata (IPv4, IPv6) and the ECS/Lambda-style container credentials endpoint.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2")
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(AgentcronError):
    """The request would reach a non-public address; the message says which and why."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address DNS (or the hosts file) gives for ``host``, in answer order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def direct_connect(address: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to exactly ``address`` (no name resolution)."""
    return socket.create_connection((address, port), timeout=timeout)


def _embedded(ip: IPAddress) -> list[IPAddress]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo), then ``ip`` itself."""
    out: list[IPAddress] = []
    if isinstance(ip, ipaddress.IPv6Address):
        out += [inner for inner in (ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())) if inner is not None]
    return [*out, ip]


def _why(address: str) -> str | None:
    """What kind of non-public address ``address`` is (``"a loopback address"``); None when public."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    for candidate in _embedded(ip):
        if candidate in METADATA_ADDRESSES:
            return "an instance metadata address"
        if candidate.is_loopback:
            return "a loopback address"
        if candidate.is_link_local:
            return "a link-local address"
        if isinstance(candidate, ipaddress.IPv6Address) and candidate.is_site_local:  # fec0::/10
            return "a site-local address"
        if candidate.is_private:
            return "a private address"
        if isinstance(candidate, ipaddress.IPv4Address) and candidate in _CGNAT:
            return "a carrier-grade NAT address"
        if candidate.is_multicast or candidate.is_reserved or candidate.is_unspecified:
            return "not a unicast address"
        if not candidate.is_global:
            return "not a public address"
    return None


def refusal(address: str) -> str | None:
    """Why ``address`` must not be contacted, or None when it is a public unicast address."""
    why = _why(address)
    return f"{address} is {why}" if why else None


def checked_addresses(host: str, port: int, resolver: Resolver = system_resolver) -> list[str]:
    """The addresses to connect to for ``host``; AddressRefused when any (or the name) is not public."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if not name:
        raise AddressRefused("the URL has no host")
    if name in LOCAL_NAMES or name.endswith(".localhost"):
        raise AddressRefused(f"{host} is a local name")
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
        addresses = [name]
    except ValueError:
        try:
            addresses = resolver(name, port)
        except (OSError, UnicodeError) as exc:
            raise AddressRefused(f"{host} does not resolve: {exc}") from None
    if not addresses:
        raise AddressRefused(f"{host} does not resolve to any address")
    for address in addresses:
        why = _why(address)
        if why:
            raise AddressRefused(
                f"{address} is {why}" if address == name else f"{host} resolves to {address}, {why}"
            )
    return addresses
