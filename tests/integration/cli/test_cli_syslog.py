"""The real ``csdp`` command against a running API and worker, with the syslog service."""

from __future__ import annotations

import hashlib
import socket
import time

import pytest
from stack_testing import wait_for

pytestmark = pytest.mark.integration


def _start(csdp, num: int, *extra: str) -> list[dict]:
    result = csdp("syslog", "start", "-n", str(num), "--json", *extra)
    assert result.code == 0, result.err
    return result.json()["containers"]


def test_start_show_exec_monitor_delete(csdp):
    containers = _start(csdp, 2)

    assert len(containers) == 2
    for container in containers:
        assert container["service"] == "syslog"
        assert container["status"] == "running"
        assert container["ip_address"]
        assert container["ipv6_address"]

    shown = csdp("syslog", "show", "--json")
    assert shown.code == 0, shown.err
    assert sorted(item["id"] for item in shown.json()) == sorted(item["id"] for item in containers)
    table = csdp("syslog", "show")
    assert table.out.splitlines()[0].split()[:3] == ["ID", "NAME", "IPV4"]
    assert len(table.out.splitlines()) == 3

    first = containers[0]
    executed = csdp(
        "syslog", "exec", "--container", first["id"][:12], "--", "sh", "-c", "echo out; echo err >&2; exit 3"
    )
    assert executed.code == 3
    assert executed.out == "out\n"
    assert executed.err == "err\n"

    # A message sent to the container's address shows in its log.
    marker = f"csdp-cli-test-{time.time_ns()}"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(f"<13>Dec  4 20:00:00 host tester: {marker}".encode(), (first["ip_address"], 514))
    wait_for(
        lambda: marker in csdp("syslog", "monitor", "--container", first["name"]).out,
        15,
        interval=0.5,
        description="message in log",
    )

    deleted = csdp("syslog", "delete", "--json")
    assert deleted.code == 0, deleted.err
    assert deleted.json()["result"] == "success"
    assert sorted(deleted.json()["containers"]) == sorted(item["id"] for item in containers)
    assert csdp("syslog", "show", "--json").json() == []


def test_exec_exit_codes(csdp):
    container = _start(csdp, 1)[0]

    buffered = csdp("syslog", "exec", "--json", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    missing = csdp("syslog", "exec", "--", "/no/such/program")

    assert buffered.code == 0, buffered.err
    assert buffered.json()["exit_code"] == 3
    assert buffered.json()["stdout"] == "out\n"
    assert buffered.json()["stderr"] == "err\n"
    assert missing.code in (126, 127), missing.err
    assert csdp("syslog", "delete", "--container", container["id"]).code == 0


def test_start_waits_through_event_stream(csdp):
    without_broker = csdp.without("CSDP_AMQP_URL")

    result = without_broker("syslog", "start", "-n", "1", "--json")

    assert result.code == 0, result.err
    assert len(result.json()["containers"]) == 1


def test_no_wait_then_jobs_wait(csdp):
    started = csdp("syslog", "start", "--no-wait")
    job_id = started.out.strip()

    waited = csdp("jobs", job_id, "--wait", "--json")

    assert started.code == 0, started.err
    assert waited.code == 0, waited.err
    assert waited.json()["state"] == "succeeded"
    assert waited.json()["id"] == job_id


@pytest.mark.parametrize("num", ["-1", "0", "100000"])
def test_invalid_num_exits_2(csdp, num):
    result = csdp("syslog", "start", "-n", num)

    assert result.code == 2
    assert "num" in result.err
    assert csdp("syslog", "show", "--json").json() == []


def test_non_integer_num_exits_2(csdp):
    result = csdp("syslog", "start", "-n", "2.5")

    assert result.code == 2
    assert "invalid int value: '2.5'" in result.err


def test_unknown_service_exits_3(csdp):
    result = csdp("nosuchservice", "show")

    assert result.code == 3
    assert "known services:" in result.err
    assert "syslog" in result.err


def test_bad_token_exits_4(csdp):
    result = csdp("syslog", "show", env={"CSDP_TOKEN": "not-a-token"})

    assert result.code == 4


def test_upload_to_missing_directory(csdp, tmp_path):
    _start(csdp, 1)
    small = tmp_path / "small.txt"
    small.write_bytes(b"0123456789")

    started = time.monotonic()
    result = csdp("syslog", "files", "upload", str(small), "--to", "/does/not/exist")

    assert result.code == 3, result.err
    assert "/does/not/exist" in result.err
    assert time.monotonic() - started < 3


def test_upload_download_round_trip(csdp, tmp_path):
    _start(csdp, 1)
    local = tmp_path / "data.bin"
    local.write_bytes(bytes(range(256)) * 4096)
    copy = tmp_path / "copy.bin"

    uploaded = csdp("syslog", "files", "upload", str(local), "--to", "/tmp")
    downloaded = csdp("syslog", "files", "download", "/tmp/data.bin", "--out", str(copy))

    assert uploaded.code == 0, uploaded.err
    assert downloaded.code == 0, downloaded.err
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == hashlib.sha256(local.read_bytes()).hexdigest()


def test_monitor_follow_ends_when_container_stops(csdp):
    _start(csdp, 1)
    follower = csdp.popen("syslog", "monitor", "--follow")
    try:
        time.sleep(1)
        assert follower.poll() is None
        stopped = csdp("syslog", "stop")
        assert stopped.code == 0, stopped.err

        follower.wait(timeout=5)
        out, err = follower.communicate()
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    assert follower.returncode == 0, err
    assert "exit code" in err


def test_all_show_and_delete(csdp):
    _start(csdp, 1)

    shown = csdp("all", "show", "--json")
    deleted = csdp("all", "delete")

    assert len(shown.json()) == 1
    assert deleted.code == 0, deleted.err
    assert csdp("all", "show", "--json").json() == []
