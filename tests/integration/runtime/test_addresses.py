"""Fixed addresses: a container keeps its IPv4 and IPv6 addresses across restarts, stops and starts."""

from __future__ import annotations

import docker
import pytest

from csdp.errors import Conflict

pytestmark = pytest.mark.integration


def _network(runtime) -> str:
    return runtime.settings.network_name


def _addresses(runtime, container_id: str) -> tuple[str | None, str | None]:
    info = runtime.info(container_id)
    return info.ip_address, info.ipv6_address


def test_addresses_survive_restart_and_stop(runtime, start_container):
    first = [start_container(replica) for replica in range(3)]
    before = {info.id: (info.ip_address, info.ipv6_address) for info in first}
    assert all(v4 and v6 for v4, v6 in before.values())
    assert len(set(before.values())) == 3

    for info in first:
        runtime.restart(info.id, timeout=0)
    runtime.stop(first[1].id, timeout=0)
    # New containers started while one is stopped must not take its addresses.
    later = [start_container(replica) for replica in range(3, 5)]
    runtime.start(first[1].id)

    assert {info.id: _addresses(runtime, info.id) for info in first} == before
    taken = set(before.values())
    assert all((info.ip_address, info.ipv6_address) not in taken for info in later)
    assert len({info.ip_address for info in later} | {v4 for v4, _ in taken}) == 5


def test_taken_address_fails_start(runtime, start_container, test_image):
    stopped = start_container()
    runtime.stop(stopped.id, timeout=0)
    client = docker.from_env()
    endpoint = client.api.create_endpoint_config(ipv4_address=stopped.ip_address)
    intruder = client.containers.create(
        test_image, network=_network(runtime), networking_config={_network(runtime): endpoint}, labels={"io.csdp.test": "intruder"}
    )
    try:
        intruder.start()
        with pytest.raises(Conflict) as caught:
            runtime.start(stopped.id)
        assert stopped.ip_address in caught.value.message
        assert "is taken by another container" in caught.value.message
        assert runtime.info(stopped.id).status != "running"

        with pytest.raises(Conflict, match=stopped.ip_address):
            runtime.restart(stopped.id, timeout=0)
        assert runtime.info(stopped.id).status != "running"
    finally:
        intruder.remove(force=True)


def test_first_start_moves_off_taken_address(runtime, start_container, make_spec):
    holder = start_container()
    created = runtime.create(make_spec(1))
    try:
        # Give the new container the holder's addresses, as a concurrent create in another process could.
        api = docker.from_env().api
        api.disconnect_container_from_network(created.id, _network(runtime))
        api.connect_container_to_network(
            created.id, _network(runtime), ipv4_address=holder.ip_address, ipv6_address=holder.ipv6_address
        )
        started = runtime.start(created.id)
        assert started.status == "running"
        assert started.ip_address and started.ip_address != holder.ip_address
        assert started.ipv6_address and started.ipv6_address != holder.ipv6_address
        assert _addresses(runtime, holder.id) == (holder.ip_address, holder.ipv6_address)
    finally:
        runtime.remove(created.id)
