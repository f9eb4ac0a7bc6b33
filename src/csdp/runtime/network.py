"""The service network: created from settings once, removed with retries."""

from __future__ import annotations

import logging
import time

import docker
import docker.errors
from docker.types import IPAMConfig, IPAMPool

from csdp.runtime.base import LABEL_MANAGED, NetworkInfo
from csdp.errors import CsdpError
from csdp.runtime.engine_errors import engine_errors, translate
from csdp.settings import Settings

log = logging.getLogger(__name__)

REMOVE_ATTEMPTS = 5
REMOVE_RETRY_SECONDS = 1.0


def find_network(client: docker.DockerClient, name: str) -> dict | None:
    """Return the inspect response of the network called exactly ``name``, or None."""
    with engine_errors(f"lookup of network {name}"):
        for summary in client.api.networks(names=[name]):
            if summary.get("Name") == name:
                return client.api.inspect_network(summary["Id"])
    return None


def ensure_network(client: docker.DockerClient, settings: Settings) -> NetworkInfo:
    """Create the service network described by ``settings`` unless a network of that name exists."""
    existing = find_network(client, settings.network_name)
    if existing is not None:
        info = network_info(existing)
        if (info.subnet_v4, info.subnet_v6) != (settings.subnet_v4, settings.subnet_v6):
            log.warning(
                "network %s exists with subnets %s and %s, not %s and %s from settings: remove it to apply the settings",
                info.name, info.subnet_v4, info.subnet_v6, settings.subnet_v4, settings.subnet_v6,
            )
        return info

    options = {"parent": settings.macvlan_parent} if settings.network_driver == "macvlan" else None
    ipam = IPAMConfig(
        pool_configs=[
            IPAMPool(subnet=settings.subnet_v4, gateway=settings.gateway_v4),
            IPAMPool(subnet=settings.subnet_v6, gateway=settings.gateway_v6),
        ]
    )
    log.info(
        "creating network %s (%s, %s, %s)",
        settings.network_name, settings.network_driver, settings.subnet_v4, settings.subnet_v6,
    )
    try:
        with engine_errors(f"creation of network {settings.network_name}"):
            client.api.create_network(
                settings.network_name,
                driver=settings.network_driver,
                options=options,
                ipam=ipam,
                enable_ipv6=True,
                check_duplicate=True,
                labels={LABEL_MANAGED: "true"},
            )
    except CsdpError:
        # Another worker may have created it at the same moment.
        created = find_network(client, settings.network_name)
        if created is None:
            raise
        return network_info(created)
    return network_info(find_network(client, settings.network_name) or {})


def remove_network(client: docker.DockerClient, name: str) -> None:
    """Remove the network ``name`` if it exists, retrying while the engine reports active endpoints.

    dockerd 20.10 can report active endpoints for a moment after the last
    container on the network was removed.
    """
    for attempt in range(1, REMOVE_ATTEMPTS + 1):
        existing = find_network(client, name)
        if existing is None:
            return
        try:
            client.api.remove_network(existing["Id"])
            log.info("removed network %s", name)
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as exc:
            if "active endpoints" not in str(exc) or attempt == REMOVE_ATTEMPTS:
                raise translate(exc, operation=f"removal of network {name}") from exc
            log.info("network %s still has active endpoints, retry %d of %d", name, attempt, REMOVE_ATTEMPTS)
            time.sleep(REMOVE_RETRY_SECONDS)


def network_info(attrs: dict) -> NetworkInfo:
    """Build NetworkInfo from the engine's inspect response for a network."""
    subnets = [pool.get("Subnet", "") for pool in (attrs.get("IPAM") or {}).get("Config") or []]
    return NetworkInfo(
        name=attrs.get("Name", ""),
        driver=attrs.get("Driver", ""),
        subnet_v4=next((subnet for subnet in subnets if subnet and ":" not in subnet), None),
        subnet_v6=next((subnet for subnet in subnets if ":" in subnet), None),
    )
