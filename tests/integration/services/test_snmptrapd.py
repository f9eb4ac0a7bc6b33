"""The snmptrapd service: traps with the configured community are logged, others are not."""

from __future__ import annotations

import io
import subprocess
import tarfile
import uuid

import pytest

from service_testing import output_of, wait_for_output

pytestmark = pytest.mark.integration

TRAPS_FILE = "/var/log/csdp/traps.log"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
COLD_START = "1.3.6.1.6.3.1.1.5.1"


def send_trap(address: str, community: str, text: str, version: str = "2c") -> None:
    target = f"udp6:[{address}]:162" if ":" in address else f"{address}:162"
    if version == "1":
        command = ["snmptrap", "-v", "1", "-c", community, target, "1.3.6.1.4.1.8072", "", "6", "17", "", SYS_NAME, "s", text]
    else:
        command = ["snmptrap", "-v", "2c", "-c", community, target, "", COLD_START, SYS_NAME, "s", text]
    subprocess.run(command, check=True, timeout=10, capture_output=True)


def test_snmptrapd_community_filter(runtime, start_service):
    [info] = start_service("snmptrapd", parameters={"community": "qa-secret"})
    wrong = f"wrong-{uuid.uuid4().hex[:8]}"
    right = f"right-{uuid.uuid4().hex[:8]}"

    # The wrong trap goes first: once the right one is logged, the wrong one was handled too.
    send_trap(info.ip_address, "public", wrong)
    send_trap(info.ip_address, "qa-secret", right)

    output = wait_for_output(runtime, info.id, right)
    assert right in output
    assert wrong not in output
    assert "community qa-secret" in output


def test_snmptrapd_ipv6_and_v1(runtime, start_service):
    [info] = start_service("snmptrapd")
    v2 = f"v2-{uuid.uuid4().hex[:8]}"
    v1 = f"v1-{uuid.uuid4().hex[:8]}"

    send_trap(info.ipv6_address, "public", v2)
    send_trap(info.ip_address, "public", v1, version="1")

    assert v2 in wait_for_output(runtime, info.id, v2)
    assert v1 in wait_for_output(runtime, info.id, v1)


def test_snmptrapd_file_download(runtime, start_service):
    [info] = start_service("snmptrapd", parameters={"community": "files"})
    text = f"stored-{uuid.uuid4().hex[:8]}"
    send_trap(info.ip_address, "files", text)
    wait_for_output(runtime, info.id, text)

    stream, _ = runtime.get_files(info.id, TRAPS_FILE)
    content = tarfile.open(fileobj=io.BytesIO(b"".join(stream))).extractfile("traps.log").read().decode()

    assert text in content
    assert text in output_of(runtime, info.id)
