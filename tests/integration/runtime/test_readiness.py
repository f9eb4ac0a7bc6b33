"""Readiness checks against real containers: port, exec, log, none, timeouts and exits."""

from __future__ import annotations

import pytest

from csdp.errors import OperationTimeout, RuntimeFailure
from csdp.runtime.base import ReadinessSpec

pytestmark = pytest.mark.integration

# perl-base is part of Debian minbase, so the test image can listen without extra packages.
TCP_LISTENER = (
    "perl", "-MIO::Socket::INET", "-e",
    "sleep 1; my $s = IO::Socket::INET->new(LocalPort => 8080, Listen => 5, ReuseAddr => 1) or die $!;"
    " while (my $c = $s->accept) { close $c }",
)
UDP_LISTENER = (
    "perl", "-MIO::Socket::IP", "-e",
    "sleep 1; my $s = IO::Socket::IP->new(LocalHost => '::', LocalPort => 5140, Proto => 'udp') or die $!;"
    " sleep 600",
)


def test_ready_tcp_port(runtime, start_container):
    info = start_container(command=TCP_LISTENER)

    ready = runtime.wait_ready(info.id, ReadinessSpec(kind="port", port=8080, timeout_seconds=15))

    assert ready.status == "running"
    assert ready.ip_address == info.ip_address


def test_ready_udp_port(runtime, start_container):
    info = start_container(command=UDP_LISTENER)

    ready = runtime.wait_ready(info.id, ReadinessSpec(kind="port", port=5140, protocol="udp", timeout_seconds=15))

    assert ready.status == "running"


def test_ready_exec(runtime, start_container):
    info = start_container(command=("sh", "-c", "sleep 1; touch /tmp/ready; sleep infinity"))

    ready = runtime.wait_ready(info.id, ReadinessSpec(kind="exec", command=("test", "-e", "/tmp/ready"), timeout_seconds=15))

    assert ready.status == "running"


def test_ready_log(runtime, start_container):
    info = start_container(command=("sh", "-c", "sleep 1; echo 'server listening on 8080'; sleep infinity"))

    ready = runtime.wait_ready(info.id, ReadinessSpec(kind="log", pattern=r"listening on \d+", timeout_seconds=15))

    assert ready.status == "running"


def test_ready_none(runtime, running):
    assert runtime.wait_ready(running.id, ReadinessSpec(kind="none")).id == running.id


def test_ready_timeout(runtime, running):
    with pytest.raises(OperationTimeout) as caught:
        runtime.wait_ready(running.id, ReadinessSpec(kind="port", port=9, timeout_seconds=1))

    assert running.name in caught.value.message
    assert "TCP port 9" in caught.value.message


def test_ready_container_exits(runtime, start_container):
    info = start_container(command=("sh", "-c", "echo 'config error: no upstream'; exit 4"))

    with pytest.raises(RuntimeFailure) as caught:
        runtime.wait_ready(info.id, ReadinessSpec(kind="port", port=8080, timeout_seconds=15))

    assert "exit code 4" in caught.value.message
    assert "config error: no upstream" in caught.value.message
    assert caught.value.container == info.id
