"""Client networks of an authentication service: the configured CIDR list, or the container's own networks.

The radius and tacacs services carry identical copies of this file, because
each service folder is its own image build context.
"""

from __future__ import annotations

import ipaddress
import socket
import struct

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class NetworksError(Exception):
    """A bad client network; the message names the value and the fix."""


def parse_networks(text: str) -> list[Network]:
    """Parse a comma-separated CIDR list such as ``10.0.0.0/8,fd00::/8``; a bare address counts as one host."""
    networks = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise NetworksError(f"client network {item!r} is not a CIDR such as 10.0.0.0/8 or fd00::/8") from None
    return networks


def local_networks() -> list[Network]:
    """Return the networks the container is directly attached to, read from the kernel's routing tables.

    Loopback, link-local, multicast and default routes are left out, so the
    result is the service network's IPv4 and IPv6 subnets.
    """
    return _ipv4_routes() + _ipv6_routes()


def _ipv4_routes() -> list[Network]:
    networks = []
    with open("/proc/net/route", encoding="ascii") as table:
        next(table)
        for line in table:
            fields = line.split()
            interface, destination, gateway, mask = fields[0], fields[1], fields[2], fields[7]
            if interface == "lo" or int(gateway, 16) != 0 or int(mask, 16) == 0:
                continue
            # The kernel prints each address as the hex of a 32-bit value in host byte order.
            address = socket.inet_ntoa(struct.pack("=I", int(destination, 16)))
            netmask = socket.inet_ntoa(struct.pack("=I", int(mask, 16)))
            networks.append(ipaddress.ip_network(f"{address}/{netmask}"))
    return networks


def _ipv6_routes() -> list[Network]:
    networks = []
    try:
        table = open("/proc/net/ipv6_route", encoding="ascii")
    except FileNotFoundError:
        return []
    with table:
        for line in table:
            fields = line.split()
            destination, prefix_length, next_hop, interface = fields[0], int(fields[1], 16), fields[4], fields[9]
            if interface == "lo" or prefix_length in (0, 128) or int(next_hop, 16) != 0:
                continue
            network = ipaddress.ip_network(f"{ipaddress.IPv6Address(bytes.fromhex(destination))}/{prefix_length}")
            if not (network.is_link_local or network.is_multicast):
                networks.append(network)
    return networks
