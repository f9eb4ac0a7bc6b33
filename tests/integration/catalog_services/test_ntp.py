"""The ntp service: chronyd serves time without any capability to set the clock.

In the field, chronyd exited in containers because it could not call adjtimex to
set the clock, and the usual fix, adding SYS_TIME, lets a test container change
the host's clock. Run with -x and a local stratum, it must keep running and
reply to real NTP queries from another container.
"""

from __future__ import annotations

import json
import time

import pytest

from catalog_helpers import assert_removed_cleanly, output_of

pytestmark = pytest.mark.integration

# How long the server runs before it is queried: long enough for a chronyd that
# tries to adjust the clock to have failed and exited.
SETTLE_SECONDS = 30
MAX_STRATUM = 10
# An SNTP client (RFC 4330) for a client container that has Python: it sends one
# version 4 client request and prints the fields of the server's reply as JSON.
SNTP_QUERY = r"""
import json, socket, struct, sys, time
address = sys.argv[1]
family = socket.AF_INET6 if ":" in address else socket.AF_INET
client = socket.socket(family, socket.SOCK_DGRAM)
client.settimeout(5)
client.sendto(b"\x23" + 47 * b"\0", (address, 123))
reply, _ = client.recvfrom(512)
first = reply[0]
seconds, fraction = struct.unpack("!II", reply[40:48])
print(json.dumps({
    "length": len(reply),
    "leap": first >> 6,
    "version": (first >> 3) & 7,
    "mode": first & 7,
    "stratum": reply[1],
    "transmit_unix": seconds - 2208988800 + fraction / 2**32,
    "client_unix": time.time(),
}))
"""


def sntp_query(runtime, client_id: str, address: str) -> dict:
    result = runtime.exec(client_id, ["python3", "-c", SNTP_QUERY, address], timeout=20)
    assert result.exit_code == 0, f"NTP query to {address} failed: {result.stderr.decode(errors='replace')}"
    return json.loads(result.stdout)


def test_ntp_without_clock_privileges(start_service, runtime, engine, catalog, owner):
    started = time.monotonic()
    server = start_service("ntp")
    # The httpmock image serves as the client because it has Python.
    client = start_service("httpmock")
    time.sleep(max(0.0, SETTLE_SECONDS - (time.monotonic() - started)))

    answer_v4 = sntp_query(runtime, client.id, server.ip_address)
    answer_v6 = sntp_query(runtime, client.id, server.ipv6_address)
    state = engine.containers.get(server.id).attrs
    logs = output_of(runtime, server.id)

    assert catalog.get("ntp").manifest.capabilities == []
    assert "SYS_TIME" not in (state["HostConfig"]["CapAdd"] or [])
    assert state["State"]["Running"] is True
    assert state["RestartCount"] == 0
    assert "adjtimex" not in logs
    assert "Disabled control of system clock" in logs
    for answer in (answer_v4, answer_v6):
        assert answer["length"] == 48
        assert answer["mode"] == 4
        assert 1 <= answer["stratum"] <= MAX_STRATUM
        assert answer["leap"] != 3
        assert abs(answer["transmit_unix"] - answer["client_unix"]) < 5
    assert_removed_cleanly(runtime, engine, server.id, owner)


def test_ntp_local_stratum_parameter(start_service, runtime, catalog):
    server = start_service("ntp", {"local_stratum": 7})
    client = start_service("httpmock")

    answer = sntp_query(runtime, client.id, server.ip_address)
    tracking = runtime.exec(server.id, list(catalog.get("ntp").manifest.action("tracking").command), timeout=10)

    assert answer["stratum"] == 7
    assert tracking.exit_code == 0
    assert b"Stratum         : 7" in tracking.stdout
