"""The real ``csdp`` with two syslog containers: monitor without --container, empty ids, job id prefixes."""

from __future__ import annotations

import socket
import time

import pytest
from stack_testing import wait_for

pytestmark = pytest.mark.integration


def _start_two(csdp) -> list[dict]:
    result = csdp("syslog", "start", "-n", "2", "--json")
    assert result.code == 0, result.err
    return result.json()["containers"]


def _send(container: dict, text: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(f"<13>Dec  4 20:00:00 host tester: {text}".encode(), (container["ip_address"], 514))


def test_monitor_shows_every_container(csdp):
    containers = _start_two(csdp)
    markers = {container["name"]: f"csdp-monitor-{time.time_ns()}-{container['replica']}" for container in containers}
    for container in containers:
        _send(container, markers[container["name"]])

    def every_marker_in_log() -> bool:
        result = csdp("syslog", "monitor", "--tail", "20")
        assert result.code == 0, result.err
        lines = result.out.splitlines()
        return all(
            any(line.startswith(name) and " | " in line and marker in line for line in lines)
            for name, marker in markers.items()
        )

    wait_for(every_marker_in_log, 15, interval=0.5, description="both markers in the prefixed logs")
    csdp("syslog", "delete")


def test_monitor_follow_ends_when_all_stop(csdp):
    containers = _start_two(csdp)
    follower = csdp.popen("syslog", "monitor", "--follow")
    try:
        time.sleep(1)
        assert follower.poll() is None
        stopped = csdp("syslog", "stop")
        assert stopped.code == 0, stopped.err

        follower.wait(timeout=10)
        out, err = follower.communicate()
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    assert follower.returncode == 0, err
    for container in containers:
        assert f"{container['name']} is exited" in err
    csdp("syslog", "delete")


def test_empty_container_stops_nothing(csdp):
    containers = _start_two(csdp)

    stopped = csdp("syslog", "stop", "--container", "")

    assert stopped.code == 2
    assert "--container is empty" in stopped.err
    shown = csdp("syslog", "show", "--json").json()
    assert sorted(item["id"] for item in shown) == sorted(item["id"] for item in containers)
    assert {item["status"] for item in shown} == {"running"}
    csdp("syslog", "delete")


def test_job_id_prefix_as_listed(csdp):
    submitted = csdp("syslog", "start", "--no-wait")
    assert submitted.code == 0, submitted.err
    job_id = submitted.out.strip()

    listed = csdp("jobs")
    short = listed.out.splitlines()[1].split()[0]
    waited = csdp("jobs", short, "--wait", "--json")

    assert job_id.startswith(short)
    assert waited.code == 0, waited.err
    assert waited.json()["id"] == job_id
    csdp("syslog", "delete")
