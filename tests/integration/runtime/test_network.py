"""The service network: a macvlan variant on a veth pair this test owns, and removal."""

from __future__ import annotations

import ipaddress
import subprocess
import uuid

import docker
import pytest

from csdp.runtime.base import ContainerSpec
from csdp.runtime.docker_backend import DockerRuntime
from csdp.settings import Settings

pytestmark = pytest.mark.integration

MACVLAN_SUBNET_V4 = "10.219.1.0/24"
MACVLAN_SUBNET_V6 = "fd5c:5d9e:1a::/64"


def _ip(*arguments: str) -> None:
    subprocess.run(["ip", *arguments], check=True, capture_output=True, text=True)


@pytest.fixture
def veth_parent():
    """A veth pair whose peer sits in a network namespace of its own, so macvlan traffic stays on this host."""
    suffix = uuid.uuid4().hex[:6]
    namespace, parent, peer = f"csdp-rt-{suffix}", f"csdprt{suffix}a", f"csdprt{suffix}b"
    _ip("netns", "add", namespace)
    try:
        _ip("link", "add", parent, "type", "veth", "peer", "name", peer, "netns", namespace)
        _ip("link", "set", parent, "up")
        _ip("-n", namespace, "link", "set", peer, "up")
        yield parent
    finally:
        subprocess.run(["ip", "link", "del", parent], capture_output=True)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True)


@pytest.fixture
def macvlan_runtime(veth_parent, test_image):
    settings = Settings(
        network_name=f"csdp-test-macvlan-{uuid.uuid4().hex[:6]}",
        network_driver="macvlan",
        macvlan_parent=veth_parent,
        subnet_v4=MACVLAN_SUBNET_V4,
        subnet_v6=MACVLAN_SUBNET_V6,
    )
    backend = DockerRuntime(settings)
    yield backend
    backend.remove_network()


def test_macvlan_network(macvlan_runtime, veth_parent, test_image, owner):
    network = macvlan_runtime.ensure_network()
    job_id = uuid.uuid4().hex
    listener = ContainerSpec(
        "plain", owner, job_id, 0, test_image,
        command=("perl", "-MIO::Socket::INET", "-e",
                 "my $s = IO::Socket::INET->new(LocalPort => 8080, Listen => 5) or die $!; while (my $c = $s->accept) { close $c }"),
    )
    created = []
    try:
        server = macvlan_runtime.start(macvlan_runtime.create(listener).id)
        created.append(server.id)
        client = macvlan_runtime.start(macvlan_runtime.create(ContainerSpec("plain", owner, job_id, 1, test_image)).id)
        created.append(client.id)
        attrs = docker.from_env().api.inspect_network(network.name)
        connect = macvlan_runtime.exec(
            client.id,
            ["perl", "-MIO::Socket::INET", "-e",
             f"for (1..20) {{ IO::Socket::INET->new(PeerAddr => '{server.ip_address}:8080', Timeout => 1) and exit 0; sleep 1 }} exit 1"],
            timeout=30,
        )
    finally:
        for container_id in created:
            macvlan_runtime.remove(container_id)

    assert network.driver == "macvlan"
    assert attrs["Options"]["parent"] == veth_parent
    assert network.subnet_v4 == MACVLAN_SUBNET_V4
    assert network.subnet_v6 == MACVLAN_SUBNET_V6
    assert ipaddress.ip_address(server.ip_address) in ipaddress.ip_network(MACVLAN_SUBNET_V4)
    assert ipaddress.ip_address(client.ipv6_address) in ipaddress.ip_network(MACVLAN_SUBNET_V6)
    assert server.ip_address != client.ip_address
    assert connect.exit_code == 0, connect.stderr


def test_remove_network_twice(test_image):
    settings = Settings(
        network_name=f"csdp-test-remove-{uuid.uuid4().hex[:6]}", subnet_v4="10.219.2.0/24", subnet_v6="fd5c:5d9e:1b::/64"
    )
    backend = DockerRuntime(settings)
    backend.ensure_network()

    backend.remove_network()
    backend.remove_network()

    assert docker.from_env().networks.list(names=[settings.network_name]) == []
