"""The snmp service: system values from parameters, SNMPv3, extra OIDs from uploads and actions.

The client is Net-SNMP's snmpget, snmpwalk and snmpset on this host (Debian
package snmp); OIDs are numeric because Debian ships no MIB files.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from csdp.workflows.specs import readiness_of

from catalog_helpers import assert_removed_cleanly, run_action, upload

pytestmark = pytest.mark.integration

SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"
SYSTEM_GROUP = "1.3.6.1.2.1.1"
LAB_OID = "1.3.6.1.4.1.99999.1.0"
LATER_OID = "1.3.6.1.4.1.99999.2.0"


@pytest.fixture(scope="module", autouse=True)
def snmp_tools():
    for tool in ("snmpget", "snmpwalk", "snmpset"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing on this host; install Debian's snmp package")


def snmp(tool: str, address: str, *arguments: str) -> subprocess.CompletedProcess:
    """Run a Net-SNMP tool against the agent; -Oqn prints numeric OIDs and bare values."""
    command = [tool, "-Oqn", "-t", "2", "-r", "1", *arguments[:-1], address, *arguments[-1].split()]
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


def values_of(output: str) -> dict[str, str]:
    """Map each numeric OID to its value, without the quotes around strings."""
    values = {}
    for line in output.splitlines():
        oid, _, value = line.partition(" ")
        values[oid.lstrip(".")] = value.strip().strip('"')
    return values


def test_snmp_system_values(start_service, runtime, engine, owner):
    info = start_service(
        "snmp",
        {"sys_name": "qa-agent-1", "sys_contact": "lab@example.org", "sys_location": "rack 7", "ro_community": "lab-ro"},
    )

    got = snmp("snmpget", info.ip_address, "-v2c", "-c", "lab-ro", f"{SYS_NAME} {SYS_CONTACT} {SYS_LOCATION}")
    walked = snmp("snmpwalk", info.ip_address, "-v2c", "-c", "lab-ro", SYSTEM_GROUP)
    wrong = snmp("snmpget", info.ip_address, "-v2c", "-c", "public", SYS_NAME)

    assert got.returncode == 0, got.stderr
    assert values_of(got.stdout) == {SYS_NAME: "qa-agent-1", SYS_CONTACT: "lab@example.org", SYS_LOCATION: "rack 7"}
    assert walked.returncode == 0, walked.stderr
    walked_values = values_of(walked.stdout)
    assert walked_values[SYS_NAME] == "qa-agent-1"
    assert walked_values[SYS_LOCATION] == "rack 7"
    assert len(walked_values) >= 7
    assert wrong.returncode != 0
    assert "Timeout" in wrong.stderr
    assert_removed_cleanly(runtime, engine, info.id, owner)


def test_snmp_ipv6_query(start_service):
    info = start_service("snmp", {"sys_name": "qa-agent-6"})

    got = snmp("snmpget", f"udp6:[{info.ipv6_address}]", "-v2c", "-c", "public", SYS_NAME)

    assert got.returncode == 0, got.stderr
    assert values_of(got.stdout) == {SYS_NAME: "qa-agent-6"}


def test_snmp_v3_user(start_service):
    info = start_service(
        "snmp",
        {
            "sys_name": "qa-agent-3",
            "v3_user": "qa",
            "v3_auth_protocol": "SHA-256",
            "v3_auth_passphrase": "auth-pass-1",
            "v3_priv_passphrase": "priv-pass-1",
        },
    )
    v3 = ["-v3", "-l", "authPriv", "-u", "qa", "-a", "SHA-256", "-x", "AES", "-X", "priv-pass-1"]

    good = snmp("snmpget", info.ip_address, *v3, "-A", "auth-pass-1", SYS_NAME)
    bad = snmp("snmpget", info.ip_address, *v3, "-A", "wrong-pass-1", SYS_NAME)

    assert good.returncode == 0, good.stderr
    assert values_of(good.stdout) == {SYS_NAME: "qa-agent-3"}
    assert bad.returncode != 0
    assert "Authentication failure" in bad.stderr


def test_snmp_uploaded_oids(start_service, runtime, catalog):
    fragment = f'override .{LAB_OID} octet_str "from upload"\n'.encode()
    info = start_service("snmp", uploads={"/etc/snmp/extra.d": {"lab.conf": fragment}})

    at_start = snmp("snmpget", info.ip_address, "-v2c", "-c", "public", LAB_OID)
    upload(runtime, info.id, "/etc/snmp/extra.d", {"later.conf": f"override .{LATER_OID} integer 42\n".encode()})
    reloaded = run_action(runtime, catalog, "snmp", info.id, "reload")
    walked = snmp("snmpwalk", info.ip_address, "-v2c", "-c", "public", "1.3.6.1.4.1.99999")

    assert at_start.returncode == 0, at_start.stderr
    assert values_of(at_start.stdout) == {LAB_OID: "from upload"}
    assert reloaded.exit_code == 0, reloaded.stderr
    assert b"snmpd restarted" in reloaded.stdout
    assert values_of(walked.stdout) == {LAB_OID: "from upload", LATER_OID: "42"}


def test_snmp_set_oid_action(start_service, runtime, catalog):
    info = start_service("snmp", {"rw_community": "lab-rw"})

    result = run_action(runtime, catalog, "snmp", info.id, "set_oid", oid=f".{LAB_OID}", type="octet_str", value="first")
    first = snmp("snmpget", info.ip_address, "-v2c", "-c", "public", LAB_OID)
    written = snmp("snmpset", info.ip_address, "-v2c", "-c", "lab-rw", f"{LAB_OID} s changed-by-set")
    second = snmp("snmpget", info.ip_address, "-v2c", "-c", "public", LAB_OID)
    read_only = snmp("snmpset", info.ip_address, "-v2c", "-c", "public", f"{LAB_OID} s rejected")

    assert result.exit_code == 0, result.stderr
    assert values_of(first.stdout) == {LAB_OID: "first"}
    assert written.returncode == 0, written.stderr
    assert values_of(second.stdout) == {LAB_OID: "changed-by-set"}
    assert read_only.returncode != 0


def test_snmp_restart_keeps_v3_user(start_service, runtime, catalog):
    fragment = f'override .{LAB_OID} octet_str "from upload"\n'.encode()
    info = start_service(
        "snmp",
        {"v3_user": "qa", "v3_auth_passphrase": "auth-pass-1"},
        uploads={"/etc/snmp/extra.d": {"lab.conf": fragment}},
    )
    v3 = ["-v3", "-l", "authNoPriv", "-u", "qa", "-a", "SHA", "-A", "auth-pass-1"]

    runtime.restart(info.id)
    restarted = runtime.wait_ready(info.id, readiness_of(catalog.get("snmp").manifest))
    got = snmp("snmpget", restarted.ip_address, *v3, f"{SYS_NAME} {LAB_OID}")

    assert got.returncode == 0, got.stderr
    assert values_of(got.stdout)[LAB_OID] == "from upload"
