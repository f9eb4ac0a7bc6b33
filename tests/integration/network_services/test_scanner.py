"""The scanner service: nmap connect scans of the owner's own containers, and every other target rejected at submission."""

from __future__ import annotations

import json

import pytest

from csdp.catalog import check_parameters
from csdp.errors import InvalidInput
from csdp.workflows.jobs import JobStore
from csdp.workflows.owner_addresses import resolve_owner_addresses

pytestmark = pytest.mark.integration


def scan_values(catalog, runtime, owner: str, parameters: dict) -> dict:
    """Return the scan parameters as submission leaves them: checked, targets resolved to addresses."""
    action = catalog.get("scanner").manifest.action("scan")
    values = check_parameters(action.parameters, parameters)
    return resolve_owner_addresses(action.parameters, values, owner, lambda: runtime.list(owner=owner))


def test_scan_own_webhook(start_service, run_action, catalog, runtime, owner):
    scanner = start_service("scanner")
    webhook = start_service("webhook")

    values = scan_values(catalog, runtime, owner, {"targets": [webhook.name, webhook.ipv6_address], "ports": "22,80"})
    assert values["targets"] == [webhook.ip_address, webhook.ipv6_address]
    result = run_action(scanner, "scan", values)
    assert result.exit_code == 0, result.stderr.decode()

    report = json.loads(result.stdout)
    hosts = {host["address"]: host for host in report["hosts"]}
    assert set(hosts) == {webhook.ip_address, webhook.ipv6_address}
    for host in hosts.values():
        ports = {port["port"]: port for port in host["ports"]}
        assert ports[80] == {"port": 80, "protocol": "tcp", "state": "open", "reason": "syn-ack", "service": "http"}
        assert ports[22]["state"] == "closed"


def test_scan_rejects_other_targets(start_service, runtime, owner, other_owner):
    from csdp.workflows.submit import submit_action

    start_service("scanner")
    own = start_service("webhook")
    foreign = start_service("webhook", as_other_owner=True)
    gateway = runtime.ensure_network().subnet_v4.rsplit(".", 1)[0] + ".1"
    store = JobStore()

    rejected = [
        foreign.ip_address,
        foreign.ipv6_address,
        foreign.name,
        foreign.id,
        "127.0.0.1",
        "::1",
        gateway,
        "8.8.8.8",
        "2001:4860:4860::8888",
        "10.0.0.0/8",
        own.ip_address + "/32",
        "example.com",
    ]
    for target in rejected:
        with pytest.raises(InvalidInput) as raised:
            submit_action(owner, "scanner", "scan", None, {"targets": [own.name, target]}, store=store)
        assert raised.value.status == 422
        assert repr(target) in raised.value.message
        assert raised.value.field == "parameters.targets"

    # Validation failed before a job record was written, so nothing was sent to a worker.
    assert store.list_for_owner(owner) == []


def test_scan_rejects_stopped_container(start_service, runtime, catalog, owner):
    webhook = start_service("webhook")
    runtime.stop(webhook.id, timeout=1)
    with pytest.raises(InvalidInput) as raised:
        scan_values(catalog, runtime, owner, {"targets": webhook.name})
    assert "has no address; start it first" in raised.value.message


def test_scanner_needs_no_capability(start_service, runtime):
    scanner = start_service("scanner")
    status = runtime.exec(scanner.id, ["grep", "CapEff", "/proc/self/status"], timeout=10)
    assert status.stdout.decode().split() == ["CapEff:", "0000000000000000"]


def test_scan_job(start_worker, results, runtime, service_images, owner):
    from csdp.workflows.submit import submit_action, submit_delete, submit_start

    limits = {"max_containers": 10, "max_replicas": 10}
    start_worker()
    for service in ("webhook", "scanner"):
        pushed = results.wait(submit_start(owner, service, 1, {}, 600, None, **limits).id, timeout=120)
        assert pushed["state"] == "succeeded", pushed.get("error")
    webhook = runtime.list(owner=owner, service="webhook")[0]

    job = submit_action(owner, "scanner", "scan", None, {"targets": webhook.name, "ports": "80"})
    assert job.parameters["targets"] == [webhook.ip_address]
    pushed = results.wait(job.id, timeout=120)
    assert pushed["state"] == "succeeded", pushed.get("error")
    [output] = pushed["result"]["outputs"]
    assert output["exit_code"] == 0, output["output"]
    [host] = output["output"]["hosts"]
    assert host["address"] == webhook.ip_address
    assert host["ports"][0]["state"] == "open"

    assert results.wait(submit_delete(owner).id, timeout=120)["state"] == "succeeded"
    assert runtime.list(owner=owner) == []


def test_scan_api_rejects_outside_address(start_service, owner):
    from fastapi.testclient import TestClient

    from csdp.api.app import create_app
    from csdp.workflows import users

    start_service("scanner")
    _, token = users.add_user(owner)
    try:
        with TestClient(create_app()) as client:
            answer = client.post(
                "/api/v1/services/scanner/actions/scan",
                json={"parameters": {"targets": ["8.8.8.8"]}},
                headers={"Authorization": f"Bearer {token}"},
            )
    finally:
        users.remove_user(owner)
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "invalid_input"
    assert body["field"] == "parameters.targets"
    assert "'8.8.8.8' is not the address of one of your running containers" in body["message"]
