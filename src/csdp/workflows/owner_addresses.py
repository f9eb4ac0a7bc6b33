"""Resolve ``owner_address`` parameters to addresses of the caller's own containers.

Such a parameter names targets that the service acts on over the network,
such as the hosts of a port scan. Every item must be the name, id or address
of one of the owner's running containers. Anything else is rejected before
the action runs: another owner's container, the host, an outside address, a
network range or a host name.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Callable

from csdp.catalog import Parameter
from csdp.errors import InvalidInput
from csdp.runtime import ContainerInfo

# An id prefix shorter than Docker's short id could name several containers.
MIN_ID_PREFIX = 12


def has_owner_addresses(parameters: list[Parameter]) -> bool:
    return any(parameter.type == "owner_address" for parameter in parameters)


def resolve_owner_addresses(
    parameters: list[Parameter],
    values: dict[str, Any],
    owner: str,
    list_containers: Callable[[], list[ContainerInfo]],
) -> dict[str, Any]:
    """Return ``values`` with each owner_address item replaced by a container address.

    A name or id becomes the container's IPv4 address, or its IPv6 address
    when it has no IPv4 one. An address stays as given, in its compressed
    form. ``list_containers`` returns the owner's containers and is called only
    when such a parameter has a value. Raises InvalidInput naming the first
    item that is not one of the owner's running containers.
    """
    address_parameters = [parameter for parameter in parameters if parameter.type == "owner_address" and values.get(parameter.name)]
    if not address_parameters:
        return values
    containers = [info for info in list_containers() if info.owner == owner]

    resolved = dict(values)
    for parameter in address_parameters:
        addresses: list[str] = []
        for item in values[parameter.name]:
            address = _address_of(item, containers, parameter.name)
            if address not in addresses:
                addresses.append(address)
        resolved[parameter.name] = addresses
    return resolved


def _address_of(item: str, containers: list[ContainerInfo], name: str) -> str:
    field = f"parameters.{name}"
    try:
        address = ipaddress.ip_address(item)
    except ValueError:
        address = None

    if address is not None:
        for info in containers:
            if info.status == "running" and address in _addresses(info):
                return str(address)
        raise InvalidInput(
            f"parameter {name!r}: {item!r} is not the address of one of your running containers; "
            f"give the name or address of a container you own",
            field=field,
            value=item,
        )

    lowered = item.lower()
    for info in containers:
        by_id = len(lowered) >= MIN_ID_PREFIX and info.id.startswith(lowered)
        if info.name != item and not by_id:
            continue
        if info.status != "running" or not (info.ip_address or info.ipv6_address):
            raise InvalidInput(
                f"parameter {name!r}: container {info.name} is {info.status} and has no address; start it first",
                field=field,
                value=item,
            )
        return str(ipaddress.ip_address(info.ip_address or info.ipv6_address))
    raise InvalidInput(
        f"parameter {name!r}: {item!r} is not the name, id or address of one of your containers; "
        f"give a container you own, listed by 'csdp all show'",
        field=field,
        value=item,
    )


def _addresses(info: ContainerInfo) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    found = set()
    for text in (info.ip_address, info.ipv6_address):
        if text:
            found.add(ipaddress.ip_address(text))
    return found
