"""Who is calling: the peer's address, or behind a trusted reverse proxy the client's.

X-Forwarded-For is written by whoever sends the request, so it is believed only when the
peer is one of ``web.trusted_proxies``; then the client is the right-most address in it that
is not itself a trusted proxy (anything left of that may be forged by the client).
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

from aiohttp import web

Network = IPv4Network | IPv6Network


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(request: web.Request, proxies: Sequence[Network]) -> str:
    peer = request.remote or "-"
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if not _trusted(hop, proxies):
            try:
                return str(ip_address(hop))
            except ValueError:
                return peer  # garbage in the header: count the proxy, not a made-up name
    return peer
