"""Parsing engine responses: labels, times, frames, /proc/net/udp."""

from __future__ import annotations

import struct
from datetime import datetime, timezone

from csdp.runtime.base import ContainerSpec, PortSpec
from csdp.runtime.frames import iter_frames
from csdp.runtime.labels import build_labels, deployment_of, info_from_inspect, info_from_summary, parse_engine_time, ports_from_label
from csdp.runtime.readiness import udp_ports

CREATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def _spec() -> ContainerSpec:
    return ContainerSpec(
        service="syslog",
        owner="alice",
        job_id="job1",
        replica=1,
        image="csdp/syslog",
        ports=(PortSpec(514, "udp", "syslog"), PortSpec(601, "tcp")),
        expires_at=datetime(2026, 1, 2, 7, 4, 5),
    )


def test_labels_round_trip():
    labels = build_labels(_spec(), CREATED)
    attrs = {
        "Id": "abc",
        "Name": "/csdp-syslog",
        "Config": {"Labels": labels},
        "State": {"Status": "exited", "ExitCode": 3},
        "NetworkSettings": {"Networks": {"svc": {"IPAddress": "10.0.0.2", "GlobalIPv6Address": "fd00::2"}}},
    }

    info = info_from_inspect(attrs, "svc")

    assert info.name == "csdp-syslog"
    assert (info.owner, info.service, info.job_id, info.replica) == ("alice", "syslog", "job1", 1)
    assert info.ports == _spec().ports
    assert info.created == CREATED
    assert info.expires_at == datetime(2026, 1, 2, 7, 4, 5, tzinfo=timezone.utc)
    assert (info.ip_address, info.ipv6_address) == ("10.0.0.2", "fd00::2")
    assert info.exit_code == 3


def test_summary_other_network_and_exit():
    summary = {
        "Id": "abc",
        "Names": ["/n"],
        "Labels": build_labels(_spec(), CREATED),
        "State": "exited",
        "Status": "Exited (137) 2 minutes ago",
        "NetworkSettings": {"Networks": {"other": {"IPAddress": "172.17.0.2"}}},
    }

    info = info_from_summary(summary, "svc")

    assert info.ip_address is None
    assert info.exit_code == 137
    assert info.status == "exited"


def test_ports_label_unreadable():
    assert ports_from_label("not json") == ()
    assert ports_from_label(None) == ()


def test_engine_time_nanoseconds():
    assert parse_engine_time("2026-12-04T20:13:35.93282654Z") == datetime(2026, 12, 4, 20, 13, 35, 932826, tzinfo=timezone.utc)
    assert parse_engine_time("2026-12-04T20:13:35Z") == datetime(2026, 12, 4, 20, 13, 35, tzinfo=timezone.utc)


def _frame(kind: int, payload: bytes) -> bytes:
    return bytes([kind, 0, 0, 0]) + struct.pack(">I", len(payload)) + payload


def _reader(data: bytes, step: int):
    """Return a read function over ``data`` that gives at most ``step`` bytes per call."""
    position = 0

    def read(size: int) -> bytes:
        nonlocal position
        chunk = data[position : position + min(size, step)]
        position += len(chunk)
        return chunk

    return read


def test_frames_split_reads():
    data = _frame(1, b"out\n") + _frame(2, b"err\n") + _frame(1, b"")

    assert list(iter_frames(_reader(data, 3))) == [("stdout", b"out\n"), ("stderr", b"err\n")]


def test_frames_truncated_stream():
    data = _frame(1, b"complete") + _frame(2, b"cut")[:-1]

    assert list(iter_frames(_reader(data, 100))) == [("stdout", b"complete"), ("stderr", b"cu")]


def test_udp_ports_from_proc():
    text = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
        "  123: 00000000:0202 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000 0\n"
        "  sl  local_address                         remote_address                        st\n"
        "  45: 00000000000000000000000000000000:1414 00000000000000000000000000000000:0000 07 0\n"
    )

    assert udp_ports(text) == {514, 5140}


def test_deployment_label():
    assert build_labels(_spec(), CREATED)["io.csdp.deployment"] == "default"
    assert build_labels(_spec(), CREATED, "lab2")["io.csdp.deployment"] == "lab2"
    assert deployment_of({}) == "default"
    assert deployment_of({"io.csdp.deployment": "lab2"}) == "lab2"
