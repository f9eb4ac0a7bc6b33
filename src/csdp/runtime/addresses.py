"""Fixed addresses on the service network, so a container keeps them for its whole life.

The engine gives a container without fixed addresses new ones at every start,
but users configure their devices with these addresses. So each container gets
an IPv4 and an IPv6 address picked at create time and written into its network
endpoint config, and every later start requests exactly these.

The engine reserves a fixed address only while the container runs, so the pick
counts the addresses of every container on the network, stopped ones included.
Two creates can still pick the same address at the same moment; the one whose
first start then finds it taken moves to free addresses, which is safe because
no user has seen its addresses yet.

NOTE: creates in one process are serialised, but two worker processes can
still pick the same address. If the first of the two is started, stopped, and
only then the second starts for the first time, the second keeps the address
and the first cannot start again (a Conflict naming the address).
"""

from __future__ import annotations

import ipaddress
import itertools
from typing import Any, Iterable, Iterator

# How many candidate addresses of a subnet are checked before giving up; bounds the work on a /64.
MAX_CANDIDATES = 65536


def used_addresses(summaries: Iterable[dict[str, Any]], network: str) -> set[str]:
    """Return every address held or reserved on ``network`` by the containers in the engine's list."""
    used: set[str] = set()
    for summary in summaries:
        endpoint = ((summary.get("NetworkSettings") or {}).get("Networks") or {}).get(network) or {}
        fixed = endpoint.get("IPAMConfig") or {}
        for value in (
            endpoint.get("IPAddress"),
            endpoint.get("GlobalIPv6Address"),
            fixed.get("IPv4Address"),
            fixed.get("IPv6Address"),
        ):
            if value:
                used.add(str(ipaddress.ip_address(value)))
    return used


def gateways(network_attrs: dict[str, Any]) -> set[str]:
    """Return the gateways of the network's inspect response, which no container may take."""
    found = set()
    for pool in (network_attrs.get("IPAM") or {}).get("Config") or []:
        if pool.get("Gateway"):
            found.add(str(ipaddress.ip_address(pool["Gateway"].split("/")[0])))
    return found


def pick_free(subnet: str, used: set[str]) -> str:
    """Return the lowest address of ``subnet`` not in ``used``.

    The first host address is never picked: the engine makes it the gateway
    when settings give none.
    """
    network = ipaddress.ip_network(subnet)
    for address in itertools.islice(_hosts(network), 1, MAX_CANDIDATES):
        if str(address) not in used:
            return str(address)
    raise LookupError(f"no free address in subnet {subnet}: remove containers or configure a larger subnet")


def _hosts(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> Iterator[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    # Counted up lazily: a /64 has 2**64 addresses.
    kind = ipaddress.IPv4Address if network.version == 4 else ipaddress.IPv6Address
    first = int(network.network_address) + 1
    last = int(network.broadcast_address) - (1 if network.version == 4 else 0)
    for value in range(first, last + 1):
        yield kind(value)
