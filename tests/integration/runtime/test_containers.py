"""Container lifecycle on the real engine: names, labels, hardening, addresses, idempotence."""

from __future__ import annotations

import ipaddress
import uuid
from concurrent.futures import ThreadPoolExecutor

import docker
import pytest

from csdp.errors import NotFound
from csdp.runtime.base import (
    LABEL_JOB,
    LABEL_OWNER,
    LABEL_REPLICA,
    LABEL_SERVICE,
    ContainerSpec,
    PortSpec,
)
from csdp.runtime.labels import LABEL_PORTS
from csdp.runtime.names import container_name

pytestmark = pytest.mark.integration


def _inspect(container_id: str) -> dict:
    return docker.from_env().api.inspect_container(container_id)


def test_create_twice_returns_same_container(runtime, make_spec, owner):
    spec = make_spec()

    first = runtime.create(spec)
    second = runtime.create(spec)

    assert second.id == first.id
    assert [info.id for info in runtime.list(owner=owner)] == [first.id]
    assert first.name == container_name("plain", owner, spec.job_id, 0)
    runtime.remove(first.id)


def test_create_labels_and_ports(runtime, make_spec, owner):
    spec = make_spec(replica=2, ports=(PortSpec(514, "udp", "syslog"), PortSpec(601, "tcp")))

    info = runtime.create(spec)
    labels = _inspect(info.id)["Config"]["Labels"]
    runtime.remove(info.id)

    assert labels[LABEL_OWNER] == owner
    assert labels[LABEL_SERVICE] == "plain"
    assert labels[LABEL_JOB] == spec.job_id
    assert labels[LABEL_REPLICA] == "2"
    assert LABEL_PORTS in labels
    assert info.ports == (PortSpec(514, "udp", "syslog"), PortSpec(601, "tcp"))
    assert info.service_port == 514
    assert info.status == "created"


def test_create_hardening(runtime, make_spec):
    info = runtime.create(make_spec(capabilities=("NET_BIND_SERVICE",), shm_size="64m"))
    attrs = _inspect(info.id)
    runtime.remove(info.id)
    host = attrs["HostConfig"]

    assert host["Privileged"] is False
    assert host["CapDrop"] == ["ALL"]
    assert host["CapAdd"] == ["NET_BIND_SERVICE"]
    assert host["Init"] is True
    assert host["Memory"] == 128 * 1024 * 1024
    assert host["PidsLimit"] == 64
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["ShmSize"] == 64 * 1024 * 1024
    assert not host.get("Binds")
    assert attrs["Mounts"] == []


def test_create_missing_image(runtime, make_spec):
    with pytest.raises(NotFound) as caught:
        runtime.create(make_spec(image="csdp-test/does-not-exist:latest"))

    assert "csdp-test/does-not-exist:latest" in caught.value.message


def test_spec_files_written_before_start(runtime, start_container):
    info = start_container(files={"/opt/app/conf/app.conf": b"key=value\n", "/tmp/seed.txt": b"seed"})

    result = runtime.exec(info.id, ["sh", "-c", "cat /opt/app/conf/app.conf /tmp/seed.txt; stat -c %a /tmp"], timeout=10)

    assert result.exit_code == 0
    assert result.stdout == b"key=value\nseed1777\n"


def test_addresses_distinct_in_subnets(start_container, settings):
    first = start_container(0)
    second = start_container(1)

    for info in (first, second):
        assert ipaddress.ip_address(info.ip_address) in ipaddress.ip_network(settings.subnet_v4)
        assert ipaddress.ip_address(info.ipv6_address) in ipaddress.ip_network(settings.subnet_v6)
    assert first.ip_address != second.ip_address
    assert first.ipv6_address != second.ipv6_address


def test_list_filters_by_owner(runtime, test_image, owner):
    other = f"{owner}-other"
    job_id = uuid.uuid4().hex
    mine = runtime.create(ContainerSpec("plain", owner, job_id, 0, test_image))
    theirs = runtime.create(ContainerSpec("plain", other, job_id, 0, test_image))
    try:
        listed_mine = {info.id for info in runtime.list(owner=owner)}
        listed_theirs = {info.id for info in runtime.list(owner=other)}
        listed_job = {info.id for info in runtime.list(job_id=job_id)}
        listed_both = {info.id for info in runtime.list(owner=owner, job_id=job_id, service="plain")}
    finally:
        runtime.remove(mine.id)
        runtime.remove(theirs.id)

    assert listed_mine == {mine.id}
    assert listed_theirs == {theirs.id}
    assert listed_job == {mine.id, theirs.id}
    assert listed_both == {mine.id}


def test_owners_differing_in_punctuation(runtime, test_image, owner):
    job_id = uuid.uuid4().hex
    owners = [f"{owner}.a.b", f"{owner}.a_b", f"{owner}.a-b"]
    created = [runtime.create(ContainerSpec("plain", name, job_id, 0, test_image)) for name in owners]
    try:
        names = {info.name for info in created}
        ids = {info.id for info in created}
    finally:
        for info in created:
            runtime.remove(info.id)

    assert len(names) == 3
    assert len(ids) == 3


def test_list_includes_stopped(runtime, running, owner):
    runtime.stop(running.id, timeout=1)

    listed = runtime.list(owner=owner)

    assert [info.id for info in listed] == [running.id]
    assert listed[0].status == "exited"
    assert listed[0].ip_address is None


def test_stop_restart_remove_idempotent(runtime, running):
    runtime.stop(running.id, timeout=1)
    runtime.stop(running.id, timeout=1)
    assert runtime.info(running.id).status == "exited"

    restarted = runtime.restart(running.id, timeout=1)
    assert restarted.status == "running"
    assert restarted.ip_address is not None

    runtime.remove(running.id)
    runtime.remove(running.id)
    runtime.stop(running.id)
    with pytest.raises(NotFound) as caught:
        runtime.info(running.id)
    assert running.id in caught.value.message


def test_start_twice(runtime, running):
    again = runtime.start(running.id)

    assert again.status == "running"
    assert again.ip_address == running.ip_address


def test_connect_network_idempotent(runtime, running, settings):
    runtime.connect_network(running.id)
    runtime.connect_network(running.id)

    networks = _inspect(running.id)["NetworkSettings"]["Networks"]
    assert list(networks) == [settings.network_name]


def test_ensure_network_idempotent(runtime, settings):
    first = runtime.ensure_network()
    second = runtime.ensure_network()

    assert first == second
    assert first.subnet_v4 == settings.subnet_v4
    assert first.subnet_v6 == settings.subnet_v6
    assert first.driver == "bridge"


def test_create_concurrent_same_replica(runtime, make_spec, owner):
    spec = make_spec()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: runtime.create(spec), range(4)))
    listed = runtime.list(owner=owner)
    for info in listed:
        runtime.remove(info.id)

    assert len({info.id for info in results}) == 1
    assert len(listed) == 1
