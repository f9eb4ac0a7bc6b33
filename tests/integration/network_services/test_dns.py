"""The dns service: a zone of the owner's own containers, kept current by jobs, queried from another container."""

from __future__ import annotations

import json
import uuid

import pytest

from csdp.errors import NotFound
from csdp.runtime.archive import single_file_tar
from csdp.workflows.inventory import sync_owner_inventory

pytestmark = pytest.mark.integration

LIMITS = {"max_containers": 10, "max_replicas": 10}
ZONE = "csdp.test."
UPLOADED_ZONE = f"""$TTL 300
@       IN SOA  ns.{ZONE} hostmaster.{ZONE} 2024010101 3600 600 86400 300
@       IN NS   ns.{ZONE}
ns      IN A    192.0.2.53
printer IN A    192.0.2.10
printer IN AAAA 2001:db8::10
"""


def query(runtime, client_id: str, server: str, name: str, kind: str = "A") -> dict:
    """Ask ``server`` from inside the client container and return the parsed answer of dns-resolve."""
    result = runtime.exec(client_id, ["dns-resolve", "--server", server, name, kind], timeout=30)
    assert result.exit_code == 0, result.stderr.decode()
    return json.loads(result.stdout)


def addresses(answer: dict) -> set[str]:
    return {record["data"] for record in answer["records"]}


def finished(results, job, timeout: float = 120) -> dict:
    pushed = results.wait(job.id, timeout=timeout)
    assert pushed["state"] == "succeeded", pushed.get("error")
    return pushed["result"]


def test_zone_follows_jobs(start_worker, results, runtime, service_images, owner, other_owner, start_service):
    from csdp.workflows.submit import submit_delete, submit_start

    start_worker()
    # The other user's container exists before the owner's jobs rewrite the zone.
    foreign = start_service("webhook", as_other_owner=True)

    servers = finished(results, submit_start(owner, "dns", 2, {}, 600, None, **LIMITS))["containers"]
    server, client = servers
    assert server["service"] == "dns"
    assert client["service"] == "dns"
    assert server["ip_address"] and server["ipv6_address"]

    # The name server's own containers are in its zone, with both address families.
    answer = query(runtime, client["id"], server["ip_address"], server["name"], "A")
    assert answer["status"] == "NOERROR"
    assert answer["authoritative"] is True
    assert addresses(answer) == {server["ip_address"]}
    answer = query(runtime, client["id"], server["ipv6_address"], server["name"], "AAAA")
    assert addresses(answer) == {server["ipv6_address"]}

    # A container started later appears, under its own name and its service name.
    webhook = finished(results, submit_start(owner, "webhook", 1, {}, 600, None, **LIMITS))["containers"][0]
    assert addresses(query(runtime, client["id"], server["ip_address"], webhook["name"], "A")) == {webhook["ip_address"]}
    assert addresses(query(runtime, client["id"], server["ip_address"], webhook["name"], "AAAA")) == {webhook["ipv6_address"]}
    assert addresses(query(runtime, client["id"], server["ip_address"], "webhook", "A")) == {webhook["ip_address"]}

    # Another user's container is never in the zone, by name or by address.
    assert query(runtime, client["id"], server["ip_address"], foreign.name)["status"] == "NXDOMAIN"
    listing = json.loads(runtime.exec(server["id"], ["dns-resolve", "--transfer"], timeout=30).stdout)
    listed = json.dumps(listing["records"])
    assert foreign.name not in listed
    assert foreign.ip_address not in listed
    assert webhook["name"] in listed

    # Recursion is off: an outside name is refused at once, not looked up elsewhere.
    refused = runtime.exec(client["id"], ["dig", f"@{server['ip_address']}", "+recurse", "+time=2", "+tries=1", "example.com.", "A"], timeout=30)
    output = refused.stdout.decode()
    assert "status: REFUSED" in output
    assert " ra" not in output.split("flags:")[1].split(";")[0]

    # A deleted container disappears.
    removed = finished(results, submit_delete(owner, [webhook["id"]]))
    assert removed["containers"] == [webhook["id"]]
    assert query(runtime, client["id"], server["ip_address"], webhook["name"])["status"] == "NXDOMAIN"
    assert query(runtime, client["id"], server["ip_address"], "webhook")["status"] == "NXDOMAIN"

    # Deleting everything leaves nothing behind.
    finished(results, submit_delete(owner))
    assert runtime.list(owner=owner) == []
    with pytest.raises(NotFound):
        runtime.info(server["id"])


def test_resolve_and_uploaded_zone(start_service, run_action, runtime, owner, other_owner):
    dns = start_service("dns")
    webhook = start_service("webhook")
    foreign = start_service("webhook", as_other_owner=True)
    assert sync_owner_inventory(owner, f"test-{uuid.uuid4().hex[:8]}") == 1

    inventory = runtime.exec(dns.id, ["cat", "/etc/csdp/inventory.json"], timeout=10)
    entries = json.loads(inventory.stdout)
    assert {entry["name"] for entry in entries} == {dns.name, webhook.name}
    assert foreign.name not in inventory.stdout.decode()

    result = run_action(dns, "resolve", {"name": webhook.name, "type": "AAAA"})
    assert result.exit_code == 0, result.stderr.decode()
    answer = json.loads(result.stdout)
    assert answer["name"] == f"{webhook.name}.{ZONE}"
    assert answer["status"] == "NOERROR"
    assert answer["records"] == [{"name": f"{webhook.name}.{ZONE}", "ttl": 60, "class": "IN", "type": "AAAA", "data": webhook.ipv6_address}]

    # An uploaded zone file is served, and the container records stay.
    runtime.put_files(dns.id, "/var/lib/csdp/uploads", single_file_tar("lab.zone", UPLOADED_ZONE.encode()))
    result = run_action(dns, "load_zone", {"path": "/var/lib/csdp/uploads/lab.zone"})
    assert result.exit_code == 0, result.stderr.decode()
    assert addresses(json.loads(run_action(dns, "resolve", {"name": "printer", "type": "AAAA"}).stdout)) == {"2001:db8::10"}
    assert addresses(json.loads(run_action(dns, "resolve", {"name": webhook.name}).stdout)) == {webhook.ip_address}

    # An invalid zone file is rejected and the served zone stays.
    runtime.put_files(dns.id, "/var/lib/csdp/uploads", single_file_tar("bad.zone", b"printer IN A not-an-address\n"))
    result = run_action(dns, "load_zone", {"path": "/var/lib/csdp/uploads/bad.zone"})
    assert result.exit_code == 1
    assert "not a valid zone file" in result.stderr.decode()
    assert addresses(json.loads(run_action(dns, "resolve", {"name": "printer"}).stdout)) == {"192.0.2.10"}

    result = run_action(dns, "reset_zone")
    assert result.exit_code == 0, result.stderr.decode()
    assert json.loads(run_action(dns, "resolve", {"name": "printer"}).stdout)["status"] == "NXDOMAIN"
    assert json.loads(run_action(dns, "resolve", {"name": "example.com."}).stdout)["status"] == "REFUSED"


def test_custom_zone_name(start_service, run_action, owner):
    dns = start_service("dns", {"zone": "lab.example."})
    sync_owner_inventory(owner, f"test-{uuid.uuid4().hex[:8]}")
    answer = json.loads(run_action(dns, "resolve", {"name": "dns"}).stdout)
    assert answer["name"] == "dns.lab.example."
    assert addresses(answer) == {dns.ip_address}
