"""Who is calling: the peer address, or the client a trusted proxy says it forwarded for.

`X-Forwarded-For` is believed only from proxies in `server.trusted_proxies`, and read from the
right: each trusted hop appends the address it saw, so the first untrusted address from the
right is the client. Anything a caller put further left is its own claim and is ignored; an
untrusted peer's header is ignored whole (otherwise any caller could pick its own address and
walk past an allowlist or a rate limit).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import ConfigurationError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(cidrs: Iterable[str], setting: str) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs)
    except ValueError as exc:
        raise ConfigurationError(
            "error.config_bad_value", key=setting, origin="mpcheckout.toml", reason=str(exc)
        ) from None


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _within(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, networks: Sequence[Network]
) -> bool:
    return address is not None and any(address in network for network in networks)


@dataclass(slots=True, frozen=True)
class ClientResolver:
    trusted_proxies: tuple[Network, ...] = ()
    allowlist: tuple[Network, ...] = ()

    def client_ip(self, peer: str | None, forwarded_for: str | None) -> str:
        if not forwarded_for or not _within(_address(peer or ""), self.trusted_proxies):
            return peer or "unknown"
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                return peer or "unknown"  # a mangled chain proves nothing
            if not _within(address, self.trusted_proxies):
                return str(address)
        return str(_address(hops[0])) if hops else (peer or "unknown")

    def allowed(self, client_ip: str) -> bool:
        """True when no allowlist is configured, or the client is inside it."""
        return not self.allowlist or _within(_address(client_ip), self.allowlist)
